package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch normalisation over channel axis 1 of {@code x [N, C, H, W]}, ReLU, and max pooling over 2×2 windows with
 * stride 2 (floor: {@code [N, C, H/2, W/2]}), as one primitive: the common block after a convolution, whose
 * normalised activation is never written. Every pass walks the planes in memory order, so that the prefetcher
 * follows the input and the outputs (channel by channel, a plane of the reference CNN's second block is 484 bytes
 * an image's size away from the next, and the pass ran 2× slower). Forward, in training, the first pass takes
 * each plane's statistics and, where the channel's scale will be positive, its raw pool (see {@link #poolPlane});
 * the second normalises the pooled quarter. Backward takes one pass over the pooled winners and one dense pass
 * writing the input gradient. Per-plane sums are combined in image order, so no result depends on the thread
 * count.
 *
 * <p>Forward: the output is that of {@link BatchNorm} with ReLU followed by {@link Pool2d}'s 2×2 max pool, bit for
 * bit, and the running statistics are updated as {@link BatchNorm#forwardTraining} updates them. The winners are
 * the same but where rounding makes two different inputs of a window normalise to the same value. Backward: the
 * upstream gradient is non-zero only at each window's winner, and only where its normalised value is positive
 * (the ReLU mask, from the winner's raw value the forward pass kept); the channel sums are taken over those
 * winners, so they equal the composed primitives' sums up to the order of summation.
 *
 * <pre>{@code
 * BatchNormMaxPool.Result r = BatchNormMaxPool.forwardTraining(x, gamma, beta, runningMean, runningVar, 0.1f, 1e-5f);
 * Tensor dx = x.zerosLike(), dgamma = gamma.zerosLike(), dbeta = beta.zerosLike();
 * BatchNormMaxPool.backward(x, dyPooled, gamma, r.saved(), dx, dgamma, dbeta);
 * }</pre>
 */
public final class BatchNormMaxPool {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int VL = Pool2d.VL;
    /** {@code VL} zeros then {@code VL} ones: from offset f, a vector whose last f lanes are one. */
    private static final float[] RAMP = new float[2 * VL];

    static {
        java.util.Arrays.fill(RAMP, VL, 2 * VL, 1f);
    }

    /** One thread's normalised plane, for channels whose scale is not positive. */
    private static final ThreadLocal<float[]> PLANE = ThreadLocal.withInitial(() -> new float[0]);

    private BatchNormMaxPool() {
    }

    /**
     * What the backward pass needs from a forward pass: the per-channel affine it applied
     * ({@code ((x - mean) - lo) · scale + shift}), the inverse standard deviation, the winners (index in their
     * plane, and raw input value, per output element; both null after a pass run without a backward pass), and
     * the mode.
     */
    public record Saved(float[] mean, float[] lo, float[] scale, float[] shift, float[] invStd, int[] argmax,
                        float[] winners, boolean training) {
        public Saved {
            Objects.requireNonNull(mean, "mean");
            if ((argmax == null) != (winners == null)) {
                throw new IllegalArgumentException("argmax and winners are kept together or not at all");
            }
        }
    }

    /** The pooled output {@code [N, C, H/2, W/2]} and what backward needs. */
    public record Result(Tensor output, Saved saved) {
        public Result {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(saved, "saved");
        }
    }

    /** {@code [N, C, H/2, W/2]} for {@code x [N, C, H, W]}. */
    public static Shape outputShape(Shape x) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("batchNorm+relu+maxPool: input " + x + " must be [N, C, H, W]");
        }
        if (x.dim(2) < 2 || x.dim(3) < 2) {
            throw new IllegalArgumentException("batchNorm+relu+maxPool: input " + x
                    + " is smaller than the 2×2 window");
        }
        return Shape.of(x.dim(0), x.dim(1), x.dim(2) / 2, x.dim(3) / 2);
    }

    /** Training pass: batch statistics (running statistics updated in place), ReLU, 2×2 max pool. */
    public static Result forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps) {
        return forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, true);
    }

    /**
     * As {@link #forwardTraining(Tensor, Tensor, Tensor, Tensor, Tensor, float, float)}; without
     * {@code forBackward} the winners are not kept (a pass no gradient will flow through), and {@link #backward}
     * refuses the result.
     */
    public static Result forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                         float momentum, float eps, boolean forBackward) {
        String op = "batchNorm+relu+maxPool";
        BatchNorm.Geometry g = check(op, x, gamma, beta, runningMean, runningVar, eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(op + ": momentum " + momentum + " must be in [0, 1]");
        }
        long m = (long) g.n() * g.s();
        if (m < 2 && g.c() > 0) {
            throw new IllegalArgumentException(op + ": training needs more than one value per channel; input "
                    + x.shape() + " has " + m + " (variance undefined)");
        }
        Saved saved = newSaved(x, g, true, forBackward);
        Tensor out = Tensor.zeros(outputShape(x.shape()));
        float[] xd = x.data();
        int xo = x.offset();
        int w = x.dim(3);
        int oh = x.dim(2) / 2;
        int ow = w / 2;
        int po = oh * ow;
        int planes = g.n() * g.c();
        float[] gd = gamma.data();
        int go = gamma.offset();
        // The raw pool's winners; where no backward pass needs them, in a scratch array.
        float[] raw = forBackward ? saved.winners : new float[planes * po];
        // Pass 1, planes in memory order: each plane's statistics (combined per channel below, as
        // BatchNorm.batchStats combines them), and the raw pool of planes whose scale will be positive (γ > 0).
        double[] planeMean = new double[planes];
        double[] planeM2 = new double[planes];
        int chunk = Parallel.chunkFor(planes, planeGrain(g));
        Parallel.forChunks(planes, chunk, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int xb = xo + p * g.s();
                BatchNorm.planeStats(xd, xb, g.s(), planeMean, planeM2, p);
                if (gd[go + p % g.c()] > 0) {
                    Pool2d.maxPlane2x2(xd, xb, w, raw, p * po, oh, ow, saved.argmax, p * po);
                }
            }
        });
        double[] mv = new double[2];
        float[] rm = runningMean.data();
        float[] rv = runningVar.data();
        for (int k = 0; k < g.c(); k++) {
            BatchNorm.combine(planeMean, planeM2, k, g.c(), g.n(), g.s(), mv);
            double invStd = 1 / Math.sqrt(mv[1] + eps);
            float hi = (float) mv[0];
            saved.mean[k] = hi;
            saved.lo[k] = (float) (mv[0] - hi);
            saved.scale[k] = (float) (gd[go + k] * invStd);
            saved.shift[k] = beta.data()[beta.offset() + k];
            saved.invStd[k] = (float) invStd;
            int r = runningMean.offset() + k;
            rm[r] = (float) ((1 - (double) momentum) * rm[r] + momentum * mv[0]);
            r = runningVar.offset() + k;
            rv[r] = (float) ((1 - (double) momentum) * rv[r] + momentum * mv[1] * m / (m - 1));
        }
        // Pass 2, planes in memory order: the pooled planes normalised, or the plane normalised then pooled.
        Parallel.forChunks(planes, chunk, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int k = p % g.c();
                if (gd[go + k] > 0 && saved.scale[k] > 0) {
                    activate(raw, p * po, out.data(), out.offset() + p * po, po, saved.mean[k], saved.lo[k],
                            saved.scale[k], saved.shift[k]);
                } else {
                    poolPlane(x, out, saved, p / g.c(), k);
                }
            }
        });
        return new Result(out, saved);
    }

    /**
     * Planes a part of a parallel loop takes: the planes of {@link BatchNorm#grain}'s channels. The planes go in
     * memory order: channel by channel they would hop an image's size between planes, and the prefetcher would lose
     * the streams of the input and the outputs (a plane of the reference CNN's second block is 484 bytes).
     */
    private static int planeGrain(BatchNorm.Geometry g) {
        return Math.max(1, BatchNorm.grain(g) * g.n());
    }

    /** Inference pass: the running statistics (unchanged), ReLU, 2×2 max pool. */
    public static Result forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float eps) {
        return forwardInference(x, gamma, beta, runningMean, runningVar, eps, true);
    }

    /**
     * As {@link #forwardInference(Tensor, Tensor, Tensor, Tensor, Tensor, float)}; without {@code forBackward}
     * the winners are not kept, which spares the pool its index bookkeeping (evaluation, scoring).
     */
    public static Result forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float eps, boolean forBackward) {
        String op = "batchNormInference+relu+maxPool";
        BatchNorm.Geometry g = check(op, x, gamma, beta, runningMean, runningVar, eps);
        Saved saved = newSaved(x, g, false, forBackward);
        Tensor out = Tensor.zeros(outputShape(x.shape()));
        for (int k = 0; k < g.c(); k++) {
            double var = runningVar.data()[runningVar.offset() + k];
            saved.mean[k] = runningMean.data()[runningMean.offset() + k];
            saved.scale[k] = (float) (gamma.data()[gamma.offset() + k] / Math.sqrt(var + eps));
            saved.shift[k] = beta.data()[beta.offset() + k];
            saved.invStd[k] = (float) (1 / Math.sqrt(var + eps));
        }
        Parallel.forChunks(g.n() * g.c(), Parallel.chunkFor(g.n() * g.c(), planeGrain(g)), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                poolPlane(x, out, saved, p / g.c(), p % g.c());
            }
        });
        return new Result(out, saved);
    }

    /**
     * Gradients for upstream gradient {@code dy [N, C, H/2, W/2]}, overwriting {@code dx}, {@code dgamma} and
     * {@code dbeta}: through the batch statistics after a training pass, through the running statistics after an
     * inference pass.
     */
    public static void backward(Tensor x, Tensor dy, Tensor gamma, Saved saved, Tensor dx, Tensor dgamma,
                                Tensor dbeta) {
        String op = "batchNorm+relu+maxPool backward";
        BatchNorm.Geometry g = BatchNorm.geometry(op, x);
        Shape pooled = outputShape(x.shape());
        if (!dy.shape().equals(pooled)) {
            throw new IllegalArgumentException(op + ": dy " + dy.shape() + " must be " + pooled + " for x "
                    + x.shape());
        }
        BatchNorm.checkLike(op, "dx", dx, x);
        BatchNorm.checkChannel(op, "gamma", gamma, x);
        BatchNorm.checkChannel(op, "dgamma", dgamma, x);
        BatchNorm.checkChannel(op, "dbeta", dbeta, x);
        if (saved.argmax == null) {
            throw new IllegalStateException(op + ": the forward pass kept no winners (it was run without a backward "
                    + "pass in view)");
        }
        if (saved.argmax.length != pooled.size() || saved.mean.length != g.c()) {
            throw new IllegalArgumentException(op + ": saved state is for another shape than x " + x.shape());
        }
        int h = x.dim(2);
        int w = x.dim(3);
        int oh = h / 2;
        int ow = w / 2;
        float[] xd = x.data();
        float[] gy = dy.data();
        float[] gx = dx.data();
        int xo = x.offset();
        int yo = dy.offset();
        int dxo = dx.offset();
        int[] arg = saved.argmax;
        double m = (double) g.n() * g.s();
        float[] win = saved.winners;
        int planeOut = oh * ow;
        // Pass 1, over the pooled planes in memory order: each winner's gradient where ReLU let it through, and
        // per channel Σ dy and Σ dy · (x - mean); from them the coefficients of dx = a·dy + (x - mean)·b + c.
        float[] gw = ConvScratch.get().winnerGradients(arg.length);
        double[][] sums = winnerSums(win, gy, yo, saved, g.n(), g.c(), planeOut, gw, planeGrain(g));
        float[] a = new float[g.c()];
        float[] b = new float[g.c()];
        float[] c = new float[g.c()];
        for (int k = 0; k < g.c(); k++) {
            double s1 = sums[0][k];
            double s2 = sums[1][k];
            double r = saved.invStd[k];
            double ga = gamma.data()[gamma.offset() + k];
            dbeta.data()[dbeta.offset() + k] = (float) s1;
            dgamma.data()[dgamma.offset() + k] = (float) (s2 * r);
            a[k] = (float) (r * ga);
            b[k] = saved.training ? (float) (-r * r * r * ga * s2 / m) : 0f;
            c[k] = saved.training ? (float) (-r * ga * s1 / m) : 0f;
        }
        // Pass 2, planes in memory order: dx = (x - mean) · b + c over every element, then a · dy added at the
        // winners (a fused multiply-add there, so each element is rounded as the composed primitives round it).
        Parallel.forChunks(g.n() * g.c(), Parallel.chunkFor(g.n() * g.c(), planeGrain(g)), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int k = p % g.c();
                int pb = p * planeOut;
                int dxb = dxo + p * h * w;
                dense(xd, xo + p * h * w, gx, dxb, h * w, saved.mean[k], b[k], c[k]);
                float ak = a[k];
                for (int o = 0; o < planeOut; o++) {
                    int at = dxb + arg[pb + o];
                    gx[at] = Math.fma(gw[pb + o], ak, gx[at]);
                }
            }
        });
    }

    /**
     * Backward pass 1 over pooled planes {@code [N, C, len]} in memory order: each winner's gradient into
     * {@code gw} ({@link #winnerSums(float[], float[], int, int, int, float, float, float, float, float[], int,
     * double[])}), and per channel {@code Σ dy} and {@code Σ dy·(x - mean)}, returned as {@code [2][C]}: each
     * plane's sums are kept and added in image order, so the result does not depend on the thread count.
     */
    static double[][] winnerSums(float[] win, float[] gy, int yo, Saved saved, int n, int c, int len, float[] gw,
                                 int grain) {
        double[] plane1 = new double[n * c];
        double[] plane2 = new double[n * c];
        Parallel.forChunks(n * c, Parallel.chunkFor(n * c, grain), (p0, p1) -> {
            double[] sums = new double[2];
            for (int p = p0; p < p1; p++) {
                int k = p % c;
                sums[0] = 0;
                sums[1] = 0;
                winnerSums(win, gy, yo, p * len, len, saved.mean[k], saved.lo[k], saved.scale[k], saved.shift[k],
                        gw, p * len, sums);
                plane1[p] = sums[0];
                plane2[p] = sums[1];
            }
        });
        double[][] total = new double[2][c];
        for (int p = 0; p < n * c; p++) {
            total[0][p % c] += plane1[p];
            total[1][p % c] += plane2[p];
        }
        return total;
    }

    // ---------------------------------------------------------------- kernels

    /**
     * One pooled plane of backward pass 1: each winner's gradient ({@code dy} where the winner's normalised value
     * is positive, else zero) into {@code gw} from {@code gb}, and {@code sums[0] += Σ dy},
     * {@code sums[1] += Σ dy·(x - mu)} over them. {@code win} and {@code dy} (from {@code dyOff}) are read from
     * {@code pb}.
     */
    static void winnerSums(float[] win, float[] dy, int dyOff, int pb, int len, float mu, float lo, float scale,
                           float shift, float[] gw, int gb, double[] sums) {
        FloatVector muv = FloatVector.broadcast(F, mu);
        FloatVector lov = FloatVector.broadcast(F, lo);
        FloatVector scv = FloatVector.broadcast(F, scale);
        FloatVector shv = FloatVector.broadcast(F, shift);
        FloatVector v1 = FloatVector.zero(F);
        FloatVector v2 = FloatVector.zero(F);
        int o = 0;
        for (; o + VL <= len; o += VL) {
            FloatVector wv = FloatVector.fromArray(F, win, pb + o);
            VectorMask<Float> on = wv.sub(muv).sub(lov).fma(scv, shv).compare(VectorOperators.GT, 0f);
            FloatVector gv = FloatVector.zero(F).blend(FloatVector.fromArray(F, dy, dyOff + pb + o), on);
            gv.intoArray(gw, gb + o);
            v1 = v1.add(gv);
            v2 = gv.fma(wv.sub(muv), v2);
        }
        if (o < len && len >= VL) {
            // The last vector overlaps the one before: its repeated lanes store the same gradients again and are
            // kept out of the sums.
            int at = len - VL;
            FloatVector keep = FloatVector.fromArray(F, RAMP, len - o);
            FloatVector wv = FloatVector.fromArray(F, win, pb + at);
            VectorMask<Float> on = wv.sub(muv).sub(lov).fma(scv, shv).compare(VectorOperators.GT, 0f);
            FloatVector gv = FloatVector.zero(F).blend(FloatVector.fromArray(F, dy, dyOff + pb + at), on);
            gv.intoArray(gw, gb + at);
            gv = gv.mul(keep);
            v1 = v1.add(gv);
            v2 = gv.fma(wv.sub(muv), v2);
            o = len;
        }
        float t1 = v1.reduceLanes(VectorOperators.ADD);
        float t2 = v2.reduceLanes(VectorOperators.ADD);
        for (; o < len; o++) {
            float wv = win[pb + o];
            float gv = Math.fma((wv - mu) - lo, scale, shift) > 0 ? dy[dyOff + pb + o] : 0f;
            gw[gb + o] = gv;
            t1 += gv;
            t2 = Math.fma(gv, wv - mu, t2);
        }
        sums[0] += t1;
        sums[1] += t2;
    }

    private static BatchNorm.Geometry check(String op, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                            Tensor runningVar, float eps) {
        BatchNorm.Geometry g = BatchNorm.geometry(op, x);
        outputShape(x.shape());
        BatchNorm.checkChannel(op, "gamma", gamma, x);
        BatchNorm.checkChannel(op, "beta", beta, x);
        BatchNorm.checkChannel(op, "runningMean", runningMean, x);
        BatchNorm.checkChannel(op, "runningVar", runningVar, x);
        BatchNorm.checkEps(op, eps);
        return g;
    }

    private static Saved newSaved(Tensor x, BatchNorm.Geometry g, boolean training, boolean forBackward) {
        int c = g.c();
        int pooled = outputShape(x.shape()).size();
        return new Saved(new float[c], new float[c], new float[c], new float[c], new float[c],
                forBackward ? Recycler.ints(pooled) : null, forBackward ? Recycler.floats(pooled) : null, training);
    }

    /**
     * Hands the winners and their indices of {@code saved} on to the next forward pass of the same shape
     * ({@link Recycler}); {@code saved} must not be used again.
     */
    static void recycle(Saved saved) {
        Recycler.give(saved.argmax());
        Recycler.give(saved.winners());
    }

    /**
     * Image {@code n}'s plane of channel {@code k}, normalised, rectified and pooled. The affine and ReLU are
     * non-decreasing when the scale is positive (each rounding step is monotone), so the window's winner is the raw
     * input's maximum, and the output is the affine and ReLU of that one value: the input is pooled as it is and
     * only the pooled plane, a quarter of it, is normalised. A negative scale reverses the order, and a zero one
     * makes every element a tie (the composed primitives pass the gradient to the window's first); those planes are
     * normalised whole, in a copy, and then pooled.
     */
    private static void poolPlane(Tensor x, Tensor out, Saved saved, int n, int k) {
        int c = x.dim(1);
        int h = x.dim(2);
        int w = x.dim(3);
        int oh = h / 2;
        int ow = w / 2;
        float hi = saved.mean[k];
        float lo = saved.lo[k];
        float scale = saved.scale[k];
        float shift = saved.shift[k];
        int plane = n * c + k;
        int xb = x.offset() + plane * h * w;
        int yb = out.offset() + plane * oh * ow;
        int pb = plane * oh * ow;
        boolean keep = saved.argmax != null;
        if (scale > 0) {
            // Pooled raw into the winners (or a scratch plane), then normalised from there into the output.
            float[] raw = keep ? saved.winners : plane(oh * ow);
            int rb = keep ? pb : 0;
            Pool2d.maxPlane2x2(x.data(), xb, w, raw, rb, oh, ow, saved.argmax, pb);
            activate(raw, rb, out.data(), yb, oh * ow, hi, lo, scale, shift);
        } else {
            // Normalised first, in an L1-sized copy of the plane, then pooled as the composed primitives pool.
            float[] normal = plane(h * w);
            System.arraycopy(x.data(), xb, normal, 0, h * w);
            activate(normal, 0, h * w, hi, lo, scale, shift);
            Pool2d.maxPlane2x2(normal, 0, w, out.data(), yb, oh, ow, saved.argmax, pb);
            for (int o = 0; keep && o < oh * ow; o++) {
                saved.winners[pb + o] = x.data()[xb + saved.argmax[pb + o]];
            }
        }
    }

    /**
     * {@code y = max(((x - hi) - lo) · scale + shift, 0)} from {@code x} (not overlapping {@code y}), the last
     * vector overlapping the one before rather than a scalar tail.
     */
    static void activate(float[] x, int xb, float[] y, int yb, int len, float hi, float lo, float scale,
                         float shift) {
        if (len < VL) {
            System.arraycopy(x, xb, y, yb, len);
            activate(y, yb, len, hi, lo, scale, shift);
            return;
        }
        FloatVector hv = FloatVector.broadcast(F, hi);
        FloatVector lv = FloatVector.broadcast(F, lo);
        FloatVector sv = FloatVector.broadcast(F, scale);
        FloatVector tv = FloatVector.broadcast(F, shift);
        for (int i = 0; i < len; i += VL) {
            int at = Math.min(i, len - VL);
            FloatVector.fromArray(F, x, xb + at).sub(hv).sub(lv).fma(sv, tv).max(0f).intoArray(y, yb + at);
        }
    }

    /** This thread's scratch plane, at least {@code size} long. */
    private static float[] plane(int size) {
        float[] p = PLANE.get();
        if (p.length < size) {
            p = new float[size];
            PLANE.set(p);
        }
        return p;
    }

    /** {@code y = max(((y - hi) - lo) · scale + shift, 0)} in place. */
    static void activate(float[] y, int yb, int len, float hi, float lo, float scale, float shift) {
        FloatVector hv = FloatVector.broadcast(F, hi);
        FloatVector lv = FloatVector.broadcast(F, lo);
        FloatVector sv = FloatVector.broadcast(F, scale);
        FloatVector tv = FloatVector.broadcast(F, shift);
        int i = 0;
        for (; i + VL <= len; i += VL) {
            FloatVector.fromArray(F, y, yb + i).sub(hv).sub(lv).fma(sv, tv).max(0f).intoArray(y, yb + i);
        }
        for (; i < len; i++) {
            y[yb + i] = Math.max(Math.fma((y[yb + i] - hi) - lo, scale, shift), 0f);
        }
    }

    /** {@code dx = (x - mu) · b + c} over one plane. */
    static void dense(float[] x, int xb, float[] dx, int dxb, int len, float mu, float b, float c) {
        int i = 0;
        FloatVector mv = FloatVector.broadcast(F, mu);
        FloatVector bv = FloatVector.broadcast(F, b);
        FloatVector cv = FloatVector.broadcast(F, c);
        for (; i + VL <= len; i += VL) {
            FloatVector.fromArray(F, x, xb + i).sub(mv).fma(bv, cv).intoArray(dx, dxb + i);
        }
        for (; i < len; i++) {
            dx[dxb + i] = Math.fma(x[xb + i] - mu, b, c);
        }
    }

}
