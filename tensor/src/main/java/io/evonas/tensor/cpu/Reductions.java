package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sum, mean, max and argmax along one axis, sums over all elements, and their gradients.
 *
 * <p>A tensor of shape {@code [d0, ..., d(r-1)]} is seen, around axis {@code a} (negative counts from the end),
 * as {@code [outer, n, inner]} with {@code n = d_a}. The result drops the axis, or keeps it as 1 with
 * {@code keepDims}:
 * <pre>
 * sum:    y[o, i] = Σ_k x[o, k, i]                 dx[o, k, i] = dy[o, i]
 * mean:   y[o, i] = Σ_k x[o, k, i] / n             dx[o, k, i] = dy[o, i] / n
 * max:    y[o, i] = x[o, k*, i], k* = argmax       dx[o, k, i] = dy[o, i] if k == k*, else 0
 *
 * sum(x [2, 3, 4], axis 1)        -> [2, 4]
 * sum(x [2, 3, 4], -1, true)      -> [2, 3, 1]
 * argmax(logits [N, C], 1)        -> int[N]
 * </pre>
 *
 * <p>The {@code out}/{@code dy} arguments accept either form of the reduced shape. The sum over an empty axis is
 * 0 and its mean NaN; max and argmax of an empty axis are rejected. Max propagates NaN: the first NaN along the
 * axis is the maximum, and argmax is its index (as NumPy); among equal maxima the first wins, and
 * {@link #maxBackward} routes the whole gradient to it. Sums accumulate in float, in an order that depends on the
 * shape only, never on the thread count ({@link #sumAll} accumulates partial sums in double).
 */
public final class Reductions {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int GRAIN = Elementwise.GRAIN;
    /** Elements per partial sum of {@link #sumAll}: fixed, so the result does not depend on the thread count. */
    private static final int CHUNK = 1 << 16;

    private Reductions() {
    }

    /** Σ along {@code axis}; the axis is dropped. */
    public static Tensor sum(Tensor x, int axis) {
        return sum(x, axis, false);
    }

    /** Σ along {@code axis}; the axis is kept as 1 when {@code keepDims}. */
    public static Tensor sum(Tensor x, int axis, boolean keepDims) {
        Objects.requireNonNull(x, "x");
        return sum(x, axis, Tensor.zeros(reduced("sum", x.shape(), axis, keepDims)));
    }

    /** Σ along {@code axis} into {@code out} (reduced shape, axis kept or dropped). Returns {@code out}. */
    public static Tensor sum(Tensor x, int axis, Tensor out) {
        Axis ax = prepare("sum", x, "x", axis, out, "out");
        sumAxis(x.data(), x.offset(), ax.outer, ax.n, ax.inner, out.data(), out.offset());
        return out;
    }

    /** The mean along {@code axis}; the axis is dropped. */
    public static Tensor mean(Tensor x, int axis) {
        return mean(x, axis, false);
    }

    /** The mean along {@code axis}; the axis is kept as 1 when {@code keepDims}. */
    public static Tensor mean(Tensor x, int axis, boolean keepDims) {
        Objects.requireNonNull(x, "x");
        return mean(x, axis, Tensor.zeros(reduced("mean", x.shape(), axis, keepDims)));
    }

    /** The mean along {@code axis} into {@code out}. Returns {@code out}. */
    public static Tensor mean(Tensor x, int axis, Tensor out) {
        Axis ax = prepare("mean", x, "x", axis, out, "out");
        float[] o = out.data();
        int oo = out.offset();
        sumAxis(x.data(), x.offset(), ax.outer, ax.n, ax.inner, o, oo);
        float n = ax.n;
        for (int i = 0; i < out.size(); i++) {
            o[oo + i] /= n;
        }
        return out;
    }

    /** The maximum along {@code axis}; the axis is dropped. */
    public static Tensor max(Tensor x, int axis) {
        return max(x, axis, false);
    }

    /** The maximum along {@code axis}; the axis is kept as 1 when {@code keepDims}. */
    public static Tensor max(Tensor x, int axis, boolean keepDims) {
        Objects.requireNonNull(x, "x");
        return max(x, axis, Tensor.zeros(reduced("max", x.shape(), axis, keepDims)));
    }

    /** The maximum along {@code axis} into {@code out}. Returns {@code out}. */
    public static Tensor max(Tensor x, int axis, Tensor out) {
        Axis ax = prepare("max", x, "x", axis, out, "out");
        requireNonEmpty("max", x, axis, ax);
        argmaxAxis(x.data(), x.offset(), ax, out.data(), out.offset(), null);
        return out;
    }

    /**
     * The index of the maximum along {@code axis}, row-major over the other dimensions: {@code int[N]} for
     * {@code [N, C]} along 1. Ties go to the first index, NaN wins (see the class comment).
     */
    public static int[] argmax(Tensor x, int axis) {
        Objects.requireNonNull(x, "x");
        Shape r = reduced("argmax", x.shape(), axis, false);
        Axis ax = axis("argmax", x.shape(), axis);
        requireNonEmpty("argmax", x, axis, ax);
        int[] idx = new int[r.size()];
        argmaxAxis(x.data(), x.offset(), ax, null, 0, idx);
        return idx;
    }

    /** Σ of all elements (0 for an empty tensor), from double partial sums of fixed-size chunks. */
    public static float sumAll(Tensor x) {
        Objects.requireNonNull(x, "x");
        return (float) sumAllDouble(x.data(), x.offset(), x.size());
    }

    /** The mean of all elements (NaN for an empty tensor). */
    public static float meanAll(Tensor x) {
        Objects.requireNonNull(x, "x");
        return (float) (sumAllDouble(x.data(), x.offset(), x.size()) / x.size());
    }

    /** The gradient of {@link #sum(Tensor, int)}: {@code dy} (reduced shape) repeated along {@code axis}. */
    public static Tensor sumBackward(Tensor dy, Shape inputShape, int axis) {
        Objects.requireNonNull(inputShape, "inputShape");
        return sumBackward(dy, axis, Tensor.zeros(inputShape));
    }

    /** {@link #sumBackward(Tensor, Shape, int)} into {@code dx} of the input's shape. Returns {@code dx}. */
    public static Tensor sumBackward(Tensor dy, int axis, Tensor dx) {
        Axis ax = prepare("sumBackward", dx, "dx", axis, dy, "dy");
        Elementwise.checkDisjoint("sumBackward", "dx", dx, "dy", dy);
        expandAxis(dy.data(), dy.offset(), ax, 1f, dx.data(), dx.offset());
        return dx;
    }

    /** The gradient of {@link #mean(Tensor, int)}: {@code dy / n} repeated along {@code axis}. */
    public static Tensor meanBackward(Tensor dy, Shape inputShape, int axis) {
        Objects.requireNonNull(inputShape, "inputShape");
        return meanBackward(dy, axis, Tensor.zeros(inputShape));
    }

    /** {@link #meanBackward(Tensor, Shape, int)} into {@code dx} of the input's shape. Returns {@code dx}. */
    public static Tensor meanBackward(Tensor dy, int axis, Tensor dx) {
        Axis ax = prepare("meanBackward", dx, "dx", axis, dy, "dy");
        Elementwise.checkDisjoint("meanBackward", "dx", dx, "dy", dy);
        expandAxis(dy.data(), dy.offset(), ax, ax.n, dx.data(), dx.offset());
        return dx;
    }

    /** The gradient of {@link #max(Tensor, int)}: {@code dy} at each argmax of {@code x}, zero elsewhere. */
    public static Tensor maxBackward(Tensor x, Tensor dy, int axis) {
        Objects.requireNonNull(x, "x");
        return maxBackward(x, dy, axis, Tensor.zeros(x.shape()));
    }

    /** {@link #maxBackward(Tensor, Tensor, int)} into {@code dx} of {@code x}'s shape. Returns {@code dx}. */
    public static Tensor maxBackward(Tensor x, Tensor dy, int axis, Tensor dx) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(dx, "dx");
        Axis ax = prepare("maxBackward", x, "x", axis, dy, "dy");
        if (!dx.shape().equals(x.shape())) {
            throw new IllegalArgumentException("maxBackward: dx " + dx.shape() + " must have the shape of x "
                    + x.shape());
        }
        Elementwise.checkDisjoint("maxBackward", "dx", dx, "x", x);
        Elementwise.checkDisjoint("maxBackward", "dx", dx, "dy", dy);
        requireNonEmpty("maxBackward", x, axis, ax);
        int[] idx = new int[ax.outer * ax.inner];
        argmaxAxis(x.data(), x.offset(), ax, null, 0, idx);
        float[] g = dy.data();
        float[] d = dx.data();
        int go = dy.offset();
        int dxo = dx.offset();
        dx.fill(0f);
        for (int o = 0; o < ax.outer; o++) {
            for (int i = 0; i < ax.inner; i++) {
                int r = o * ax.inner + i;
                d[dxo + (o * ax.n + idx[r]) * ax.inner + i] = g[go + r];
            }
        }
        return dx;
    }

    // ---------------------------------------------------------------- shapes and checks

    /** An axis seen as {@code [outer, n, inner]}. */
    record Axis(int axis, int outer, int n, int inner) {
    }

    static Axis axis(String op, Shape s, int axis) {
        int a = axis < 0 ? axis + s.rank() : axis;
        if (a < 0 || a >= s.rank()) {
            throw new IllegalArgumentException(op + ": axis " + axis + " is out of range for shape " + s + " (rank "
                    + s.rank() + ")");
        }
        return new Axis(a, s.sizeOf(0, a), s.dim(a), s.sizeOf(a + 1, s.rank()));
    }

    static Shape reduced(String op, Shape s, int axis, boolean keepDims) {
        int a = axis(op, s, axis).axis;
        if (keepDims) {
            return s.withDim(a, 1);
        }
        int[] d = new int[s.rank() - 1];
        for (int i = 0, j = 0; i < s.rank(); i++) {
            if (i != a) {
                d[j++] = s.dim(i);
            }
        }
        return Shape.of(d);
    }

    /** Checks that {@code r} is {@code full} reduced along {@code axis}, with the axis kept or dropped. */
    private static Axis prepare(String op, Tensor full, String fullRole, int axis, Tensor r, String role) {
        Objects.requireNonNull(full, fullRole);
        Objects.requireNonNull(r, role);
        Axis ax = axis(op, full.shape(), axis);
        Shape kept = reduced(op, full.shape(), axis, true);
        Shape dropped = reduced(op, full.shape(), axis, false);
        if (!r.shape().equals(kept) && !r.shape().equals(dropped)) {
            throw new IllegalArgumentException(op + ": " + role + " " + r.shape() + " must be " + dropped + " or "
                    + kept + " for " + full.shape() + " reduced along axis " + axis);
        }
        if (role.equals("out")) {
            Elementwise.checkDisjoint(op, "out", r, fullRole, full);
        }
        return ax;
    }

    private static void requireNonEmpty(String op, Tensor x, int axis, Axis ax) {
        if (ax.n == 0) {
            throw new IllegalArgumentException(op + ": axis " + axis + " of " + x.shape() + " is empty");
        }
    }

    // ---------------------------------------------------------------- kernels

    /**
     * {@code y[o, i] = Σ_k x[o, k, i]} for {@code x} seen as {@code [outer, n, inner]} from {@code xo}; y is
     * overwritten and must not overlap x. Split over rows, or over columns when there is one row.
     */
    static void sumAxis(float[] x, int xo, int outer, int n, int inner, float[] y, int yo) {
        long work = (long) outer * n * inner;
        if (outer * inner == 0) {
            return;
        }
        if (n == 0) {
            java.util.Arrays.fill(y, yo, yo + outer * inner, 0f);
        } else if (inner == 1 && outer == 1) {
            y[yo] = (float) sumAllDouble(x, xo, n);
        } else if (work < 2L * GRAIN) {
            sumBlock(x, xo, n, inner, 0, outer, 0, inner, y, yo);
        } else if (outer > 1) {
            int grain = (int) Math.max(1, GRAIN / ((long) n * inner));
            Parallel.forRange(outer, grain, (from, to) -> sumBlock(x, xo, n, inner, from, to, 0, inner, y, yo));
        } else {
            Parallel.forRange(inner, Math.max(1, GRAIN / n), (from, to) ->
                    sumBlock(x, xo, n, inner, 0, 1, from, to, y, yo));
        }
    }

    /** Rows {@code [o0, o1)}, columns {@code [i0, i1)} of a sum along the middle axis. */
    private static void sumBlock(float[] x, int xo, int n, int inner, int o0, int o1, int i0, int i1,
                                 float[] y, int yo) {
        for (int o = o0; o < o1; o++) {
            int base = xo + o * n * inner;
            if (inner == 1) {
                y[yo + o] = sumRow(x, base, n);
            } else {
                int w = i1 - i0;
                int yr = yo + o * inner + i0;
                System.arraycopy(x, base + i0, y, yr, w);
                for (int k = 1; k < n; k++) {
                    Elementwise.addVV(y, yr, x, base + k * inner + i0, y, yr, w);
                }
            }
        }
    }

    /** Σ of {@code n} contiguous elements with one float accumulator per vector lane. */
    static float sumRow(float[] x, int from, int n) {
        int i = 0;
        float s = 0f;
        int up = SPECIES.loopBound(n);
        if (up > 0) {
            FloatVector acc = FloatVector.zero(SPECIES);
            for (; i < up; i += SPECIES.length()) {
                acc = acc.add(FloatVector.fromArray(SPECIES, x, from + i));
            }
            s = Lanes.sum(acc);
        }
        for (; i < n; i++) {
            s += x[from + i];
        }
        return s;
    }

    /** Σ in chunks of {@link #CHUNK} elements, the chunks' float sums added in double in order. */
    static double sumAllDouble(float[] x, int from, int n) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        if (chunks <= 1) {
            return sumRow(x, from, n);
        }
        double[] part = new double[chunks];
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                int start = c * CHUNK;
                part[c] = sumRow(x, from + start, Math.min(CHUNK, n - start));
            }
        });
        double s = 0;
        for (double p : part) {
            s += p;
        }
        return s;
    }

    /** Max (into {@code y} if non-null) and argmax (into {@code idx} if non-null) along the middle axis. */
    private static void argmaxAxis(float[] x, int xo, Axis ax, float[] y, int yo, int[] idx) {
        int n = ax.n;
        int inner = ax.inner;
        for (int o = 0; o < ax.outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = xo + o * n * inner + i;
                float m = x[base];
                int am = 0;
                if (m == m) {
                    for (int k = 1; k < n; k++) {
                        float v = x[base + k * inner];
                        if (v > m) {
                            m = v;
                            am = k;
                        } else if (v != v) {
                            m = v;
                            am = k;
                            break;
                        }
                    }
                }
                int r = o * inner + i;
                if (y != null) {
                    y[yo + r] = m;
                }
                if (idx != null) {
                    idx[r] = am;
                }
            }
        }
    }

    /** {@code dx[o, k, i] = dy[o, i] / divisor}. */
    private static void expandAxis(float[] dy, int dyo, Axis ax, float divisor, float[] dx, int dxo) {
        int n = ax.n;
        int inner = ax.inner;
        for (int o = 0; o < ax.outer; o++) {
            int src = dyo + o * inner;
            for (int k = 0; k < n; k++) {
                int dst = dxo + (o * n + k) * inner;
                if (divisor == 1f) {
                    System.arraycopy(dy, src, dx, dst, inner);
                } else {
                    Elementwise.divVS(dy, src, divisor, dx, dst, inner);
                }
            }
        }
    }
}
