package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and log-softmax along any axis, and their gradients. With {@code x} seen as {@code [outer, n, inner]}
 * around the axis (see {@link Reductions}), for each {@code (o, i)} and {@code m = max_k x[o, k, i]}:
 * <pre>
 * softmax:      y_k = e^(x_k - m) / Σ_j e^(x_j - m)          dx_k = y_k (dy_k - Σ_j dy_j y_j)
 * logSoftmax:   y_k = x_k - m - log Σ_j e^(x_j - m)          dx_k = dy_k - e^(y_k) Σ_j dy_j
 * </pre>
 * Subtracting the maximum keeps every exponent ≤ 0, so logits of any finite magnitude (1e4, 1e30) are safe.
 * Forward runs {@link FloatVector} loops (the Vector API's EXP) in float with scalar tails; backward accumulates
 * in double. Work is split over the outer index only, so results do not depend on the thread count. A NaN
 * anywhere along the axis makes that whole slice NaN, as does +Inf (Inf - Inf), and a slice that is all -Inf.
 * Output shapes equal input shapes.
 *
 * <pre>{@code
 * Tensor p = Softmax.softmax(logits, -1);            // [N, C], rows sum to 1
 * Tensor q = Softmax.softmax(scores, 1);             // [N, C, H, W], per pixel over channels
 * }</pre>
 *
 * <p>{@code out} may be the same tensor as {@code x}, and {@code dx} the same as {@code y} or {@code dy}; other
 * overlaps are rejected.
 */
public final class Softmax {
    private static final VectorSpecies<Float> SPECIES = Elementwise.SPECIES;

    private Softmax() {
    }

    /** Softmax along {@code axis} (negative counts from the end) in a new tensor. */
    public static Tensor softmax(Tensor x, int axis) {
        Objects.requireNonNull(x, "x");
        return softmax(x, axis, Tensor.zeros(x.shape()));
    }

    /** Softmax along {@code axis} into {@code out}; {@code out} may be {@code x}. Returns {@code out}. */
    public static Tensor softmax(Tensor x, int axis, Tensor out) {
        return forward("softmax", false, x, axis, out);
    }

    /** Log-softmax along {@code axis} in a new tensor. */
    public static Tensor logSoftmax(Tensor x, int axis) {
        Objects.requireNonNull(x, "x");
        return logSoftmax(x, axis, Tensor.zeros(x.shape()));
    }

    /** Log-softmax along {@code axis} into {@code out}; {@code out} may be {@code x}. Returns {@code out}. */
    public static Tensor logSoftmax(Tensor x, int axis, Tensor out) {
        return forward("logSoftmax", true, x, axis, out);
    }

    /** The gradient of softmax from its output {@code y} and upstream {@code dy}, in a new tensor. */
    public static Tensor softmaxBackward(Tensor y, Tensor dy, int axis) {
        Objects.requireNonNull(y, "y");
        return softmaxBackward(y, dy, axis, Tensor.zeros(y.shape()));
    }

    /** {@link #softmaxBackward(Tensor, Tensor, int)} into {@code dx}, which may be {@code y} or {@code dy}. */
    public static Tensor softmaxBackward(Tensor y, Tensor dy, int axis, Tensor dx) {
        return backward("softmaxBackward", false, y, dy, axis, dx);
    }

    /** The gradient of log-softmax from its output {@code y} and upstream {@code dy}, in a new tensor. */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis) {
        Objects.requireNonNull(y, "y");
        return logSoftmaxBackward(y, dy, axis, Tensor.zeros(y.shape()));
    }

    /** {@link #logSoftmaxBackward(Tensor, Tensor, int)} into {@code dx}, which may be {@code y} or {@code dy}. */
    public static Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis, Tensor dx) {
        return backward("logSoftmaxBackward", true, y, dy, axis, dx);
    }

    // ---------------------------------------------------------------- drivers

    private static Tensor forward(String op, boolean log, Tensor x, int axis, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        Reductions.Axis ax = Reductions.axis(op, x.shape(), axis);
        if (!out.shape().equals(x.shape())) {
            throw new IllegalArgumentException(op + ": out " + out.shape() + " must have the shape of x "
                    + x.shape());
        }
        Elementwise.checkAlias(op, "out", out, "x", x);
        float[] xd = x.data();
        float[] od = out.data();
        int xo = x.offset();
        int oo = out.offset();
        forEachSlice(ax, (from, to) -> forwardSlices(log, xd, xo, od, oo, ax.n(), ax.inner(), from, to));
        return out;
    }

    private static Tensor backward(String op, boolean log, Tensor y, Tensor dy, int axis, Tensor dx) {
        Objects.requireNonNull(y, "y");
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(dx, "dx");
        Reductions.Axis ax = Reductions.axis(op, y.shape(), axis);
        if (!dy.shape().equals(y.shape()) || !dx.shape().equals(y.shape())) {
            throw new IllegalArgumentException(op + ": y " + y.shape() + ", dy " + dy.shape() + " and dx "
                    + dx.shape() + " must have the same shape");
        }
        Elementwise.checkAlias(op, "dx", dx, "y", y);
        Elementwise.checkAlias(op, "dx", dx, "dy", dy);
        float[] yd = y.data();
        float[] gd = dy.data();
        float[] dd = dx.data();
        int yo = y.offset();
        int go = dy.offset();
        int dxo = dx.offset();
        forEachSlice(ax, (from, to) -> backwardSlices(log, yd, yo, gd, go, dd, dxo, ax.n(), ax.inner(), from, to));
        return dx;
    }

    /**
     * Runs {@code task} over the outer index: each outer block of {@code n × inner} elements is independent, so
     * the split never changes a result.
     */
    private static void forEachSlice(Reductions.Axis ax, Parallel.RangeTask task) {
        long work = (long) ax.outer() * ax.n() * ax.inner();
        if (work == 0) {
            return;
        }
        if (work < 2L * Elementwise.GRAIN || ax.outer() == 1) {
            task.run(0, ax.outer());
        } else {
            Parallel.forRange(ax.outer(), (int) Math.max(1, Elementwise.GRAIN / ((long) ax.n() * ax.inner())), task);
        }
    }

    // ---------------------------------------------------------------- kernels

    /** Outer blocks {@code [from, to)}: contiguous rows when {@code inner == 1}, else sweeps across columns. */
    private static void forwardSlices(boolean log, float[] x, int xo, float[] y, int yo, int n, int inner,
                                      int from, int to) {
        if (inner == 1) {
            for (int o = from; o < to; o++) {
                forwardRow(log, x, xo + o * n, y, yo + o * n, n);
            }
            return;
        }
        float[] max = new float[inner];
        float[] sum = new float[inner];
        for (int o = from; o < to; o++) {
            int xb = xo + o * n * inner;
            int yb = yo + o * n * inner;
            System.arraycopy(x, xb, max, 0, inner);
            for (int k = 1; k < n; k++) {
                maxInto(max, x, xb + k * inner, inner);
            }
            java.util.Arrays.fill(sum, 0f);
            for (int k = 0; k < n; k++) {
                expShiftedInto(x, xb + k * inner, max, log ? null : y, yb + k * inner, sum, inner);
            }
            for (int i = 0; i < inner; i++) {
                sum[i] = log ? (float) Math.log(sum[i]) : 1f / sum[i];
            }
            for (int k = 0; k < n; k++) {
                int r = k * inner;
                if (log) {
                    Elementwise.subVV(x, xb + r, max, 0, y, yb + r, inner);
                    Elementwise.subVV(y, yb + r, sum, 0, y, yb + r, inner);
                } else {
                    Elementwise.mulVV(y, yb + r, sum, 0, y, yb + r, inner);
                }
            }
        }
    }

    /** {@code max[i] = max(max[i], x[xb + i])}, NaN-propagating like {@link Math#max}. */
    private static void maxInto(float[] max, float[] x, int xb, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, max, i).max(FloatVector.fromArray(SPECIES, x, xb + i)).intoArray(max, i);
        }
        for (; i < n; i++) {
            max[i] = Math.max(max[i], x[xb + i]);
        }
    }

    /** {@code e = exp(x[xb + i] - max[i])}; {@code sum[i] += e}; {@code y[yb + i] = e} unless y is null. */
    private static void expShiftedInto(float[] x, int xb, float[] max, float[] y, int yb, float[] sum, int n) {
        // Scalar Math.exp, not the Vector API's EXP: that gives other last bits once compiled, and runs with the
        // same seed must reproduce exactly.
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[xb + i] - max[i]);
            if (y != null) {
                y[yb + i] = e;
            }
            sum[i] += e;
        }
    }

    /** One contiguous slice: max, then {@code e^(x - max)} and its sum, then scaling. */
    private static void forwardRow(boolean log, float[] x, int xb, float[] y, int yb, int n) {
        int up = SPECIES.loopBound(n);
        int k = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (up > 0) {
            FloatVector mv = FloatVector.fromArray(SPECIES, x, xb);
            for (k = SPECIES.length(); k < up; k += SPECIES.length()) {
                mv = mv.max(FloatVector.fromArray(SPECIES, x, xb + k));
            }
            m = mv.reduceLanes(VectorOperators.MAX);
        }
        for (; k < n; k++) {
            m = Math.max(m, x[xb + k]);
        }
        float s = 0; // scalar Math.exp in a fixed order, for reproducibility (see expShiftedInto)
        for (k = 0; k < n; k++) {
            float e = (float) Math.exp(x[xb + k] - m);
            if (!log) {
                y[yb + k] = e;
            }
            s += e;
        }
        if (log) {
            float ls = (float) Math.log(s);
            Elementwise.addVS(x, xb, -m, y, yb, n);
            Elementwise.addVS(y, yb, -ls, y, yb, n);
        } else {
            Elementwise.mulVS(y, yb, 1f / s, y, yb, n);
        }
    }

    /**
     * softmax: {@code dx = y (dy - Σ dy y)}; log-softmax: {@code dx = dy - e^y Σ dy}. The sums are complete
     * before any {@code dx} is written, so {@code dx} may alias {@code y} or {@code dy}.
     */
    private static void backwardSlices(boolean log, float[] y, int yo, float[] dy, int go, float[] dx, int dxo,
                                       int n, int inner, int from, int to) {
        double[] dot = new double[inner];
        for (int o = from; o < to; o++) {
            int b = o * n * inner;
            java.util.Arrays.fill(dot, 0);
            for (int k = 0; k < n; k++) {
                int r = b + k * inner;
                for (int i = 0; i < inner; i++) {
                    dot[i] += log ? dy[go + r + i] : (double) dy[go + r + i] * y[yo + r + i];
                }
            }
            for (int k = 0; k < n; k++) {
                int r = b + k * inner;
                for (int i = 0; i < inner; i++) {
                    double v = y[yo + r + i];
                    double g = dy[go + r + i];
                    dx[dxo + r + i] = (float) (log ? g - Math.exp(v) * dot[i] : v * (g - dot[i]));
                }
            }
        }
    }
}
