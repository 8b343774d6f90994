package io.evonas.tensor.cpu;

/**
 * Plain direct 2-D convolution in double precision, straight from the definition, with its analytic gradients:
 * the oracle the float kernels are tested against. NCHW; conv1d is the case {@code h == 1}.
 */
final class ConvReference {
    final int n, c, h, w, oc, oh, ow;
    final ConvSpec s;

    ConvReference(int n, int c, int h, int w, int oc, ConvSpec s) {
        this.n = n;
        this.c = c;
        this.h = h;
        this.w = w;
        this.oc = oc;
        this.s = s;
        this.oh = s.outH(h);
        this.ow = s.outW(w);
    }

    int xSize() {
        return n * c * h * w;
    }

    int wSize() {
        return oc * c * s.kh() * s.kw();
    }

    int ySize() {
        return n * oc * oh * ow;
    }

    /** The input index read by output {@code (b, ?, r, q)} through tap {@code (ci, i, j)}, or -1 in the padding. */
    private int in(int b, int ci, int r, int q, int i, int j) {
        int ih = r * s.sh() - s.top() + i * s.dh();
        int iw = q * s.sw() - s.left() + j * s.dw();
        if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
            return -1;
        }
        return ((b * c + ci) * h + ih) * w + iw;
    }

    private int wi(int o, int ci, int i, int j) {
        return ((o * c + ci) * s.kh() + i) * s.kw() + j;
    }

    private int yi(int b, int o, int r, int q) {
        return ((b * oc + o) * oh + r) * ow + q;
    }

    /** {@code y = conv(x, wt) + bias}; {@code bias} may be null. */
    double[] forward(double[] x, double[] wt, double[] bias) {
        double[] y = new double[ySize()];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < oc; o++) {
                for (int r = 0; r < oh; r++) {
                    for (int q = 0; q < ow; q++) {
                        double sum = bias == null ? 0 : bias[o];
                        for (int ci = 0; ci < c; ci++) {
                            for (int i = 0; i < s.kh(); i++) {
                                for (int j = 0; j < s.kw(); j++) {
                                    int xi = in(b, ci, r, q, i, j);
                                    if (xi >= 0) {
                                        sum += wt[wi(o, ci, i, j)] * x[xi];
                                    }
                                }
                            }
                        }
                        y[yi(b, o, r, q)] = sum;
                    }
                }
            }
        }
        return y;
    }

    /** {@code dL/dx} for {@code L = sum(y * dy)}. */
    double[] backwardInput(double[] dy, double[] wt) {
        double[] dx = new double[xSize()];
        forEachTap((b, o, r, q, ci, i, j, xi) -> dx[xi] += wt[wi(o, ci, i, j)] * dy[yi(b, o, r, q)]);
        return dx;
    }

    /** {@code dL/dw} for {@code L = sum(y * dy)}. */
    double[] backwardWeights(double[] x, double[] dy) {
        double[] dw = new double[wSize()];
        forEachTap((b, o, r, q, ci, i, j, xi) -> dw[wi(o, ci, i, j)] += x[xi] * dy[yi(b, o, r, q)]);
        return dw;
    }

    /** {@code dL/db} for {@code L = sum(y * dy)}. */
    double[] backwardBias(double[] dy) {
        double[] db = new double[oc];
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < oc; o++) {
                for (int p = 0; p < oh * ow; p++) {
                    db[o] += dy[(b * oc + o) * oh * ow + p];
                }
            }
        }
        return db;
    }

    private interface Tap {
        void at(int b, int o, int r, int q, int ci, int i, int j, int xi);
    }

    private void forEachTap(Tap t) {
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < oc; o++) {
                for (int r = 0; r < oh; r++) {
                    for (int q = 0; q < ow; q++) {
                        for (int ci = 0; ci < c; ci++) {
                            for (int i = 0; i < s.kh(); i++) {
                                for (int j = 0; j < s.kw(); j++) {
                                    int xi = in(b, ci, r, q, i, j);
                                    if (xi >= 0) {
                                        t.at(b, o, r, q, ci, i, j, xi);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
