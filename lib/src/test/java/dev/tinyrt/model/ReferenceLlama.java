package dev.tinyrt.model;

import dev.tinyrt.io.TensorSource;

/**
 * A deliberately plain Llama forward pass in double precision (no cache, no vectors, no threads), written from
 * the HF modeling code's definition. Tests check the engine against it.
 */
public final class ReferenceLlama {
    private final LlamaConfig c;
    private final TensorSource w;

    public ReferenceLlama(LlamaConfig config, TensorSource weights) {
        this.c = config;
        this.w = weights;
    }

    private double[][] matrix(String name, int rows, int cols) {
        float[] f = w.toFloats(name);
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) {
                m[r][k] = f[r * cols + k];
            }
        }
        return m;
    }

    private double[] vector(String name) {
        float[] f = w.toFloats(name);
        double[] v = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            v[i] = f[i];
        }
        return v;
    }

    private static double[] linear(double[] x, double[][] m) {
        double[] y = new double[m.length];
        for (int r = 0; r < m.length; r++) {
            double s = 0;
            for (int k = 0; k < x.length; k++) {
                s += m[r][k] * x[k];
            }
            y[r] = s;
        }
        return y;
    }

    private double[] rmsNorm(double[] x, double[] g) {
        double ms = 0;
        for (double v : x) {
            ms += v * v;
        }
        double scale = 1 / Math.sqrt(ms / x.length + c.rmsNormEps());
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = g[i] * x[i] * scale;
        }
        return y;
    }

    private void rope(double[] v, int heads, int pos) {
        int d = c.headDim();
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                double angle = pos / Math.pow(c.ropeTheta(), 2.0 * i / d);
                double x1 = v[h * d + i];
                double x2 = v[h * d + i + d / 2];
                v[h * d + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
                v[h * d + i + d / 2] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
            }
        }
    }

    /** Logits for every position of ids. */
    public double[][] logits(int[] ids) {
        int n = ids.length;
        int h = c.hiddenSize();
        int d = c.headDim();
        double[][] emb = matrix("model.embed_tokens.weight", c.vocabSize(), h);
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = emb[ids[t]].clone();
        }
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] wq = matrix(p + "self_attn.q_proj.weight", c.qDim(), h);
            double[][] wk = matrix(p + "self_attn.k_proj.weight", c.kvDim(), h);
            double[][] wv = matrix(p + "self_attn.v_proj.weight", c.kvDim(), h);
            double[][] wo = matrix(p + "self_attn.o_proj.weight", h, c.qDim());
            double[][] wg = matrix(p + "mlp.gate_proj.weight", c.intermediateSize(), h);
            double[][] wu = matrix(p + "mlp.up_proj.weight", c.intermediateSize(), h);
            double[][] wd = matrix(p + "mlp.down_proj.weight", h, c.intermediateSize());
            double[] g1 = vector(p + "input_layernorm.weight");
            double[] g2 = vector(p + "post_attention_layernorm.weight");
            double[][] q = new double[n][];
            double[][] k = new double[n][];
            double[][] v = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] hn = rmsNorm(x[t], g1);
                q[t] = linear(hn, wq);
                k[t] = linear(hn, wk);
                v[t] = linear(hn, wv);
                rope(q[t], c.numHeads(), t);
                rope(k[t], c.numKvHeads(), t);
            }
            for (int t = 0; t < n; t++) {
                double[] attn = new double[c.qDim()];
                for (int head = 0; head < c.numHeads(); head++) {
                    int kvh = head / c.groupSize();
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double dot = 0;
                        for (int i = 0; i < d; i++) {
                            dot += q[t][head * d + i] * k[j][kvh * d + i];
                        }
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= t; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= t; j++) {
                        for (int i = 0; i < d; i++) {
                            attn[head * d + i] += s[j] / sum * v[j][kvh * d + i];
                        }
                    }
                }
                double[] o = linear(attn, wo);
                for (int i = 0; i < h; i++) {
                    x[t][i] += o[i];
                }
            }
            for (int t = 0; t < n; t++) {
                double[] hn = rmsNorm(x[t], g2);
                double[] gate = linear(hn, wg);
                double[] up = linear(hn, wu);
                double[] act = new double[gate.length];
                for (int i = 0; i < act.length; i++) {
                    act[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                double[] down = linear(act, wd);
                for (int i = 0; i < h; i++) {
                    x[t][i] += down[i];
                }
            }
        }
        double[] gf = vector("model.norm.weight");
        double[][] head = c.tieWordEmbeddings() ? emb : matrix("lm_head.weight", c.vocabSize(), h);
        double[][] out = new double[n][];
        for (int t = 0; t < n; t++) {
            out[t] = linear(rmsNorm(x[t], gf), head);
        }
        return out;
    }
}
