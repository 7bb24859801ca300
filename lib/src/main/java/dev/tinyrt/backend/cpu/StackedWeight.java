package dev.tinyrt.backend.cpu;

import java.util.List;

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

    /** The parts in row order (Matmul runs them one by one when they prepare their inputs differently). */
    List<CpuWeight> parts() {
        return List.of(parts);
    }

    private int part(int row) {
        int p = parts.length - 1;
        while (firstRow[p] > row) {
            p--;
        }
        return p;
    }

    @Override
    public float dot(int row, float[] x, int xOff, float[] tmp) {
        int p = part(row);
        return parts[p].dot(row - firstRow[p], x, xOff, tmp);
    }

    @Override
    public void widenRows(int from, int to, float[] dst, int dOff) {
        forEachPart(from, to, (p, lo, hi) -> parts[p].widenRows(lo - firstRow[p], hi - firstRow[p], dst,
                dOff + (lo - from) * cols));
    }

    @Override
    public void dotRows(int from, int to, float[] x, int xOff, float[] out, int oOff, float[] tmp) {
        forEachPart(from, to, (p, lo, hi) -> parts[p].dotRows(lo - firstRow[p], hi - firstRow[p], x, xOff, out,
                oOff + lo - from, tmp));
    }

    private interface PartRange {
        void run(int part, int from, int to);
    }

    /** Splits rows [from, to) at part boundaries. */
    private void forEachPart(int from, int to, PartRange body) {
        int r = from;
        while (r < to) {
            int p = part(r);
            int end = Math.min(to, firstRow[p] + parts[p].rows());
            body.run(p, r, end);
            r = end;
        }
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
