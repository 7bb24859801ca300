package dev.tinyrt.quant;

/**
 * A {@code [k, n]} float matrix B cut into column panels of {@link PanelProduct#WIDTH} columns, each stored
 * {@code [k][WIDTH]} contiguously (zero-padded past n), so that {@link PanelProduct} streams one panel's rows with
 * plain vector loads. A lower-triangular B (B[j][c] = 0 for j &lt; c) lets the product skip the rows above a panel.
 */
final class PackedPanels {
    /** Element j, c of the matrix being packed. */
    interface Source {
        float at(int j, int c);
    }

    final int k;
    final int n;
    final int panels;
    final float[] data;
    private final boolean lowerTriangular;

    private PackedPanels(int k, int n, float[] data, boolean lowerTriangular) {
        this.k = k;
        this.n = n;
        this.panels = (n + PanelProduct.WIDTH - 1) / PanelProduct.WIDTH;
        this.data = data;
        this.lowerTriangular = lowerTriangular;
    }

    static PackedPanels pack(int k, int n, boolean lowerTriangular, Source b) {
        int w = PanelProduct.WIDTH;
        int panels = (n + w - 1) / w;
        float[] data = new float[Math.multiplyExact(panels * w, k)];
        java.util.stream.IntStream.range(0, panels).parallel().forEach(p -> {
            int base = p * k * w;
            for (int c = 0; c < w && p * w + c < n; c++) {
                for (int j = lowerTriangular ? p * w + c : 0; j < k; j++) {
                    data[base + j * w + c] = b.at(j, p * w + c);
                }
            }
        });
        return new PackedPanels(k, n, data, lowerTriangular);
    }

    /** The first row of B that can be non-zero in panel {@code p}. */
    int kStart(int p) {
        return lowerTriangular ? Math.min(k, p * PanelProduct.WIDTH) : 0;
    }

    int offset(int p) {
        return p * k * PanelProduct.WIDTH;
    }
}
