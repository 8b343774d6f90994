package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 2-D convolution on NCHW float tensors, as PyTorch's {@code conv2d} (a cross-correlation), with its two
 * gradients. Shapes:
 * <pre>
 *   x    [N, C, H, W]          input
 *   w    [OC, C, kh, kw]       weight
 *   b    [OC]                  bias (optional)
 *   y    [N, OC, OH, OW]       OH = spec.outH(H), OW = spec.outW(W)
 *
 *   y[n, o, r, q] = b[o] + sum_{c, i, j} w[o, c, i, j] * x[n, c, r*sh - top + i*dh, q*sw - left + j*dw]
 * </pre>
 * (x is zero outside {@code [0, H) × [0, W)}). The gradients, for an upstream gradient {@code dy} of y's shape:
 * <pre>
 *   dx[n, c, ih, iw] = sum over (o, i, j, r, q) that read x[n, c, ih, iw] of w[o, c, i, j] * dy[n, o, r, q]
 *   dw[o, c, i, j]   = sum_{n, r, q} dy[n, o, r, q] * x[n, c, r*sh - top + i*dh, q*sw - left + j*dw]
 *   db[o]            = sum_{n, r, q} dy[n, o, r, q]
 * </pre>
 *
 * <p>The work is done by {@link Sgemm}: per group of images, im2col writes the {@code [C*kh*kw, G*OH*OW]} column
 * matrix into a per-thread scratch buffer and {@code y = w · col}, {@code dcol = wᵀ · dy} (then col2im) and
 * {@code dw += dy · colᵀ} are single GEMMs. 1×1 convolutions with stride 1 and no padding skip im2col; layers
 * with at most {@link ConvDirect#MAX_CHANNELS} input channels and width stride 1 run a direct vectorised kernel
 * for the forward pass and the weight gradient. Images are split over {@link Parallel}'s threads.
 *
 * <pre>{@code
 * Tensor x = Tensor.normal(rng, 0, 1, 8, 3, 32, 32);
 * Tensor w = Tensor.normal(rng, 0, 0.1f, 16, 3, 3, 3);
 * Tensor y = Conv2d.forward(x, w, null, ConvSpec.same(3, 3));            // [8, 16, 32, 32]
 * Tensor dy = Tensor.full(1f, 8, 16, 32, 32);
 * Tensor dx = Conv2d.backwardInput(dy, w, ConvSpec.same(3, 3), x.shape());
 * Tensor dw = w.zerosLike();
 * Conv2d.backwardWeights(x, dy, ConvSpec.same(3, 3), dw, null, false);
 * }</pre>
 *
 * All tensors must be on the CPU. Outputs must not overlap inputs.
 */
public final class Conv2d {
    /**
     * Column-matrix size (floats) a group of images aims for in the forward pass and the input gradient: 256K
     * floats, 1 MB, within one core's L2 (measurements in ConvBench's notes).
     */
    static final int COL_BUDGET = 1 << 18;

    /** Least GEMM depth (output positions of a group) the weight gradient groups images for. */
    static final int WEIGHTS_MIN_DEPTH = 64;

    private static final String OP = "conv2d";

    private Conv2d() {
    }

    /** The output shape {@code [N, OC, OH, OW]} of input {@code x} and weight {@code w} under {@code spec}. */
    public static Shape outputShape(Shape x, Shape w, ConvSpec spec) {
        ConvGeometry g = geometry(OP, 4, x, w, spec);
        return Shape.of(g.n(), g.oc(), g.oh(), g.ow());
    }

    /** {@code conv2d(x, w) + bias} into a new tensor; {@code bias} may be null. */
    public static Tensor forward(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        Shape out = outputShape(x.shape(), w.shape(), spec);
        return forward(x, w, bias, spec, Tensor.zeros(out));
    }

    /**
     * {@code out = conv2d(x, w) + bias}, overwriting {@code out} ({@code [N, OC, OH, OW]}); returns {@code out}.
     * {@code bias} may be null.
     */
    public static Tensor forward(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor out) {
        Objects.requireNonNull(out, "out");
        ConvGeometry g = checkForward(OP, 4, x, w, bias, spec, out);
        forward(g, x.data(), x.offset(), w.data(), w.offset(), bias == null ? null : bias.data(),
                bias == null ? -1 : bias.offset(), out.data(), out.offset());
        return out;
    }

    /** The gradient w.r.t. the input, {@code dx} of shape {@code inputShape}, into a new tensor. */
    public static Tensor backwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return backwardInput(dy, w, spec, Tensor.zeros(inputShape), false);
    }

    /**
     * The gradient w.r.t. the input, written into {@code dx} (the input's shape {@code [N, C, H, W]}):
     * with {@code accumulate} it is added to what {@code dx} holds ({@code dx += grad}), else it replaces it.
     * Returns {@code dx}.
     */
    public static Tensor backwardInput(Tensor dy, Tensor w, ConvSpec spec, Tensor dx, boolean accumulate) {
        ConvGeometry g = checkBackwardInput(OP, 4, dy, w, spec, dx);
        backwardInput(g, dy.data(), dy.offset(), w.data(), w.offset(), dx.data(), dx.offset(), accumulate);
        return dx;
    }

    /**
     * The gradients w.r.t. the weight and bias, written into {@code dw} ({@code [OC, C, kh, kw]}) and {@code db}
     * ({@code [OC]}, or null to skip it): with {@code accumulate} they are added to what the tensors hold, else
     * they replace it. Returns {@code dw}.
     */
    public static Tensor backwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db,
                                         boolean accumulate) {
        ConvGeometry g = checkBackwardWeights(OP, 4, x, dy, spec, dw, db);
        backwardWeights(g, x.data(), x.offset(), dy.data(), dy.offset(), dw.data(), dw.offset(),
                db == null ? null : db.data(), db == null ? -1 : db.offset(), accumulate);
        return dw;
    }

    // ---- validation, shared with Conv1d (rank 3: [N, C, L], weight [OC, C, k], a 1-D spec) ----

    /** Checks {@code x} and {@code w} (rank 4, or rank 3 for conv1d) against {@code spec}. */
    static ConvGeometry geometry(String op, int rank, Shape x, Shape w, ConvSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(spec, "spec");
        String dims = rank == 4 ? "[N, C, H, W]" : "[N, C, L]";
        String wdims = rank == 4 ? "[outC, inC, kH, kW]" : "[outC, inC, k]";
        if (x.rank() != rank) {
            throw new IllegalArgumentException(op + ": input " + x + " must have rank " + rank + " " + dims);
        }
        if (w.rank() != rank) {
            throw new IllegalArgumentException(op + ": weight " + w + " must have rank " + rank + " " + wdims);
        }
        if (x.size() == 0) {
            throw new IllegalArgumentException(op + ": input " + x + " has a zero dimension");
        }
        if (w.size() == 0) {
            throw new IllegalArgumentException(op + ": weight " + w + " has a zero dimension");
        }
        if (x.dim(1) != w.dim(1)) {
            throw new IllegalArgumentException(op + ": input " + x + " has " + x.dim(1) + " channels, weight " + w
                    + " expects " + w.dim(1));
        }
        if (rank == 3 && !spec.is1d()) {
            throw new IllegalArgumentException(op + ": " + spec + " is not 1-D (kernel height, height stride and "
                    + "dilation must be 1, height padding 0); make it with ConvSpec.of1d or ConvSpec.same1d");
        }
        int kh = rank == 4 ? w.dim(2) : 1;
        int kw = w.dim(rank - 1);
        if (kh != spec.kh() || kw != spec.kw()) {
            throw new IllegalArgumentException(op + ": weight " + w + " has a " + kernel(rank, kh, kw)
                    + " kernel, " + spec + " expects " + kernel(rank, spec.kh(), spec.kw()));
        }
        int h = rank == 4 ? x.dim(2) : 1;
        int wd = x.dim(rank - 1);
        int oh;
        int ow;
        try {
            oh = spec.outH(h);
            ow = spec.outW(wd);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": input " + x + " with weight " + w + " and " + spec
                    + " gives an empty output: " + e.getMessage().replaceFirst("^conv: ", ""), e);
        }
        int n = x.dim(0);
        int oc = w.dim(0);
        long k = (long) x.dim(1) * kh * kw;
        if ((long) n * oc * oh * ow > Integer.MAX_VALUE - 16 || k * oh * ow > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(op + ": input " + x + " with weight " + w + " and " + spec
                    + " is too large (more than 2^31 output or column elements)");
        }
        return new ConvGeometry(n, x.dim(1), h, wd, oc, oh, ow, spec);
    }

    private static String kernel(int rank, int kh, int kw) {
        return rank == 4 ? kh + "×" + kw : "length-" + kw;
    }

    static ConvGeometry checkForward(String op, int rank, Tensor x, Tensor w, Tensor bias, ConvSpec spec,
                                     Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        ConvGeometry g = geometry(op, rank, x.shape(), w.shape(), spec);
        checkBias(op, bias, w, g.oc());
        checkShape(op, "out", out, g.outShape(rank), x, w);
        checkDisjoint(op, "out", out, x, w, bias);
        return g;
    }

    static ConvGeometry checkBackwardInput(String op, int rank, Tensor dy, Tensor w, ConvSpec spec, Tensor dx) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(dx, "dx");
        String bop = op + " backwardInput";
        ConvGeometry g = geometry(bop, rank, dx.shape(), w.shape(), spec);
        checkShape(bop, "dy", dy, g.outShape(rank), dx, w);
        checkDisjoint(bop, "dx", dx, dy, w, null);
        return g;
    }

    static ConvGeometry checkBackwardWeights(String op, int rank, Tensor x, Tensor dy, ConvSpec spec, Tensor dw,
                                             Tensor db) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(dw, "dw");
        String bop = op + " backwardWeights";
        ConvGeometry g = geometry(bop, rank, x.shape(), dw.shape(), spec);
        checkShape(bop, "dy", dy, g.outShape(rank), x, dw);
        checkBias(bop, db, dw, g.oc());
        checkDisjoint(bop, "dw", dw, x, dy, db);
        if (db != null) {
            checkDisjoint(bop, "db", db, x, dy, null);
        }
        return g;
    }

    static void checkBias(String op, Tensor bias, Tensor w, int oc) {
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != oc)) {
            throw new IllegalArgumentException(op + ": bias " + bias.shape() + " must be [" + oc
                    + "], one per output channel of weight " + w.shape());
        }
    }

    static void checkShape(String op, String name, Tensor t, Shape expected, Tensor x, Tensor w) {
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be " + expected
                    + " for input " + x.shape() + " and weight " + w.shape());
        }
    }

    /** Throws if {@code out} overlaps any of the (nullable) inputs. */
    static void checkDisjoint(String op, String name, Tensor out, Tensor a, Tensor b, Tensor c) {
        for (Tensor in : new Tensor[] {a, b, c}) {
            if (in != null && out.storage() == in.storage() && out.offset() < in.offset() + in.size()
                    && in.offset() < out.offset() + out.size()) {
                throw new IllegalArgumentException(op + ": " + name + " " + out.shape()
                        + " overlaps an input " + in.shape() + " in memory");
            }
        }
    }

    // ---- kernels on arrays, shared with Conv1d ----

    static void forward(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, float[] b, int bOff,
                        float[] y, int yOff) {
        if (ConvDirect.applies(g)) {
            ConvDirect.forward(g, x, xOff, w, wOff, b, bOff, y, yOff);
            return;
        }
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        boolean pointwise = g.pointwise();
        Parallel.forRange(g.n(), 1, (from, to) -> {
            ConvScratch sc = ConvScratch.get();
            int group = pointwise ? 1 : groupSize(g, to - from);
            float[] col = pointwise ? null : sc.col(k * (group * p + Im2col.SLACK));
            for (int n0 = from; n0 < to; n0 += group) {
                int gn = Math.min(group, to - n0);
                int ld = gn * p + Im2col.SLACK;
                if (pointwise) {
                    Sgemm.sgemm(false, false, oc, p, k, 1f, w, wOff, k, x, xOff + n0 * g.inImage(), p,
                            0f, y, yOff + n0 * g.outImage(), p);
                    addBias(g, b, bOff, y, yOff + n0 * g.outImage());
                    continue;
                }
                for (int i = 0; i < gn; i++) {
                    Im2col.im2col(g, x, xOff + (n0 + i) * g.inImage(), col, i * p, ld);
                }
                if (gn == 1) {
                    Sgemm.sgemm(false, false, oc, p, k, 1f, w, wOff, k, col, 0, ld, 0f, y, yOff + n0 * g.outImage(), p);
                    addBias(g, b, bOff, y, yOff + n0 * g.outImage());
                } else {
                    float[] tmp = sc.gemm(oc * ld);
                    Sgemm.sgemm(false, false, oc, gn * p, k, 1f, w, wOff, k, col, 0, ld, 0f, tmp, 0, ld);
                    scatter(g, tmp, ld, gn, b, bOff, y, yOff + n0 * g.outImage());
                }
            }
        });
    }

    static void backwardInput(ConvGeometry g, float[] dy, int dyOff, float[] w, int wOff, float[] dx, int dxOff,
                              boolean accumulate) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        boolean pointwise = g.pointwise();
        Parallel.forRange(g.n(), 1, (from, to) -> {
            ConvScratch sc = ConvScratch.get();
            if (pointwise) {
                for (int n = from; n < to; n++) {
                    Sgemm.sgemm(true, false, k, p, oc, 1f, w, wOff, k, dy, dyOff + n * g.outImage(), p,
                            accumulate ? 1f : 0f, dx, dxOff + n * g.inImage(), p);
                }
                return;
            }
            if (!accumulate) {
                Arrays.fill(dx, dxOff + from * g.inImage(), dxOff + to * g.inImage(), 0f);
            }
            int group = groupSize(g, to - from);
            float[] dcol = sc.col(k * (group * p + Im2col.SLACK));
            for (int n0 = from; n0 < to; n0 += group) {
                int gn = Math.min(group, to - n0);
                int ld = gn * p + Im2col.SLACK;
                if (gn == 1) {
                    Sgemm.sgemm(true, false, k, p, oc, 1f, w, wOff, k, dy, dyOff + n0 * g.outImage(), p,
                            0f, dcol, 0, ld);
                } else {
                    float[] dyg = sc.gemm(oc * ld);
                    gather(g, dy, dyOff + n0 * g.outImage(), gn, dyg, ld);
                    Sgemm.sgemm(true, false, k, gn * p, oc, 1f, w, wOff, k, dyg, 0, ld, 0f, dcol, 0, ld);
                }
                for (int i = 0; i < gn; i++) {
                    Im2col.col2im(g, dcol, i * p, ld, dx, dxOff + (n0 + i) * g.inImage());
                }
            }
        });
    }

    static void backwardWeights(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, float[] dw, int dwOff,
                                float[] db, int dbOff, boolean accumulate) {
        int wsize = g.oc() * g.k();
        ConvScratch own = ConvScratch.get();
        int slots = Parallel.threads();
        float[][] partials = own.partials(slots, wsize + g.oc());
        int[] partFrom = own.partialFrom();
        AtomicInteger next = new AtomicInteger();
        Parallel.forRange(g.n(), 1, (from, to) -> {
            int slot = next.getAndIncrement();
            partFrom[slot] = from;
            float[] part = partials[slot];
            Arrays.fill(part, 0, wsize + g.oc(), 0f);
            if (ConvDirect.applies(g)) {
                ConvDirect.backwardWeights(g, x, xOff, dy, dyOff, from, to, part, 0, part, wsize);
            } else {
                weightsRange(g, x, xOff, dy, dyOff, from, to, part, wsize);
            }
        });
        int used = next.get();
        if (!accumulate) {
            Arrays.fill(dw, dwOff, dwOff + wsize, 0f);
            if (db != null) {
                Arrays.fill(db, dbOff, dbOff + g.oc(), 0f);
            }
        }
        // Sum the parts in the order of their image ranges, so a thread count always gives the same result.
        int last = -1;
        for (int r = 0; r < used; r++) {
            int s = -1;
            for (int i = 0; i < used; i++) {
                if (partFrom[i] > last && (s < 0 || partFrom[i] < partFrom[s])) {
                    s = i;
                }
            }
            last = partFrom[s];
            Im2col.addTo(dw, dwOff, partials[s], 0, wsize);
            if (db != null) {
                Im2col.addTo(db, dbOff, partials[s], wsize, g.oc());
            }
        }
    }

    /** Adds the weight and bias gradients of images {@code [from, to)} into {@code part} ({@code [oc*k | oc]}). */
    private static void weightsRange(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, int from, int to,
                                     float[] part, int dbAt) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        for (int n = from; n < to; n++) {
            for (int o = 0; o < oc; o++) {
                part[dbAt + o] += ConvDirect.sum(dy, dyOff + n * g.outImage() + o * p, p);
            }
        }
        if (g.pointwise()) {
            for (int n = from; n < to; n++) {
                Sgemm.sgemm(false, true, oc, k, p, 1f, dy, dyOff + n * g.outImage(), p, x, xOff + n * g.inImage(), p,
                        1f, part, 0, k);
            }
            return;
        }
        ConvScratch sc = ConvScratch.get();
        int group = weightsGroupSize(g, to - from);
        float[] col = sc.col(k * (group * p + Im2col.SLACK));
        for (int n0 = from; n0 < to; n0 += group) {
            int gn = Math.min(group, to - n0);
            int ld = gn * p + Im2col.SLACK;
            for (int i = 0; i < gn; i++) {
                Im2col.im2col(g, x, xOff + (n0 + i) * g.inImage(), col, i * p, ld);
            }
            if (gn == 1) {
                Sgemm.sgemm(false, true, oc, k, p, 1f, dy, dyOff + n0 * g.outImage(), p, col, 0, ld, 1f, part, 0, k);
            } else {
                float[] dyg = sc.gemm(oc * ld);
                gather(g, dy, dyOff + n0 * g.outImage(), gn, dyg, ld);
                Sgemm.sgemm(false, true, oc, k, gn * p, 1f, dyg, 0, ld, col, 0, ld, 1f, part, 0, k);
            }
        }
    }

    /** Images per GEMM: enough that the column matrix is about {@link #COL_BUDGET} floats, at least one. */
    static int groupSize(ConvGeometry g, int images) {
        long perImage = (long) g.k() * g.p();
        return (int) Math.max(1, Math.min(images, COL_BUDGET / perImage));
    }

    /**
     * Images per GEMM of the weight gradient, whose depth is the group's output positions: one image (no gather
     * of dy) unless an image has fewer than {@link #WEIGHTS_MIN_DEPTH} positions.
     */
    static int weightsGroupSize(ConvGeometry g, int images) {
        int wanted = (WEIGHTS_MIN_DEPTH + g.p() - 1) / g.p();
        return Math.max(1, Math.min(Math.min(images, wanted), groupSize(g, images)));
    }

    /** {@code y[n0 + i, o, :] = tmp[o, i*p .. (i+1)*p) + b[o]} for the {@code gn} images of a group. */
    private static void scatter(ConvGeometry g, float[] tmp, int ld, int gn, float[] b, int bOff, float[] y,
                                int yOff) {
        int p = g.p();
        for (int i = 0; i < gn; i++) {
            for (int o = 0; o < g.oc(); o++) {
                int dst = yOff + i * g.outImage() + o * p;
                System.arraycopy(tmp, o * ld + i * p, y, dst, p);
                if (bOff >= 0) {
                    addScalar(y, dst, p, b[bOff + o]);
                }
            }
        }
    }

    /** {@code dyg[o, i*p .. (i+1)*p) = dy[n0 + i, o, :]}: the group's upstream gradient as one matrix. */
    private static void gather(ConvGeometry g, float[] dy, int dyOff, int gn, float[] dyg, int ld) {
        int p = g.p();
        for (int i = 0; i < gn; i++) {
            for (int o = 0; o < g.oc(); o++) {
                System.arraycopy(dy, dyOff + i * g.outImage() + o * p, dyg, o * ld + i * p, p);
            }
        }
    }

    private static void addBias(ConvGeometry g, float[] b, int bOff, float[] y, int yOff) {
        if (bOff < 0) {
            return;
        }
        for (int o = 0; o < g.oc(); o++) {
            addScalar(y, yOff + o * g.p(), g.p(), b[bOff + o]);
        }
    }

    private static void addScalar(float[] a, int off, int len, float v) {
        for (int i = off; i < off + len; i++) {
            a[i] += v;
        }
    }
}
