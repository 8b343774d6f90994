package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;

/**
 * A direct convolution ({@link ConvDirect}: few input channels, a network's first layer), batch normalisation,
 * ReLU and 2×2 max pooling with stride 2, as one primitive whose convolution output is never written: each image's
 * output planes are computed four channels at a time into an L1-sized buffer, and everything the three later steps
 * need is taken from there. For the reference CNN's first layer that output is 11 MB at batch 128, which the
 * separate primitives write once and read three times forward (statistics, pool) and write and read again backward
 * (the batch norm's input gradient, then the weight gradient).
 *
 * <p>Forward, in training: one pass computes each plane, its mean and sum of squared deviations (combined over the
 * batch in double, in image order, by Chan's formula), and its raw 2×2 max pool with the winners' indices; once the
 * batch statistics are known, the pooled values are normalised and rectified. Where a channel's scale γ/σ is
 * positive, the affine map and ReLU are non-decreasing, so the winner of the raw plane is the winner of the
 * normalised one ({@link BatchNormMaxPool} explains this); other channels are recomputed and normalised before
 * pooling. In inference the scale is known up front, so one pass does everything.
 *
 * <p>Backward: the sums over the winners that the batch norm's gradient needs come from the pooled planes alone,
 * as in {@link BatchNormMaxPool}; then each image's planes are computed again, turned into the batch norm's input
 * gradient in place ({@code (x - μ)·b + c}, plus {@code a·dy} at the winners), and fed to the direct kernels'
 * weight gradient. Recomputing costs {@code C·kh·kw} multiply-adds per output element, which is why this applies
 * only where {@link ConvDirect} does. The input gets no gradient: callers use the separate primitives when it
 * needs one.
 *
 * <p>The result equals {@link Conv2d}, {@link BatchNorm} with ReLU and {@link Pool2d} run one after the other up to
 * rounding: the statistics are summed in another order, so outputs and gradients agree to float precision rather
 * than bit for bit.
 *
 * <pre>{@code
 * ConvBatchNormMaxPool.Result r = ConvBatchNormMaxPool.forward(x, w, b, spec, gamma, beta, runningMean,
 *         runningVar, 0.1f, 1e-5f, true, true);
 * ConvBatchNormMaxPool.backward(x, w, b, spec, dyPooled, gamma, r.saved(), dw, db, dgamma, dbeta);
 * }</pre>
 */
public final class ConvBatchNormMaxPool {
    private static final String OP = "conv2d+batchNorm+relu+maxPool";
    private static final int VL = Pool2d.VL;
    /** Output channels computed together into the buffer. */
    private static final int BLOCK = 4;
    /** One thread's buffer: {@link #BLOCK} output planes, then one more plane and slack for the pool's reads. */
    private static final ThreadLocal<float[]> BUFFER = ThreadLocal.withInitial(() -> new float[0]);

    private ConvBatchNormMaxPool() {
    }

    /** What {@link #backward} needs: the batch norm's saved state, as {@link BatchNormMaxPool} keeps it. */
    public record Result(Tensor output, BatchNormMaxPool.Saved saved) {
        public Result {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(saved, "saved");
        }
    }

    /**
     * Whether the fused primitive covers a convolution of input {@code x} by {@code w} under {@code spec}: few
     * input channels, width stride 1, output rows at least one vector wide (see {@link ConvDirect}), and an output
     * of at least 2×2. The shapes must be valid for {@link Conv2d}.
     */
    public static boolean applies(Shape x, Shape w, ConvSpec spec) {
        ConvGeometry g = ConvChecks.geometry(OP, 4, x, w, spec);
        return ConvDirect.applies(g) && g.oh() >= 2 && g.ow() >= 2;
    }

    /** The pooled output shape {@code [N, OC, OH/2, OW/2]}. */
    public static Shape outputShape(Shape x, Shape w, ConvSpec spec) {
        ConvGeometry g = ConvChecks.geometry(OP, 4, x, w, spec);
        if (g.oh() < 2 || g.ow() < 2) {
            throw new IllegalArgumentException(OP + ": convolution output " + g.oh() + "×" + g.ow()
                    + " is smaller than the 2×2 window");
        }
        return Shape.of(g.n(), g.oc(), g.oh() / 2, g.ow() / 2);
    }

    /**
     * Convolution ({@code bias} may be null), batch normalisation (batch statistics when {@code training}, the
     * running statistics updated in place; running statistics otherwise), ReLU and 2×2 max pool. Without
     * {@code forBackward} no winners are kept and {@link #backward} refuses the result.
     *
     * @throws IllegalArgumentException on inconsistent shapes, a geometry {@link #applies} rejects, a bad
     *                                  {@code eps} or {@code momentum}, or one value per channel in training
     */
    public static Result forward(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor gamma, Tensor beta,
                                 Tensor runningMean, Tensor runningVar, float momentum, float eps, boolean training,
                                 boolean forBackward) {
        ConvGeometry g = check(x, w, bias, spec, gamma, beta, runningMean, runningVar, eps);
        int oc = g.oc();
        int p = g.p();
        if (training && !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(OP + ": momentum " + momentum + " must be in [0, 1]");
        }
        if (training && (long) g.n() * p < 2) {
            throw new IllegalArgumentException(OP + ": training needs more than one value per channel; the "
                    + "convolution output [" + g.n() + ", " + oc + ", " + g.oh() + ", " + g.ow() + "] has "
                    + (long) g.n() * p + " (variance undefined)");
        }
        Shape pooled = Shape.of(g.n(), oc, g.oh() / 2, g.ow() / 2);
        BatchNormMaxPool.Saved saved = new BatchNormMaxPool.Saved(new float[oc], new float[oc], new float[oc],
                new float[oc], new float[oc], forBackward ? Recycler.ints(pooled.size()) : null,
                forBackward ? Recycler.floats(pooled.size()) : null, training);
        Tensor out = Tensor.zeros(pooled);
        Operands op = new Operands(g, x, w, bias, out, saved);
        int chunk = Parallel.chunkFor(g.n(), 1);
        float[] gd = gamma.data();
        float[] bd = beta.data();
        float[] rm = runningMean.data();
        float[] rv = runningVar.data();
        if (!training) {
            for (int k = 0; k < oc; k++) {
                double var = rv[runningVar.offset() + k];
                saved.mean()[k] = rm[runningMean.offset() + k];
                saved.scale()[k] = (float) (gd[gamma.offset() + k] / Math.sqrt(var + eps));
                saved.shift()[k] = bd[beta.offset() + k];
                saved.invStd()[k] = (float) (1 / Math.sqrt(var + eps));
            }
            Parallel.forChunks(g.n(), chunk, (n0, n1) -> {
                Worker wk = new Worker(op);
                for (int n = n0; n < n1; n++) {
                    wk.inferenceImage(n);
                }
            });
            return new Result(out, saved);
        }
        // Pass 1: each plane's mean and squared deviations, and its raw pool.
        double[] planeMean = new double[g.n() * oc];
        double[] planeM2 = new double[g.n() * oc];
        Parallel.forChunks(g.n(), chunk, (n0, n1) -> {
            Worker wk = new Worker(op);
            for (int n = n0; n < n1; n++) {
                wk.statisticsImage(n, planeMean, planeM2);
            }
        });
        long m = (long) g.n() * p;
        double[] mv = new double[2];
        for (int k = 0; k < oc; k++) {
            BatchNorm.combine(planeMean, planeM2, k, oc, g.n(), p, mv);
            double mean = mv[0];
            double var = mv[1];
            double invStd = 1 / Math.sqrt(var + eps);
            float hi = (float) mean;
            saved.mean()[k] = hi;
            saved.lo()[k] = (float) (mean - hi);
            saved.scale()[k] = (float) (gd[gamma.offset() + k] * invStd);
            saved.shift()[k] = bd[beta.offset() + k];
            saved.invStd()[k] = (float) invStd;
            int r = runningMean.offset() + k;
            rm[r] = (float) ((1 - (double) momentum) * rm[r] + momentum * mean);
            r = runningVar.offset() + k;
            rv[r] = (float) ((1 - (double) momentum) * rv[r] + momentum * var * m / (m - 1));
        }
        // Pass 2: normalise the pooled planes (or recompute and pool the normalised plane where the scale is not
        // positive).
        Parallel.forChunks(g.n(), chunk, (n0, n1) -> {
            Worker wk = new Worker(op);
            for (int n = n0; n < n1; n++) {
                for (int k = 0; k < oc; k++) {
                    wk.finishPlane(n, k);
                }
            }
        });
        return new Result(out, saved);
    }

    /**
     * Gradients of the convolution's weight and bias ({@code db} may be null when there is no bias) and of γ and β
     * for upstream gradient {@code dy} of the pooled shape, overwriting the four tensors.
     *
     * @throws IllegalStateException when the forward pass kept no winners
     */
    public static void backward(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor dy, Tensor gamma,
                                BatchNormMaxPool.Saved saved, Tensor dw, Tensor db, Tensor dgamma, Tensor dbeta) {
        String op = OP + " backward";
        ConvGeometry g = ConvChecks.geometry(op, 4, x.shape(), w.shape(), spec);
        Shape pooled = outputShape(x.shape(), w.shape(), spec);
        int oc = g.oc();
        if (!dy.shape().equals(pooled)) {
            throw new IllegalArgumentException(op + ": dy " + dy.shape() + " must be " + pooled);
        }
        if (!dw.shape().equals(w.shape())) {
            throw new IllegalArgumentException(op + ": dw " + dw.shape() + " must be " + w.shape());
        }
        Shape channel = Shape.of(oc);
        for (Object[] t : new Object[][]{{"gamma", gamma}, {"dgamma", dgamma}, {"dbeta", dbeta}, {"db", db}}) {
            Tensor v = (Tensor) t[1];
            if (v != null && !v.shape().equals(channel)) {
                throw new IllegalArgumentException(op + ": " + t[0] + " " + v.shape() + " must be " + channel);
            }
        }
        if (saved.argmax() == null) {
            throw new IllegalStateException(op + ": the forward pass kept no winners (it was run without a backward "
                    + "pass in view)");
        }
        if (saved.argmax().length != pooled.size() || saved.mean().length != oc) {
            throw new IllegalArgumentException(op + ": saved state is for another shape than " + pooled);
        }
        int planeOut = pooled.dim(2) * pooled.dim(3);
        float[] gy = dy.data();
        int yo = dy.offset();
        float[] win = saved.winners();
        // Pass 1, over the pooled planes: each winner's gradient where ReLU let it through, and per channel the
        // sums Σ dy and Σ dy·(x - μ); from them the coefficients of dx = a·dy + (x - μ)·b + c.
        float[] masked = ConvScratch.get().winnerGradients(pooled.size());
        float[] a = new float[oc];
        float[] b = new float[oc];
        float[] c = new float[oc];
        double m = (double) g.n() * g.p();
        double[][] sums = BatchNormMaxPool.winnerSums(win, gy, yo, saved, g.n(), oc, planeOut, masked, oc);
        for (int k = 0; k < oc; k++) {
            double s1 = sums[0][k];
            double s2 = sums[1][k];
            double r = saved.invStd()[k];
            double ga = gamma.data()[gamma.offset() + k];
            dbeta.data()[dbeta.offset() + k] = (float) s1;
            dgamma.data()[dgamma.offset() + k] = (float) (s2 * r);
            a[k] = (float) (r * ga);
            b[k] = saved.training() ? (float) (-r * r * r * ga * s2 / m) : 0f;
            c[k] = saved.training() ? (float) (-r * ga * s1 / m) : 0f;
        }
        // Pass 2, image by image: the planes again, dx in their place, and the weight gradient from dx.
        int wsize = oc * g.k();
        ConvScratch own = ConvScratch.get();
        int chunk = Parallel.chunkFor(g.n(), Conv2d.WEIGHT_CHUNKS, 1);
        float[][] partials = own.partials((g.n() + chunk - 1) / chunk, wsize + oc);
        int[] partFrom = own.partialFrom();
        AtomicInteger next = new AtomicInteger();
        Operands ops = new Operands(g, x, w, bias, null, saved);
        Parallel.forChunks(g.n(), chunk, (n0, n1) -> {
            int slot = next.getAndIncrement();
            partFrom[slot] = n0;
            float[] part = partials[slot];
            Arrays.fill(part, 0, wsize + oc, 0f);
            Worker wk = new Worker(ops);
            float[] lanes = ConvScratch.get().gemm(wsize * VL);
            Arrays.fill(lanes, 0, wsize * VL, 0f);
            for (int n = n0; n < n1; n++) {
                wk.gradientImage(n, masked, a, b, c, lanes, part, wsize);
            }
            ConvDirect.addLanes(g, lanes, part, 0);
        });
        Conv2d.addPartials(partials, partFrom, next.get(), wsize, oc, dw.data(), dw.offset(),
                db == null ? null : db.data(), db == null ? -1 : db.offset(), false);
    }

    /**
     * Whether {@link #forwardInferenceProducts} covers the convolution: one the direct kernels do not take, whose
     * forward products {@link ConvPanels} packs from the images, with an output of at least 2×2.
     */
    public static boolean appliesToProducts(Shape x, Shape w, ConvSpec spec) {
        ConvGeometry g = ConvChecks.geometry(OP, 4, x, w, spec);
        return !ConvDirect.applies(g) && ConvPanels.applies(g) && g.oh() >= 2 && g.ow() >= 2;
    }

    /**
     * Inference with the running statistics, no winners kept, for a convolution on the GEMM path
     * ({@link #appliesToProducts}): each group's products, while in L2, are pooled raw, then the bias and the
     * batch norm's affine and ReLU are applied to the pooled quarter (the bias and the affine are monotone where
     * the scale is positive, so the result is that of the separate primitives bit for bit); channels whose scale
     * is not positive are normalised before pooling. The convolution's output is never written.
     */
    public static Tensor forwardInferenceProducts(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor gamma,
                                                  Tensor beta, Tensor runningMean, Tensor runningVar, float eps) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        ConvGeometry g = ConvChecks.geometry(OP, 4, x.shape(), w.shape(), spec);
        if (!appliesToProducts(x.shape(), w.shape(), spec)) {
            throw new IllegalArgumentException(OP + ": the GEMM path does not take input " + x.shape() + ", weight "
                    + w.shape() + ", " + spec);
        }
        checkChannels(g, w, bias, gamma, beta, runningMean, runningVar, eps);
        int oc = g.oc();
        float[] mean = new float[oc];
        float[] scale = new float[oc];
        float[] shift = new float[oc];
        float[] bv = new float[oc];
        for (int k = 0; k < oc; k++) {
            double var = runningVar.data()[runningVar.offset() + k];
            mean[k] = runningMean.data()[runningMean.offset() + k];
            scale[k] = (float) (gamma.data()[gamma.offset() + k] / Math.sqrt(var + eps));
            shift[k] = beta.data()[beta.offset() + k];
            bv[k] = bias == null ? 0f : bias.data()[bias.offset() + k];
        }
        int ph = g.oh() / 2;
        int pw = g.ow() / 2;
        int p = g.p();
        Tensor out = Tensor.zeros(g.n(), oc, ph, pw);
        float[] od = out.data();
        ConvGemm.forwardProducts(g, x.data(), x.offset(), w.data(), w.offset(), (tmp, ld, n0, gn) -> {
            float[] buf = BUFFER.get();
            if (buf.length < p + 4 * VL) {
                buf = new float[p + 4 * VL];
                BUFFER.set(buf);
            }
            for (int i = 0; i < gn; i++) {
                for (int k = 0; k < oc; k++) {
                    int plane = k * ld + i * p;
                    int yb = out.offset() + ((n0 + i) * oc + k) * ph * pw;
                    if (scale[k] > 0) {
                        Pool2d.maxPlane2x2(tmp, plane, g.ow(), buf, 0, ph, pw, null, 0);
                        for (int j = 0; j < ph * pw; j++) {
                            buf[j] += bv[k];
                        }
                        BatchNormMaxPool.activate(buf, 0, od, yb, ph * pw, mean[k], 0f, scale[k], shift[k]);
                    } else {
                        for (int j = 0; j < p; j++) {
                            buf[j] = tmp[plane + j] + bv[k];
                        }
                        BatchNormMaxPool.activate(buf, 0, p, mean[k], 0f, scale[k], shift[k]);
                        Pool2d.maxPlane2x2(buf, 0, g.ow(), od, yb, ph, pw, null, 0);
                    }
                }
            }
        });
        return out;
    }

    private static ConvGeometry check(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor gamma, Tensor beta,
                                      Tensor runningMean, Tensor runningVar, float eps) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        ConvGeometry g = ConvChecks.geometry(OP, 4, x.shape(), w.shape(), spec);
        if (!ConvDirect.applies(g)) {
            throw new IllegalArgumentException(OP + ": needs at most " + ConvDirect.MAX_CHANNELS
                    + " input channels, width stride 1 and output rows of at least " + VL + "; input " + x.shape()
                    + ", weight " + w.shape() + ", " + spec);
        }
        outputShape(x.shape(), w.shape(), spec);
        checkChannels(g, w, bias, gamma, beta, runningMean, runningVar, eps);
        return g;
    }

    /** The per-channel operands: {@code [OC]} each (the bias may be null), and a valid {@code eps}. */
    private static void checkChannels(ConvGeometry g, Tensor w, Tensor bias, Tensor gamma, Tensor beta,
                                      Tensor runningMean, Tensor runningVar, float eps) {
        Shape channel = Shape.of(g.oc());
        for (Object[] t : new Object[][]{{"bias", bias}, {"gamma", gamma}, {"beta", beta},
                {"runningMean", runningMean}, {"runningVar", runningVar}}) {
            Tensor v = (Tensor) t[1];
            if (v == null && !"bias".equals(t[0])) {
                throw new NullPointerException(OP + ": " + t[0]);
            }
            if (v != null && !v.shape().equals(channel)) {
                throw new IllegalArgumentException(OP + ": " + t[0] + " " + v.shape() + " must be " + channel
                        + " (one per output channel of weight " + w.shape() + ")");
            }
        }
        BatchNorm.checkEps(OP, eps);
    }

    /** The arrays a pass reads and writes. */
    private record Operands(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor out,
                            BatchNormMaxPool.Saved saved) {
    }

    /** One thread's view: the padded image in hand and the plane buffer. */
    private static final class Worker {
        private final Operands op;
        private final ConvGeometry g;
        private final ConvDirect.Padded img;
        private final float[] buf;
        private final int p;
        private final int ph;
        private final int pw;
        /** The lanes of a row's last vector that the weight gradient counts. */
        private final FloatVector keep;

        Worker(Operands op) {
            this.op = op;
            this.g = op.g();
            this.img = new ConvDirect.Padded(g);
            this.p = g.p();
            this.ph = g.oh() / 2;
            this.pw = g.ow() / 2;
            this.keep = ConvDirect.tailKeep(g);
            int size = (BLOCK + 1) * p + 4 * VL;
            float[] b = BUFFER.get();
            if (b.length < size) {
                b = new float[size];
                BUFFER.set(b);
            }
            this.buf = b;
        }

        /** Channels {@code [o0, o1)} of image {@code n} into the buffer, from plane {@code at}. */
        private void compute(int n, int o0, int o1, int at) {
            img.load(op.x().data(), op.x().offset() + n * g.inImage(), n);
            Tensor bias = op.bias();
            ConvDirect.channels(g, img, op.w().data(), op.w().offset(), bias == null ? null : bias.data(),
                    bias == null ? -1 : bias.offset(), o0, o1, buf, at * p);
        }

        /** Pass 1 of training: statistics and raw pool of every plane of image {@code n}. */
        void statisticsImage(int n, double[] planeMean, double[] planeM2) {
            int oc = g.oc();
            int[] arg = op.saved().argmax();
            float[] out = op.out().data();
            for (int o0 = 0; o0 < oc; o0 += BLOCK) {
                int o1 = Math.min(o0 + BLOCK, oc);
                compute(n, o0, o1, 0);
                for (int k = o0; k < o1; k++) {
                    int at = (k - o0) * p;
                    BatchNorm.planeStats(buf, at, p, planeMean, planeM2, n * oc + k);
                    int pb = (n * oc + k) * ph * pw;
                    Pool2d.maxPlane2x2(buf, at, g.ow(), out, op.out().offset() + pb, ph, pw, arg, pb);
                }
            }
        }

        /** Pass 2 of training: normalise image {@code n}'s pooled plane of channel {@code k}. */
        void finishPlane(int n, int k) {
            BatchNormMaxPool.Saved s = op.saved();
            int pb = (n * g.oc() + k) * ph * pw;
            int yb = op.out().offset() + pb;
            float[] out = op.out().data();
            if (s.scale()[k] > 0) {
                if (s.winners() != null) {
                    System.arraycopy(out, yb, s.winners(), pb, ph * pw);
                    BatchNormMaxPool.activate(s.winners(), pb, out, yb, ph * pw, s.mean()[k], s.lo()[k],
                            s.scale()[k], s.shift()[k]);
                } else {
                    BatchNormMaxPool.activate(out, yb, ph * pw, s.mean()[k], s.lo()[k], s.scale()[k],
                            s.shift()[k]);
                }
            } else {
                compute(n, k, k + 1, 0);
                poolNormalised(k, pb, yb);
            }
        }

        /** Inference: every plane of image {@code n}, computed, pooled and normalised. */
        void inferenceImage(int n) {
            int oc = g.oc();
            BatchNormMaxPool.Saved s = op.saved();
            float[] out = op.out().data();
            for (int o0 = 0; o0 < oc; o0 += BLOCK) {
                int o1 = Math.min(o0 + BLOCK, oc);
                compute(n, o0, o1, 0);
                for (int k = o0; k < o1; k++) {
                    int pb = (n * oc + k) * ph * pw;
                    int yb = op.out().offset() + pb;
                    if (s.scale()[k] > 0) {
                        // Pooled raw into the winners (or the spare plane), then normalised from there.
                        float[] raw = s.winners() != null ? s.winners() : buf;
                        int rb = s.winners() != null ? pb : BLOCK * p;
                        Pool2d.maxPlane2x2(buf, (k - o0) * p, g.ow(), raw, rb, ph, pw, s.argmax(), pb);
                        BatchNormMaxPool.activate(raw, rb, out, yb, ph * pw, s.mean()[k], s.lo()[k], s.scale()[k],
                                s.shift()[k]);
                    } else {
                        System.arraycopy(buf, (k - o0) * p, buf, 0, p);
                        poolNormalised(k, pb, yb);
                    }
                }
            }
        }

        /**
         * The raw plane of channel {@code k} at the buffer's start: normalised into the spare plane, then pooled
         * as the separate primitives pool (a scale that is not positive reverses or flattens the order).
         */
        private void poolNormalised(int k, int pb, int yb) {
            BatchNormMaxPool.Saved s = op.saved();
            int spare = BLOCK * p;
            System.arraycopy(buf, 0, buf, spare, p);
            BatchNormMaxPool.activate(buf, spare, p, s.mean()[k], s.lo()[k], s.scale()[k], s.shift()[k]);
            int[] arg = s.argmax();
            Pool2d.maxPlane2x2(buf, spare, g.ow(), op.out().data(), yb, ph, pw, arg, pb);
            if (arg != null) {
                for (int o = 0; o < ph * pw; o++) {
                    s.winners()[pb + o] = buf[arg[pb + o]];
                }
            }
        }

        /**
         * Backward pass 2 for image {@code n}: each block of planes recomputed, replaced by the batch norm's input
         * gradient, and added to the weight gradient's lanes and the bias gradient ({@code part[wsize + k]}).
         */
        void gradientImage(int n, float[] masked, float[] a, float[] b, float[] c, float[] lanes, float[] part,
                           int wsize) {
            int oc = g.oc();
            BatchNormMaxPool.Saved s = op.saved();
            int[] arg = s.argmax();
            for (int o0 = 0; o0 < oc; o0 += BLOCK) {
                int o1 = Math.min(o0 + BLOCK, oc);
                compute(n, o0, o1, 0);
                for (int k = o0; k < o1; k++) {
                    int at = (k - o0) * p;
                    BatchNormMaxPool.dense(buf, at, buf, at, p, s.mean()[k], b[k], c[k]);
                    int pb = (n * oc + k) * ph * pw;
                    float ak = a[k];
                    for (int o = 0; o < ph * pw; o++) {
                        int i = at + arg[pb + o];
                        buf[i] = Math.fma(masked[pb + o], ak, buf[i]);
                    }
                    part[wsize + k] += ConvDirect.sum(buf, at, p);
                }
                ConvDirect.weightChannels(g, img, buf, 0, o0, o1, lanes, keep);
            }
        }
    }
}
