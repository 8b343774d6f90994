package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch normalisation over the channel axis 1 of {@code x [N, C]}, {@code [N, C, L]}, {@code [N, C, H, W]} (any
 * rank ≥ 2): each channel {@code c} is normalised over its {@code m = N * L} (or {@code N * H * W}) values.
 *
 * <p><b>Training</b> uses the batch statistics and updates the running ones in place:
 * <pre>
 *   μ = Σ x / m,   σ² = Σ (x - μ)² / m  (biased),   invStd = 1 / sqrt(σ² + eps)
 *   x̂ = (x - μ) · invStd,   y = γ · x̂ + β
 *   runningMean = (1 - momentum) · runningMean + momentum · μ
 *   runningVar  = (1 - momentum) · runningVar  + momentum · σ² · m / (m - 1)   (unbiased, as PyTorch)
 * </pre>
 * and returns {@code μ} and {@code invStd} for the backward pass. With {@code m == 1} the variance is undefined
 * and training is refused, as in PyTorch. <b>Inference</b> uses {@code runningMean} and {@code runningVar} in
 * place of {@code μ} and {@code σ²} and changes nothing.
 *
 * <p><b>Backward</b>, given {@code dy}: {@code dβ = Σ dy}, {@code dγ = Σ dy · x̂}, and in training (the
 * statistics depend on x)
 * <pre>
 *   dx = (1 / m) · invStd · γ · (m · dy - Σ dy - x̂ · Σ (dy · x̂))
 * </pre>
 * while in inference {@code dx = invStd · γ · dy}. Sums run over the {@code m} values of a channel.
 *
 * <p>Accuracy: statistics are summed in float vector lanes over blocks of {@value #SUM_BLOCK} values, the block
 * sums in double; the variance is a second pass over deviations from the first pass's mean, corrected by the
 * deviations' own mean. The forward pass subtracts the mean as two floats (high and low part), so data with a
 * large offset, such as {@code 1000 + 0.01 · z}, normalises to float precision (the backward pass works from
 * the saved float mean, as PyTorch's does). Work is split over channels; {@code [N, C]} input runs across
 * channels row by row, other shapes along each channel's contiguous runs with vectors.
 *
 * <p>Shapes: {@code gamma, beta, runningMean, runningVar, mean, invStd, dgamma, dbeta: [C]};
 * {@code out, dx, dy}: the shape of {@code x}. {@code out} (and {@code dx}) may be {@code x} itself (or
 * {@code dy}) for an in-place update, but must not overlap it otherwise. Defaults as PyTorch and Flux:
 * momentum {@value #DEFAULT_MOMENTUM}, eps {@value #DEFAULT_EPS}.
 *
 * <pre>{@code
 * Tensor gamma = Tensor.full(1f, 16), beta = Tensor.zeros(16);
 * Tensor runMean = Tensor.zeros(16), runVar = Tensor.full(1f, 16);
 * BatchNorm.Training t = BatchNorm.forwardTraining(x, gamma, beta, runMean, runVar);   // x [8, 16, 28, 28]
 * BatchNorm.Gradients g = BatchNorm.backward(x, dy, gamma, t.mean(), t.invStd());
 * Tensor yEval = BatchNorm.forwardInference(x, gamma, beta, runMean, runVar, BatchNorm.DEFAULT_EPS);
 * }</pre>
 */
public final class BatchNorm {
    public static final float DEFAULT_MOMENTUM = 0.1f;
    public static final float DEFAULT_EPS = 1e-5f;

    /** A training pass's output and the batch statistics ({@code [C]} each) its backward pass needs. */
    public record Training(Tensor output, Tensor mean, Tensor invStd) {
        public Training {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(mean, "mean");
            Objects.requireNonNull(invStd, "invStd");
        }
    }

    /** Gradients with respect to the input ({@code x}'s shape), scale and shift ({@code [C]} each). */
    public record Gradients(Tensor dx, Tensor dgamma, Tensor dbeta) {
        public Gradients {
            Objects.requireNonNull(dx, "dx");
            Objects.requireNonNull(dgamma, "dgamma");
            Objects.requireNonNull(dbeta, "dbeta");
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int VL = F.length();
    /** Values per parallel part, so that small tensors stay on the calling thread. */
    private static final int PARALLEL_WORK = 1 << 15;
    /** Values a block of channels aims for within a part: 512 KB of floats, well inside one core's L2. */
    private static final long BLOCK_VALUES = 1 << 17;
    /** Values summed in float lanes before the block sum is added in double. */
    private static final int SUM_BLOCK = 1024;
    /** {@code VL} zeros then {@code VL} ones: from offset f, a vector whose last f lanes are one. */
    private static final float[] RAMP = new float[2 * VL];

    static {
        Arrays.fill(RAMP, VL, 2 * VL, 1f);
    }

    private BatchNorm() {
    }

    // ---------------------------------------------------------------- forward

    /** Training pass with momentum {@value #DEFAULT_MOMENTUM} and eps {@value #DEFAULT_EPS}; see the class. */
    public static Training forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                           Tensor runningVar) {
        return forwardTraining(x, gamma, beta, runningMean, runningVar, DEFAULT_MOMENTUM, DEFAULT_EPS);
    }

    /**
     * Training pass into new tensors: normalises with the batch statistics, updates {@code runningMean} and
     * {@code runningVar} in place, returns the output with the batch mean and inverse standard deviation.
     */
    public static Training forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                           Tensor runningVar, float momentum, float eps) {
        Objects.requireNonNull(x, "x");
        int c = x.rank() >= 2 ? x.dim(1) : 0;
        Training t = new Training(Tensor.zeros(x.shape()), Tensor.zeros(c), Tensor.zeros(c));
        forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, t.output(), t.mean(), t.invStd());
        return t;
    }

    /**
     * Training pass writing the output into {@code out}, the batch mean into {@code saveMean} and
     * {@code 1 / sqrt(σ² + eps)} into {@code saveInvStd}; updates the running statistics in place; returns
     * {@code out}.
     *
     * @throws IllegalArgumentException on mismatched shapes, momentum outside [0, 1], eps not positive, or a
     *                                  channel with fewer than two values
     */
    public static Tensor forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                         Tensor runningVar, float momentum, float eps,
                                         Tensor out, Tensor saveMean, Tensor saveInvStd) {
        return forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, false, out, saveMean,
                saveInvStd);
    }

    /**
     * As {@link #forwardTraining(Tensor, Tensor, Tensor, Tensor, Tensor, float, float, Tensor, Tensor, Tensor)},
     * followed, when {@code relu}, by {@code max(y, 0)} in the same pass over the output: the same bits as batch
     * norm and then {@link Activation#RELU}, one pass fewer.
     */
    public static Tensor forwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                         Tensor runningVar, float momentum, float eps, boolean relu,
                                         Tensor out, Tensor saveMean, Tensor saveInvStd) {
        String op = "batchNorm";
        Geometry g = geometry(op, x);
        checkChannel(op, "gamma", gamma, x);
        checkChannel(op, "beta", beta, x);
        checkChannel(op, "runningMean", runningMean, x);
        checkChannel(op, "runningVar", runningVar, x);
        checkChannel(op, "saveMean", saveMean, x);
        checkChannel(op, "saveInvStd", saveInvStd, x);
        checkLike(op, "out", out, x);
        checkEps(op, eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(op + ": momentum " + momentum + " must be in [0, 1]");
        }
        long m = (long) g.n * g.s;
        if (m < 2 && g.c > 0) {
            throw new IllegalArgumentException(op + ": training needs more than one value per channel; input "
                    + x.shape() + " has " + m + " (variance undefined)");
        }
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        Parallel.forRange(g.c, grain(g), inBlocks(g, (c0, c1) -> {
            double[] mean = new double[c1 - c0];
            double[] var = new double[c1 - c0];
            batchStats(xd, xo, g, c0, c1, mean, var);
            float[] hi = new float[c1 - c0];
            float[] lo = new float[c1 - c0];
            float[] scale = new float[c1 - c0];
            float[] shift = new float[c1 - c0];
            float[] gd = gamma.data();
            float[] bd = beta.data();
            float[] rm = runningMean.data();
            float[] rv = runningVar.data();
            float[] sm = saveMean.data();
            float[] si = saveInvStd.data();
            for (int k = c0; k < c1; k++) {
                int j = k - c0;
                double invStd = 1 / Math.sqrt(var[j] + eps);
                hi[j] = (float) mean[j];
                lo[j] = (float) (mean[j] - hi[j]);
                scale[j] = (float) (gd[gamma.offset() + k] * invStd);
                shift[j] = bd[beta.offset() + k];
                int r = runningMean.offset() + k;
                rm[r] = (float) ((1 - (double) momentum) * rm[r] + momentum * mean[j]);
                r = runningVar.offset() + k;
                rv[r] = (float) ((1 - (double) momentum) * rv[r] + momentum * var[j] * m / (m - 1));
                sm[saveMean.offset() + k] = hi[j];
                si[saveInvStd.offset() + k] = (float) invStd;
            }
            normalise(xd, xo, yd, yo, g, c0, c1, hi, lo, scale, shift, relu);
        }));
        return out;
    }

    /** Inference pass into a new tensor: normalises with the running statistics, which stay unchanged. */
    public static Tensor forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float eps) {
        Objects.requireNonNull(x, "x");
        return forwardInference(x, gamma, beta, runningMean, runningVar, eps, Tensor.zeros(x.shape()));
    }

    /**
     * Inference pass {@code y = γ · (x - runningMean) / sqrt(runningVar + eps) + β} into {@code out}; returns
     * {@code out}.
     */
    public static Tensor forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float eps, Tensor out) {
        return forwardInference(x, gamma, beta, runningMean, runningVar, eps, false, out);
    }

    /** As the inference pass, followed by {@code max(y, 0)} in the same pass when {@code relu}. */
    public static Tensor forwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                          Tensor runningVar, float eps, boolean relu, Tensor out) {
        String op = "batchNormInference";
        Geometry g = geometry(op, x);
        checkChannel(op, "gamma", gamma, x);
        checkChannel(op, "beta", beta, x);
        checkChannel(op, "runningMean", runningMean, x);
        checkChannel(op, "runningVar", runningVar, x);
        checkLike(op, "out", out, x);
        checkEps(op, eps);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        Parallel.forRange(g.c, grain(g), inBlocks(g, (c0, c1) -> {
            float[] hi = new float[c1 - c0];
            float[] lo = new float[c1 - c0];
            float[] scale = new float[c1 - c0];
            float[] shift = new float[c1 - c0];
            for (int k = c0; k < c1; k++) {
                int j = k - c0;
                hi[j] = runningMean.data()[runningMean.offset() + k];
                double var = runningVar.data()[runningVar.offset() + k];
                scale[j] = (float) (gamma.data()[gamma.offset() + k] / Math.sqrt(var + eps));
                shift[j] = beta.data()[beta.offset() + k];
            }
            normalise(xd, xo, yd, yo, g, c0, c1, hi, lo, scale, shift, relu);
        }));
        return out;
    }

    // ---------------------------------------------------------------- backward

    /** Training-mode gradients into new tensors, from a {@link #forwardTraining} pass's {@code mean, invStd}. */
    public static Gradients backward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd) {
        Gradients r = newGradients(x);
        backward(x, dy, gamma, mean, invStd, r.dx(), r.dgamma(), r.dbeta());
        return r;
    }

    /**
     * Training-mode gradients (through the batch statistics), overwriting {@code dx}, {@code dgamma} and
     * {@code dbeta}; {@code mean} and {@code invStd} are the forward pass's saved statistics.
     */
    public static void backward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd,
                                Tensor dx, Tensor dgamma, Tensor dbeta) {
        backward(x, dy, gamma, mean, invStd, null, dx, dgamma, dbeta);
    }

    /**
     * Training-mode gradients of batch norm followed by ReLU, from the fused pass's output {@code reluOutput}
     * (null: no ReLU): {@code dy} counts only where {@code reluOutput > 0}, as ReLU's own backward has it, in the
     * same pass — the same bits as the two backward passes one after the other.
     */
    public static void backward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd, Tensor reluOutput,
                                Tensor dx, Tensor dgamma, Tensor dbeta) {
        String op = "batchNormBackward";
        Geometry g = checkBackward(op, x, dy, gamma, mean, invStd, dx, dgamma, dbeta);
        if (reluOutput != null) {
            checkLike(op, "reluOutput", reluOutput, x);
        }
        float[] mu = mean.toArray();
        float[] inv = invStd.toArray();
        backwardUnchecked(x, dy, reluOutput, gamma, dx, dgamma, dbeta, g, true, mu, inv);
    }

    /** Inference-mode gradients (statistics held constant) into new tensors. */
    public static Gradients backwardInference(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                              Tensor runningVar, float eps) {
        Gradients r = newGradients(x);
        backwardInference(x, dy, gamma, runningMean, runningVar, eps, r.dx(), r.dgamma(), r.dbeta());
        return r;
    }

    /**
     * Inference-mode gradients, overwriting {@code dx = γ · dy / sqrt(runningVar + eps)}, {@code dgamma} and
     * {@code dbeta}.
     */
    public static void backwardInference(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                         Tensor runningVar, float eps, Tensor dx, Tensor dgamma, Tensor dbeta) {
        backwardInference(x, dy, gamma, runningMean, runningVar, eps, null, dx, dgamma, dbeta);
    }

    /** Inference-mode gradients of batch norm followed by ReLU ({@code reluOutput} null: no ReLU). */
    public static void backwardInference(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                         Tensor runningVar, float eps, Tensor reluOutput, Tensor dx, Tensor dgamma,
                                         Tensor dbeta) {
        String op = "batchNormInferenceBackward";
        Geometry g = checkBackward(op, x, dy, gamma, runningMean, runningVar, dx, dgamma, dbeta);
        if (reluOutput != null) {
            checkLike(op, "reluOutput", reluOutput, x);
        }
        checkEps(op, eps);
        float[] mu = runningMean.toArray();
        float[] inv = runningVar.toArray();
        for (int k = 0; k < inv.length; k++) {
            inv[k] = (float) (1 / Math.sqrt((double) inv[k] + eps));
        }
        backwardUnchecked(x, dy, reluOutput, gamma, dx, dgamma, dbeta, g, false, mu, inv);
    }

    // ---------------------------------------------------------------- kernels

    /** {@code x} viewed as {@code [n, c, s]}: s values per (sample, channel) run, contiguous. */
    record Geometry(int n, int c, int s) {
        int run(int i, int k) {
            return (i * c + k) * s;
        }
    }

    /**
     * Mean and biased variance of channels {@code [c0, c1)}, two passes, block sums in double. With more than one
     * value per run, each plane (run) gets its own mean and squared deviations ({@link #planeStats}), combined over
     * the batch in image order ({@link #combine}): the fused primitives gather the same numbers plane by plane in
     * memory order, so their statistics equal these bit for bit.
     */
    static void batchStats(float[] x, int xo, Geometry g, int c0, int c1, double[] mean, double[] var) {
        int cn = c1 - c0;
        if (g.s > 1) {
            double[] planeMean = new double[g.n];
            double[] planeM2 = new double[g.n];
            double[] mv = new double[2];
            for (int j = 0; j < cn; j++) {
                for (int i = 0; i < g.n; i++) {
                    planeStats(x, xo + g.run(i, c0 + j), g.s, planeMean, planeM2, i);
                }
                combine(planeMean, planeM2, 0, 1, g.n, g.s, mv);
                mean[j] = mv[0];
                var[j] = mv[1];
            }
            return;
        }
        double m = g.n;
        rowSums(x, xo, g, c0, cn, mean);
        float[] centre = new float[cn];
        for (int j = 0; j < cn; j++) {
            centre[j] = (float) (mean[j] / m);
        }
        double[] s1 = new double[cn];
        double[] s2 = new double[cn];
        rowDeviationSums(x, xo, g, c0, cn, centre, s1, s2);
        for (int j = 0; j < cn; j++) {
            mean[j] = centre[j] + s1[j] / m;
            var[j] = Math.max(0, (s2[j] - s1[j] * s1[j] / m) / m);
        }
    }

    /**
     * The mean of the {@code s} values from {@code off} into {@code mean[at]}, and the sum of their squared
     * deviations from it into {@code m2[at]}: two passes, the second around the first's mean rounded to float.
     */
    static void planeStats(float[] x, int off, int s, double[] mean, double[] m2, int at) {
        if (s < VL || s > SUM_BLOCK) {
            float centre = (float) (sum(x, off, s) / s);
            mean[at] = 0;
            m2[at] = 0;
            deviationSums(x, off, s, centre, mean, m2, at);
            double s1 = mean[at];
            mean[at] = centre + s1 / s;
            m2[at] = Math.max(0, m2[at] - s1 * s1 / s);
            return;
        }
        // One block of float lanes, the last vector overlapping the one before with its repeated lanes zeroed, so
        // a small plane (121 values in the reference CNN's second block) has no scalar tail.
        int vecEnd = s - s % VL;
        FloatVector keep = FloatVector.fromArray(F, RAMP, s - vecEnd);
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i < vecEnd; i += VL) {
            acc = acc.add(FloatVector.fromArray(F, x, off + i));
        }
        FloatVector last = FloatVector.fromArray(F, x, off + s - VL);
        acc = acc.add(last.mul(keep));
        float centre = (float) ((double) Lanes.sum(acc) / s);
        FloatVector cv = FloatVector.broadcast(F, centre);
        FloatVector v1 = FloatVector.zero(F);
        FloatVector v2 = FloatVector.zero(F);
        for (int i = 0; i < vecEnd; i += VL) {
            FloatVector d = FloatVector.fromArray(F, x, off + i).sub(cv);
            v1 = v1.add(d);
            v2 = d.fma(d, v2);
        }
        FloatVector d = last.sub(cv).mul(keep);
        v1 = v1.add(d);
        v2 = d.fma(d, v2);
        double s1 = Lanes.sum(v1);
        mean[at] = centre + s1 / s;
        m2[at] = Math.max(0, Lanes.sum(v2) - s1 * s1 / s);
    }

    /**
     * Mean and biased variance ({@code mv[0]}, {@code mv[1]}) of {@code count} planes of {@code s} values each,
     * from the planes' means and squared deviations ({@link #planeStats}) at {@code base + i·stride}, summed in
     * that order: the planes' deviations plus {@code s·(planeMean - mean)²} each (Chan et al.'s combination for
     * equal sizes).
     */
    static void combine(double[] planeMean, double[] planeM2, int base, int stride, int count, int s,
                        double[] mv) {
        double mean = 0;
        for (int i = 0; i < count; i++) {
            mean += planeMean[base + i * stride];
        }
        mean /= count;
        double m2 = 0;
        for (int i = 0; i < count; i++) {
            double d = planeMean[base + i * stride] - mean;
            m2 += planeM2[base + i * stride] + s * d * d;
        }
        mv[0] = mean;
        mv[1] = Math.max(0, m2 / ((double) count * s));
    }

    /** {@code y = ((x - hi) - lo) · scale + shift} per channel, for channels {@code [c0, c1)}. */
    private static void normalise(float[] x, int xo, float[] y, int yo, Geometry g, int c0, int c1,
                                  float[] hi, float[] lo, float[] scale, float[] shift, boolean relu) {
        int cn = c1 - c0;
        for (int i = 0; i < g.n; i++) {
            if (g.s == 1) {
                int xb = xo + i * g.c + c0;
                int yb = yo + i * g.c + c0;
                for (int j = 0; j < cn; j++) {
                    float v = ((x[xb + j] - hi[j]) - lo[j]) * scale[j] + shift[j];
                    y[yb + j] = relu ? Math.max(v, 0f) : v;
                }
                continue;
            }
            for (int j = 0; j < cn; j++) {
                int r = g.run(i, c0 + j);
                affine(x, xo + r, y, yo + r, g.s, hi[j], lo[j], scale[j], shift[j], relu);
            }
        }
    }

    private static void backwardUnchecked(Tensor x, Tensor dy, Tensor reluOutput, Tensor gamma, Tensor dx,
                                          Tensor dgamma, Tensor dbeta, Geometry g, boolean training, float[] mu,
                                          float[] inv) {
        float[] xd = x.data();
        float[] gy = dy.data();
        float[] ry = reluOutput == null ? null : reluOutput.data();
        int ryo = reluOutput == null ? 0 : reluOutput.offset();
        float[] gx = dx.data();
        int xo = x.offset();
        int yo = dy.offset();
        int dxo = dx.offset();
        double m = (double) g.n * g.s;
        Parallel.forRange(g.c, grain(g), inBlocks(g, (c0, c1) -> {
            int cn = c1 - c0;
            float[] mus = Arrays.copyOfRange(mu, c0, c1);
            double[] sumDy = new double[cn];
            double[] sumDyDev = new double[cn];
            gradientSums(gy, yo, ry, ryo, xd, xo, g, c0, cn, mus, sumDy, sumDyDev);
            float[] a = new float[cn];
            float[] b = new float[cn];
            float[] c = new float[cn];
            for (int j = 0; j < cn; j++) {
                int k = c0 + j;
                double r = inv[k];
                double ga = gamma.data()[gamma.offset() + k];
                dbeta.data()[dbeta.offset() + k] = (float) sumDy[j];
                dgamma.data()[dgamma.offset() + k] = (float) (sumDyDev[j] * r);
                a[j] = (float) (r * ga);
                if (training) {
                    b[j] = (float) (-r * r * r * ga * sumDyDev[j] / m);
                    c[j] = (float) (-r * ga * sumDy[j] / m);
                }
            }
            gradient(gy, yo, ry, ryo, xd, xo, gx, dxo, g, c0, cn, mus, a, b, c);
        }));
    }

    // ---------------------------------------------------------------- [N, C] rows: loops across channels

    /** {@code s1[j] += Σ_i x[i, c0 + j]}. */
    private static void rowSums(float[] x, int xo, Geometry g, int c0, int cn, double[] s1) {
        for (int i = 0; i < g.n; i++) {
            int b = xo + i * g.c + c0;
            for (int j = 0; j < cn; j++) {
                s1[j] += x[b + j];
            }
        }
    }

    /** {@code s1[j] += Σ_i d}, {@code s2[j] += Σ_i d²} with {@code d = x[i, c0 + j] - centre[j]}. */
    private static void rowDeviationSums(float[] x, int xo, Geometry g, int c0, int cn, float[] centre,
                                         double[] s1, double[] s2) {
        for (int i = 0; i < g.n; i++) {
            int b = xo + i * g.c + c0;
            for (int j = 0; j < cn; j++) {
                float d = x[b + j] - centre[j];
                s1[j] += d;
                s2[j] += d * d;
            }
        }
    }

    /** Per channel {@code Σ dy} and {@code Σ dy · (x - mu)} over channels {@code [c0, c0 + cn)}. */
    private static void gradientSums(float[] dy, int yo, float[] ry, int ryo, float[] x, int xo, Geometry g,
                                     int c0, int cn, float[] mu, double[] s1, double[] s2) {
        for (int i = 0; i < g.n; i++) {
            if (g.s == 1) {
                int b = i * g.c + c0;
                for (int j = 0; j < cn; j++) {
                    float gv = ry == null || ry[ryo + b + j] > 0 ? dy[yo + b + j] : 0f;
                    s1[j] += gv;
                    s2[j] += gv * (x[xo + b + j] - mu[j]);
                }
                continue;
            }
            for (int j = 0; j < cn; j++) {
                int r = g.run(i, c0 + j);
                runGradientSums(dy, yo + r, ry, ryo + r, x, xo + r, g.s, mu[j], s1, s2, j);
            }
        }
    }

    /** {@code dx = a · dy + b · (x - mu) + c} per channel over channels {@code [c0, c0 + cn)}. */
    private static void gradient(float[] dy, int yo, float[] ry, int ryo, float[] x, int xo, float[] dx, int dxo,
                                 Geometry g, int c0, int cn, float[] mu, float[] a, float[] b, float[] c) {
        for (int i = 0; i < g.n; i++) {
            if (g.s == 1) {
                int r = i * g.c + c0;
                for (int j = 0; j < cn; j++) {
                    float gv = ry == null || ry[ryo + r + j] > 0 ? dy[yo + r + j] : 0f;
                    dx[dxo + r + j] = gv * a[j] + ((x[xo + r + j] - mu[j]) * b[j] + c[j]);
                }
                continue;
            }
            for (int j = 0; j < cn; j++) {
                int r = g.run(i, c0 + j);
                runGradient(dy, yo + r, ry, ryo + r, x, xo + r, dx, dxo + r, g.s, mu[j], a[j], b[j], c[j]);
            }
        }
    }

    // ---------------------------------------------------------------- vector loops over one run

    /** Σ x over {@code [off, off + n)}: float lanes per block, blocks in double. */
    static double sum(float[] x, int off, int n) {
        double total = 0;
        int i = 0;
        int vecEnd = n - n % VL;
        while (i < vecEnd) {
            int end = Math.min(vecEnd, i + SUM_BLOCK);
            FloatVector s = FloatVector.zero(F);
            for (; i < end; i += VL) {
                s = s.add(FloatVector.fromArray(F, x, off + i));
            }
            total += Lanes.sum(s);
        }
        for (; i < n; i++) {
            total += x[off + i];
        }
        return total;
    }

    /** {@code s1[at] += Σ d}, {@code s2[at] += Σ d²} with {@code d = x - centre}. */
    static void deviationSums(float[] x, int off, int n, float centre, double[] s1, double[] s2,
                                      int at) {
        double t1 = 0;
        double t2 = 0;
        int i = 0;
        int vecEnd = n - n % VL;
        FloatVector cv = FloatVector.broadcast(F, centre);
        while (i < vecEnd) {
            int end = Math.min(vecEnd, i + SUM_BLOCK);
            FloatVector v1 = FloatVector.zero(F);
            FloatVector v2 = FloatVector.zero(F);
            for (; i < end; i += VL) {
                FloatVector d = FloatVector.fromArray(F, x, off + i).sub(cv);
                v1 = v1.add(d);
                v2 = d.fma(d, v2);
            }
            t1 += Lanes.sum(v1);
            t2 += Lanes.sum(v2);
        }
        for (; i < n; i++) {
            double d = x[off + i] - centre;
            t1 += d;
            t2 += d * d;
        }
        s1[at] += t1;
        s2[at] += t2;
    }

    /** {@code s1[at] += Σ dy}, {@code s2[at] += Σ dy · (x - mu)}. */
    private static void runGradientSums(float[] dy, int yOff, float[] ry, int ryOff, float[] x, int xOff, int n,
                                        float mu, double[] s1, double[] s2, int at) {
        double t1 = 0;
        double t2 = 0;
        int i = 0;
        int vecEnd = n - n % VL;
        FloatVector mv = FloatVector.broadcast(F, mu);
        FloatVector zero = FloatVector.zero(F);
        while (i < vecEnd) {
            int end = Math.min(vecEnd, i + SUM_BLOCK);
            FloatVector v1 = FloatVector.zero(F);
            FloatVector v2 = FloatVector.zero(F);
            for (; i < end; i += VL) {
                FloatVector g = FloatVector.fromArray(F, dy, yOff + i);
                if (ry != null) {
                    g = zero.blend(g, FloatVector.fromArray(F, ry, ryOff + i).compare(VectorOperators.GT, 0f));
                }
                v1 = v1.add(g);
                v2 = g.fma(FloatVector.fromArray(F, x, xOff + i).sub(mv), v2);
            }
            t1 += Lanes.sum(v1);
            t2 += Lanes.sum(v2);
        }
        for (; i < n; i++) {
            double g = ry == null || ry[ryOff + i] > 0 ? dy[yOff + i] : 0f;
            t1 += g;
            t2 += g * (x[xOff + i] - mu);
        }
        s1[at] += t1;
        s2[at] += t2;
    }

    /** {@code y = ((x - hi) - lo) · scale + shift}, then {@code max(y, 0)} when {@code relu}, in one pass. */
    private static void affine(float[] x, int xOff, float[] y, int yOff, int n, float hi, float lo, float scale,
                               float shift, boolean relu) {
        int i = 0;
        int vecEnd = n - n % VL;
        if (vecEnd > 0) {
            FloatVector hv = FloatVector.broadcast(F, hi);
            FloatVector lv = FloatVector.broadcast(F, lo);
            FloatVector sv = FloatVector.broadcast(F, scale);
            FloatVector tv = FloatVector.broadcast(F, shift);
            for (; i < vecEnd; i += VL) {
                FloatVector v = FloatVector.fromArray(F, x, xOff + i).sub(hv).sub(lv).fma(sv, tv);
                (relu ? v.max(0f) : v).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) {
            float v = Math.fma((x[xOff + i] - hi) - lo, scale, shift);
            y[yOff + i] = relu ? Math.max(v, 0f) : v;
        }
    }

    /** {@code dx = a · dy + b · (x - mu) + c}. */
    private static void runGradient(float[] dy, int yOff, float[] ry, int ryOff, float[] x, int xOff, float[] dx,
                                    int dxOff, int n, float mu, float a, float b, float c) {
        int i = 0;
        int vecEnd = n - n % VL;
        if (vecEnd > 0) {
            FloatVector mv = FloatVector.broadcast(F, mu);
            FloatVector av = FloatVector.broadcast(F, a);
            FloatVector bv = FloatVector.broadcast(F, b);
            FloatVector cv = FloatVector.broadcast(F, c);
            FloatVector zero = FloatVector.zero(F);
            for (; i < vecEnd; i += VL) {
                FloatVector d = FloatVector.fromArray(F, x, xOff + i).sub(mv);
                FloatVector g = FloatVector.fromArray(F, dy, yOff + i);
                if (ry != null) {
                    g = zero.blend(g, FloatVector.fromArray(F, ry, ryOff + i).compare(VectorOperators.GT, 0f));
                }
                g.fma(av, d.fma(bv, cv)).intoArray(dx, dxOff + i);
            }
        }
        for (; i < n; i++) {
            float g = ry == null || ry[ryOff + i] > 0 ? dy[yOff + i] : 0f;
            dx[dxOff + i] = Math.fma(g, a, Math.fma(x[xOff + i] - mu, b, c));
        }
    }

    /**
     * {@code task} over a part's channels in blocks of about {@link #BLOCK_VALUES} values, so that each block's
     * passes (statistics then output, or gradient sums then gradient) find its data still in the core's L2 rather
     * than reading a whole part from memory once per pass. Rows ({@code [N, C]}, one value per run) keep the part
     * whole: their loops run across channels.
     */
    private static Parallel.RangeTask inBlocks(Geometry g, Parallel.RangeTask task) {
        if (g.s == 1) {
            return task;
        }
        int step = (int) Math.max(1, BLOCK_VALUES / Math.max(1L, (long) g.n * g.s));
        return (c0, c1) -> {
            for (int k = c0; k < c1; k += step) {
                task.run(k, Math.min(c1, k + step));
            }
        };
    }

    // ---------------------------------------------------------------- validation

    /** Channels per parallel part, so a part holds at least {@link #PARALLEL_WORK} values. */
    static int grain(Geometry g) {
        long perChannel = Math.max(1L, (long) g.n * g.s);
        return (int) Math.max(1, PARALLEL_WORK / perChannel);
    }

    static Geometry geometry(String op, Tensor x) {
        Objects.requireNonNull(x, "x");
        if (x.rank() < 2) {
            throw new IllegalArgumentException(op + ": input " + x.shape()
                    + " must have a channel axis: [N, C], [N, C, L] or [N, C, H, W]");
        }
        int n = x.dim(0);
        int c = x.dim(1);
        return new Geometry(n, c, x.shape().sizeOf(2, x.rank()));
    }

    private static Gradients newGradients(Tensor x) {
        Objects.requireNonNull(x, "x");
        int c = x.rank() >= 2 ? x.dim(1) : 0;
        return new Gradients(Tensor.zeros(x.shape()), Tensor.zeros(c), Tensor.zeros(c));
    }

    private static Geometry checkBackward(String op, Tensor x, Tensor dy, Tensor gamma, Tensor mean,
                                          Tensor invStdOrVar, Tensor dx, Tensor dgamma, Tensor dbeta) {
        Geometry g = geometry(op, x);
        boolean training = op.equals("batchNormBackward");
        checkLike(op, "dy", dy, x);
        checkLike(op, "dx", dx, x);
        checkChannel(op, "gamma", gamma, x);
        checkChannel(op, training ? "mean" : "runningMean", mean, x);
        checkChannel(op, training ? "invStd" : "runningVar", invStdOrVar, x);
        checkChannel(op, "dgamma", dgamma, x);
        checkChannel(op, "dbeta", dbeta, x);
        if (dx.data() == dy.data() && dx.offset() != dy.offset() && overlap(dx, dy)) {
            throw new IllegalArgumentException(op + ": dx " + dx.shape() + " partly overlaps dy " + dy.shape());
        }
        return g;
    }

    static void checkChannel(String op, String name, Tensor t, Tensor x) {
        Objects.requireNonNull(t, name);
        int c = x.dim(1);
        if (t.rank() != 1 || t.dim(0) != c) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be [" + c
                    + "], one per channel of input " + x.shape());
        }
    }

    /** {@code t} must have {@code x}'s shape and either be {@code x} exactly or not overlap it. */
    static void checkLike(String op, String name, Tensor t, Tensor x) {
        Objects.requireNonNull(t, name);
        if (!t.shape().equals(x.shape())) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must match input "
                    + x.shape());
        }
        if (t.data() == x.data() && t.offset() != x.offset() && overlap(t, x)) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " partly overlaps input "
                    + x.shape());
        }
    }

    private static boolean overlap(Tensor a, Tensor b) {
        return a.offset() < b.offset() + b.size() && b.offset() < a.offset() + a.size();
    }

    static void checkEps(String op, float eps) {
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(op + ": eps " + eps + " must be positive and finite");
        }
    }
}
