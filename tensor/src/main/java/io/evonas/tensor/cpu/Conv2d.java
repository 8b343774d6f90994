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
 * <p>The FLOPs are spent in {@link Sgemm} ({@link ConvGemm}): per group of images, im2col writes the
 * {@code [C*kh*kw, G*OH*OW]} column matrix into a per-thread scratch buffer, and {@code y = w · col},
 * {@code dcol = wᵀ · dy} (then col2im) and {@code dwᵀ += col · dyᵀ} are GEMMs. 1×1 convolutions with stride 1 and
 * no padding skip im2col. Layers with at most {@link ConvDirect#MAX_CHANNELS} input channels, width stride 1 and
 * output rows of at least one vector (16 floats) — first layers — run direct vectorised kernels for the forward
 * pass and the weight gradient instead, which measured faster. Images are split over {@link Parallel}'s threads;
 * scratch buffers are reused, so steady-state calls allocate nothing large.
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
    private static final String OP = "conv2d";

    private Conv2d() {
    }

    /** The output shape {@code [N, OC, OH, OW]} of input {@code x} and weight {@code w} under {@code spec}. */
    public static Shape outputShape(Shape x, Shape w, ConvSpec spec) {
        ConvGeometry g = ConvChecks.geometry(OP, 4, x, w, spec);
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
        ConvGeometry g = ConvChecks.checkForward(OP, 4, x, w, bias, spec, out);
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
        ConvGeometry g = ConvChecks.checkBackwardInput(OP, 4, dy, w, spec, dx);
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
        ConvGeometry g = ConvChecks.checkBackwardWeights(OP, 4, x, dy, spec, dw, db);
        backwardWeights(g, x.data(), x.offset(), dy.data(), dy.offset(), dw.data(), dw.offset(),
                db == null ? null : db.data(), db == null ? -1 : db.offset(), accumulate);
        return dw;
    }

    // ---- kernels on arrays, shared with Conv1d ----

    static void forward(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, float[] b, int bOff,
                        float[] y, int yOff) {
        if (ConvDirect.applies(g)) {
            ConvDirect.forward(g, x, xOff, w, wOff, b, bOff, y, yOff);
        } else {
            ConvGemm.forward(g, x, xOff, w, wOff, b, bOff, y, yOff);
        }
    }

    static void backwardInput(ConvGeometry g, float[] dy, int dyOff, float[] w, int wOff, float[] dx, int dxOff,
                              boolean accumulate) {
        ConvGemm.backwardInput(g, dy, dyOff, w, wOff, dx, dxOff, accumulate);
    }

    /**
     * Chunks of images a thread the weight gradients are cut into ({@link Parallel#forChunks}): each chunk sums into
     * a partial of its own, so which thread ran it does not change the result.
     */
    static final int WEIGHT_CHUNKS = 4;

    /**
     * Each chunk of the image range sums its gradients into a partial buffer of the calling thread's scratch;
     * the partials are then added to {@code dw} and {@code db} in the order of their ranges.
     */
    static void backwardWeights(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, float[] dw, int dwOff,
                                float[] db, int dbOff, boolean accumulate) {
        int wsize = g.oc() * g.k();
        ConvScratch own = ConvScratch.get();
        int chunk = Parallel.chunkFor(g.n(), WEIGHT_CHUNKS, 1);
        float[][] partials = own.partials((g.n() + chunk - 1) / chunk, wsize + g.oc());
        int[] partFrom = own.partialFrom();
        AtomicInteger next = new AtomicInteger();
        Parallel.forChunks(g.n(), chunk, (from, to) -> {
            int slot = next.getAndIncrement();
            partFrom[slot] = from;
            float[] part = partials[slot];
            Arrays.fill(part, 0, wsize + g.oc(), 0f);
            if (ConvDirect.applies(g)) {
                ConvDirect.backwardWeights(g, x, xOff, dy, dyOff, from, to, part, 0, part, wsize);
            } else {
                ConvGemm.weightsRange(g, x, xOff, dy, dyOff, from, to, part, wsize);
            }
        });
        addPartials(partials, partFrom, next.get(), wsize, g.oc(), dw, dwOff, db, dbOff, accumulate);
    }

    /**
     * Adds the first {@code used} partial sums ({@code [wsize | oc]} each, the part of images from
     * {@code partFrom[i]}) into {@code dw} and {@code db} (null to skip it) in the order of their image ranges, so a
     * thread count always gives the same result; without {@code accumulate} the two are overwritten.
     */
    static void addPartials(float[][] partials, int[] partFrom, int used, int wsize, int oc, float[] dw, int dwOff,
                            float[] db, int dbOff, boolean accumulate) {
        if (!accumulate) {
            Arrays.fill(dw, dwOff, dwOff + wsize, 0f);
            if (db != null) {
                Arrays.fill(db, dbOff, dbOff + oc, 0f);
            }
        }
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
                Im2col.addTo(db, dbOff, partials[s], wsize, oc);
            }
        }
    }
}
