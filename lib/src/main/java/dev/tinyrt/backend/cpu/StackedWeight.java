package dev.tinyrt.backend.cpu;

/** Several weights with the same column count seen as one taller matrix (fused q|k|v or gate|up), no copy. */
final class StackedWeight implements CpuWeight {
    private final CpuWeight[] parts;
    private final int[] firstRow;
    private final int rows;
    private final int cols;

    StackedWeight(CpuWeight... parts) {
        this.parts = parts.clone();
        this.firstRow = new int[parts.length];
        int r = 0;
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].cols() != parts[0].cols()) {
                throw new IllegalArgumentException("stacked weights need equal column counts");
            }
            firstRow[i] = r;
            r += parts[i].rows();
        }
        this.rows = r;
        this.cols = parts[0].cols();
    }

    private int part(int row) {
        int p = parts.length - 1;
        while (firstRow[p] > row) {
            p--;
        }
        return p;
    }

    @Override
    public float dot(int row, float[] x, int xOff) {
        int p = part(row);
        return parts[p].dot(row - firstRow[p], x, xOff);
    }

    @Override
    public void row(int row, float[] dst, int dOff) {
        int p = part(row);
        parts[p].row(row - firstRow[p], dst, dOff);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long ownedBytes() {
        long sum = 0;
        for (CpuWeight p : parts) {
            sum += p.ownedBytes();
        }
        return sum;
    }

    @Override
    public String format() {
        return parts[0].format();
    }
}
