package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise arithmetic with NumPy-style broadcasting (see {@link Broadcast}), and the rules that carry
 * gradients back through it.
 *
 * <pre>{@code
 * y = add(a, b)      y[i] = a[i'] + b[i'']     shape(y) = broadcast(shape(a), shape(b))
 * y = sub(a, b)      y[i] = a[i'] - b[i'']
 * y = mul(a, b)      y[i] = a[i'] * b[i'']
 * y = div(a, b)      y[i] = a[i'] / b[i'']     (IEEE: x / 0 is ±Inf or NaN, never an exception)
 *
 * Tensor x = Tensor.zeros(8, 16, 32, 32);                      // [N, C, H, W]
 * Tensor bias = Tensor.zeros(1, 16, 1, 1);                     // [1, C, 1, 1], or [C, 1, 1]
 * Tensor y = Elementwise.add(x, bias);                         // [8, 16, 32, 32]
 * Tensor dBias = Elementwise.sumTo(dy, bias.shape());          // [1, 16, 1, 1]: sum over N, H, W
 * }</pre>
 *
 * <p>Gradients, for an upstream gradient {@code dy} of the broadcast shape; {@code sumTo} sums a gradient over
 * the dimensions an input was broadcast along:
 * <pre>
 * add: da = sumTo(dy, a)          db = sumTo(dy, b)
 * sub: da = sumTo(dy, a)          db = -sumTo(dy, b)
 * mul: da = sumTo(dy * b, a)      db = sumTo(dy * a, b)                 ({@link #mulGradA}, {@link #mulGradB})
 * div: da = sumTo(dy / b, a)      db = -sumTo(dy * a / b / b, b)        ({@link #divGradA}, {@link #divGradB})
 * </pre>
 *
 * <p>Every operation has an allocating form and one that writes into {@code out} (and returns it). {@code out}
 * must have exactly the result shape. Aliasing: {@code out} may be the very same elements as an input of the
 * same size (same array, same offset), so {@code add(x, b, x)} updates {@code x} in place; an output that
 * overlaps an input any other way (a broadcast input, a shifted view) is rejected with an
 * {@link IllegalArgumentException}. {@link #sumTo(Tensor, Shape, Tensor)} never allows {@code out} to overlap the
 * gradient unless no summing is needed.
 *
 * <p>After broadcasting, the loops run over merged dimensions whose innermost stride is 1 or 0, so the same-shape,
 * per-channel ({@code [N, C, H, W]} with {@code [1, C, 1, 1]} or {@code [C, 1, 1]}), per-feature ({@code [N, C]}
 * with {@code [C]}) and scalar cases all run vector-vector or vector-scalar {@link FloatVector} loops with a scalar
 * tail. Results do not depend on how many threads run them.
 */
public final class Elementwise {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per part when a kernel is split over {@link Parallel}; below two parts it stays on the caller. */
    static final int GRAIN = 1 << 15;

    private static final int ADD = 0;
    private static final int SUB = 1;
    private static final int MUL = 2;
    private static final int DIV = 3;
    private static final String[] NAMES = {"add", "sub", "mul", "div"};

    private Elementwise() {
    }

    /** {@code a + b}, broadcast. */
    public static Tensor add(Tensor a, Tensor b) {
        return binary(ADD, a, b, null);
    }

    /** {@code out = a + b}, broadcast; {@code out} may be {@code a} or {@code b} when of the result's size. */
    public static Tensor add(Tensor a, Tensor b, Tensor out) {
        return binary(ADD, a, b, Objects.requireNonNull(out, "out"));
    }

    /** {@code a - b}, broadcast. */
    public static Tensor sub(Tensor a, Tensor b) {
        return binary(SUB, a, b, null);
    }

    /** {@code out = a - b}, broadcast; aliasing as for {@link #add(Tensor, Tensor, Tensor)}. */
    public static Tensor sub(Tensor a, Tensor b, Tensor out) {
        return binary(SUB, a, b, Objects.requireNonNull(out, "out"));
    }

    /** {@code a * b}, broadcast. */
    public static Tensor mul(Tensor a, Tensor b) {
        return binary(MUL, a, b, null);
    }

    /** {@code out = a * b}, broadcast; aliasing as for {@link #add(Tensor, Tensor, Tensor)}. */
    public static Tensor mul(Tensor a, Tensor b, Tensor out) {
        return binary(MUL, a, b, Objects.requireNonNull(out, "out"));
    }

    /** {@code a / b}, broadcast. */
    public static Tensor div(Tensor a, Tensor b) {
        return binary(DIV, a, b, null);
    }

    /** {@code out = a / b}, broadcast; aliasing as for {@link #add(Tensor, Tensor, Tensor)}. */
    public static Tensor div(Tensor a, Tensor b, Tensor out) {
        return binary(DIV, a, b, Objects.requireNonNull(out, "out"));
    }

    /** {@code x + s}. */
    public static Tensor addScalar(Tensor x, float s) {
        return scalar(ADD, "addScalar", x, s, null);
    }

    /** {@code out = x + s}; {@code out} may be {@code x}. */
    public static Tensor addScalar(Tensor x, float s, Tensor out) {
        return scalar(ADD, "addScalar", x, s, Objects.requireNonNull(out, "out"));
    }

    /** {@code x * s}. */
    public static Tensor mulScalar(Tensor x, float s) {
        return scalar(MUL, "mulScalar", x, s, null);
    }

    /** {@code out = x * s}; {@code out} may be {@code x}. */
    public static Tensor mulScalar(Tensor x, float s, Tensor out) {
        return scalar(MUL, "mulScalar", x, s, Objects.requireNonNull(out, "out"));
    }

    /** {@code x / s} (a true division, not a multiplication by {@code 1 / s}). */
    public static Tensor divScalar(Tensor x, float s) {
        return scalar(DIV, "divScalar", x, s, null);
    }

    /** {@code out = x / s}; {@code out} may be {@code x}. */
    public static Tensor divScalar(Tensor x, float s, Tensor out) {
        return scalar(DIV, "divScalar", x, s, Objects.requireNonNull(out, "out"));
    }

    /** {@code -x}. */
    public static Tensor neg(Tensor x) {
        return scalar(MUL, "neg", x, -1f, null);
    }

    /** {@code out = -x}; {@code out} may be {@code x}. */
    public static Tensor neg(Tensor x, Tensor out) {
        return scalar(MUL, "neg", x, -1f, Objects.requireNonNull(out, "out"));
    }

    /**
     * {@code acc += alpha * x} with a fused multiply-add, for accumulating gradients and optimiser steps; shapes
     * must be equal. Returns {@code acc}.
     */
    public static Tensor addScaledInPlace(Tensor acc, float alpha, Tensor x) {
        Objects.requireNonNull(acc, "acc");
        Objects.requireNonNull(x, "x");
        if (!acc.shape().equals(x.shape())) {
            throw new IllegalArgumentException("addScaledInPlace: acc " + acc.shape() + " and x " + x.shape()
                    + " differ in shape");
        }
        checkAlias("addScaledInPlace", "acc", acc, "x", x);
        float[] a = acc.data();
        float[] xd = x.data();
        int ao = acc.offset();
        int xo = x.offset();
        int n = acc.size();
        if (n < 2 * GRAIN) {
            fmaVS(xd, xo, alpha, a, ao, n);
        } else {
            Parallel.forRange(n, GRAIN, (from, to) -> fmaVS(xd, xo + from, alpha, a, ao + from, to - from));
        }
        return acc;
    }

    /**
     * The gradient {@code grad} of a broadcast result summed back to the shape {@code target} of the input that was
     * broadcast: over the leading dimensions {@code target} lacks and over those where it has 1.
     *
     * @throws IllegalArgumentException if {@code target} does not broadcast to {@code grad}'s shape
     */
    public static Tensor sumTo(Tensor grad, Shape target) {
        Objects.requireNonNull(target, "target");
        return sumTo(grad, target, Tensor.zeros(target));
    }

    /** {@link #sumTo(Tensor, Shape)} into {@code out} of shape {@code target}, overwritten. Returns {@code out}. */
    public static Tensor sumTo(Tensor grad, Shape target, Tensor out) {
        Objects.requireNonNull(grad, "grad");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(out, "out");
        if (!Broadcast.broadcastsTo(target, grad.shape())) {
            throw new IllegalArgumentException("sumTo: shape " + target + " does not broadcast to gradient "
                    + grad.shape());
        }
        if (!out.shape().equals(target)) {
            throw new IllegalArgumentException("sumTo: out " + out.shape() + " must have the target shape " + target);
        }
        checkAlias("sumTo", "out", out, "grad", grad);
        if (grad.size() == 0) {
            return out.fill(0f);
        }
        Broadcast.Plan p = Broadcast.plan(grad.shape(), target);
        int[] dims = p.dims();
        int[] st = p.strides()[0];
        int lastReduced = -1;
        int firstReduced = -1;
        for (int g = 0; g < dims.length; g++) {
            if (st[g] == 0 && dims[g] > 1) {
                lastReduced = g;
                firstReduced = firstReduced < 0 ? g : firstReduced;
            }
        }
        if (lastReduced < 0) {
            return out.data() == grad.data() && out.offset() == grad.offset() ? out : out.copyFrom(grad);
        }
        // sum one merged axis at a time, innermost first; the outermost writes into out
        float[] cur = grad.data();
        int curOff = grad.offset();
        int[] d = dims.clone();
        for (int g = lastReduced; g >= firstReduced; g--) {
            if (st[g] != 0 || d[g] == 1) {
                continue;
            }
            int outer = prod(d, 0, g);
            int inner = prod(d, g + 1, d.length);
            float[] dst = g == firstReduced ? out.data() : new float[outer * inner];
            int dstOff = g == firstReduced ? out.offset() : 0;
            Reductions.sumAxis(cur, curOff, outer, d[g], inner, dst, dstOff);
            cur = dst;
            curOff = dstOff;
            d[g] = 1;
        }
        return out;
    }

    /** The gradient of {@code mul(a, b)} with respect to {@code a}: {@code sumTo(dy * b, shape(a))}. */
    public static Tensor mulGradA(Tensor dy, Tensor a, Tensor b) {
        checkGrad("mulGradA", dy, a, b);
        return reduceTo(mul(dy, b), a.shape());
    }

    /** The gradient of {@code mul(a, b)} with respect to {@code b}: {@code sumTo(dy * a, shape(b))}. */
    public static Tensor mulGradB(Tensor dy, Tensor a, Tensor b) {
        checkGrad("mulGradB", dy, a, b);
        return reduceTo(mul(dy, a), b.shape());
    }

    /** The gradient of {@code div(a, b)} with respect to {@code a}: {@code sumTo(dy / b, shape(a))}. */
    public static Tensor divGradA(Tensor dy, Tensor a, Tensor b) {
        checkGrad("divGradA", dy, a, b);
        return reduceTo(div(dy, b), a.shape());
    }

    /**
     * The gradient of {@code div(a, b)} with respect to {@code b}: {@code -sumTo(dy * a / b / b, shape(b))}
     * (dividing twice rather than by {@code b * b}, which overflows for large {@code |b|}).
     */
    public static Tensor divGradB(Tensor dy, Tensor a, Tensor b) {
        checkGrad("divGradB", dy, a, b);
        Tensor t = mul(dy, a);
        div(t, b, t);
        div(t, b, t);
        Tensor r = reduceTo(t, b.shape());
        return mulScalar(r, -1f, r);
    }

    // ---------------------------------------------------------------- checks shared by the kernels of this package

    /**
     * Rejects {@code out} overlapping {@code in} unless both are exactly the same elements (same array, same
     * offset, same size), which elementwise kernels handle.
     */
    static void checkAlias(String op, String outName, Tensor out, String name, Tensor in) {
        if (out.data() != in.data() || out.size() == 0 || in.size() == 0) {
            return;
        }
        int o0 = out.offset();
        int i0 = in.offset();
        if (o0 + out.size() <= i0 || i0 + in.size() <= o0) {
            return;
        }
        if (o0 == i0 && out.size() == in.size()) {
            return;
        }
        throw new IllegalArgumentException(op + ": " + outName + " " + out.shape() + " overlaps " + name + " "
                + in.shape() + " without being the same elements");
    }

    /** Rejects any overlap of {@code out} with {@code in}, for kernels that may read an input after writing. */
    static void checkDisjoint(String op, String outName, Tensor out, String name, Tensor in) {
        if (out.data() != in.data() || out.size() == 0 || in.size() == 0) {
            return;
        }
        int o0 = out.offset();
        int i0 = in.offset();
        if (o0 + out.size() <= i0 || i0 + in.size() <= o0) {
            return;
        }
        throw new IllegalArgumentException(op + ": " + outName + " " + out.shape() + " shares elements with "
                + name + " " + in.shape());
    }

    static int prod(int[] d, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) {
            p *= d[i];
        }
        return p;
    }

    // ---------------------------------------------------------------- drivers

    private static Tensor binary(int op, Tensor a, Tensor b, Tensor out) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        String name = NAMES[op];
        Shape s = Broadcast.shape(name, a.shape(), b.shape());
        if (out == null) {
            out = Tensor.zeros(s);
        } else {
            if (!out.shape().equals(s)) {
                throw new IllegalArgumentException(name + ": out " + out.shape() + " must have shape " + s
                        + ", the broadcast of " + a.shape() + " and " + b.shape());
            }
            checkAlias(name, "out", out, "a", a);
            checkAlias(name, "out", out, "b", b);
        }
        if (s.size() == 0) {
            return out;
        }
        Broadcast.Plan p = Broadcast.plan(s, a.shape(), b.shape());
        float[] ad = a.data();
        float[] bd = b.data();
        float[] od = out.data();
        int ao = a.offset();
        int bo = b.offset();
        int oo = out.offset();
        int inner = p.inner();
        int rows = p.rows();
        if (s.size() < 2 * GRAIN) {
            rows(op, p, ad, ao, bd, bo, od, oo, 0, rows);
        } else if (rows == 1) {
            int sa = p.innerStride(0);
            int sb = p.innerStride(1);
            Parallel.forRange(inner, GRAIN, (from, to) ->
                    row(op, ad, ao + from * sa, sa, bd, bo + from * sb, sb, od, oo + from, to - from));
        } else {
            Parallel.forRange(rows, Math.max(1, GRAIN / inner), (from, to) ->
                    rows(op, p, ad, ao, bd, bo, od, oo, from, to));
        }
        return out;
    }

    private static Tensor scalar(int op, String name, Tensor x, float s, Tensor out) {
        Objects.requireNonNull(x, "x");
        if (out == null) {
            out = Tensor.zeros(x.shape());
        } else {
            if (!out.shape().equals(x.shape())) {
                throw new IllegalArgumentException(name + ": out " + out.shape() + " must have the shape of x "
                        + x.shape());
            }
            checkAlias(name, "out", out, "x", x);
        }
        float[] xd = x.data();
        float[] od = out.data();
        int xo = x.offset();
        int oo = out.offset();
        int n = x.size();
        if (n < 2 * GRAIN) {
            rowVS(op, xd, xo, s, od, oo, n);
        } else {
            Parallel.forRange(n, GRAIN, (from, to) -> rowVS(op, xd, xo + from, s, od, oo + from, to - from));
        }
        return out;
    }

    /** Rows {@code [from, to)} of a plan: an odometer over the outer dimensions, one kernel call per row. */
    private static void rows(int op, Broadcast.Plan p, float[] a, int ao, float[] b, int bo, float[] o, int oo,
                             int from, int to) {
        int[] dims = p.dims();
        int[] sa = p.strides()[0];
        int[] sb = p.strides()[1];
        int last = dims.length - 1;
        int inner = dims[last];
        int[] idx = new int[dims.length];
        int r = from;
        for (int i = last - 1; i >= 0; i--) {
            idx[i] = r % dims[i];
            r /= dims[i];
        }
        int offA = ao + p.rowOffset(0, from);
        int offB = bo + p.rowOffset(1, from);
        int offO = oo + from * inner;
        for (int row = from; row < to; row++) {
            row(op, a, offA, sa[last], b, offB, sb[last], o, offO, inner);
            offO += inner;
            for (int i = last - 1; i >= 0; i--) {
                idx[i]++;
                offA += sa[i];
                offB += sb[i];
                if (idx[i] < dims[i]) {
                    break;
                }
                idx[i] = 0;
                offA -= sa[i] * dims[i];
                offB -= sb[i] * dims[i];
            }
        }
    }

    /** One row of {@code n} outputs; {@code sa}, {@code sb} are 1 (a vector) or 0 (a repeated scalar). */
    private static void row(int op, float[] a, int ao, int sa, float[] b, int bo, int sb, float[] o, int oo, int n) {
        if (sa == 1 && sb == 1) {
            switch (op) {
                case ADD -> addVV(a, ao, b, bo, o, oo, n);
                case SUB -> subVV(a, ao, b, bo, o, oo, n);
                case MUL -> mulVV(a, ao, b, bo, o, oo, n);
                default -> divVV(a, ao, b, bo, o, oo, n);
            }
        } else if (sa == 1) {
            float s = b[bo];
            rowVS(op == SUB ? ADD : op, a, ao, op == SUB ? -s : s, o, oo, n);
        } else if (sb == 1) {
            float s = a[ao];
            switch (op) {
                case ADD -> addVS(b, bo, s, o, oo, n);
                case SUB -> rsubVS(b, bo, s, o, oo, n);
                case MUL -> mulVS(b, bo, s, o, oo, n);
                default -> rdivVS(b, bo, s, o, oo, n);
            }
        } else {
            float x = a[ao];
            float y = b[bo];
            float v = switch (op) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                default -> x / y;
            };
            Arrays.fill(o, oo, oo + n, v);
        }
    }

    private static void rowVS(int op, float[] a, int ao, float s, float[] o, int oo, int n) {
        switch (op) {
            case ADD -> addVS(a, ao, s, o, oo, n);
            case SUB -> addVS(a, ao, -s, o, oo, n);
            case MUL -> mulVS(a, ao, s, o, oo, n);
            default -> divVS(a, ao, s, o, oo, n);
        }
    }

    private static void checkGrad(String op, Tensor dy, Tensor a, Tensor b) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Shape s = Broadcast.shape(op, a.shape(), b.shape());
        if (!dy.shape().equals(s)) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must have shape " + s
                    + ", the broadcast of a " + a.shape() + " and b " + b.shape());
        }
    }

    private static Tensor reduceTo(Tensor t, Shape shape) {
        return t.shape().equals(shape) ? t : sumTo(t, shape);
    }

    // ---------------------------------------------------------------- vector kernels, each with a scalar tail

    static void addVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).add(FloatVector.fromArray(SPECIES, b, bo + i))
                    .intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] + b[bo + i];
        }
    }

    static void subVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).sub(FloatVector.fromArray(SPECIES, b, bo + i))
                    .intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] - b[bo + i];
        }
    }

    static void mulVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).mul(FloatVector.fromArray(SPECIES, b, bo + i))
                    .intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] * b[bo + i];
        }
    }

    static void divVV(float[] a, int ao, float[] b, int bo, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).div(FloatVector.fromArray(SPECIES, b, bo + i))
                    .intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] / b[bo + i];
        }
    }

    /** {@code o = a + s}. */
    static void addVS(float[] a, int ao, float s, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).add(s).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] + s;
        }
    }

    /** {@code o = a * s}. */
    static void mulVS(float[] a, int ao, float s, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).mul(s).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] * s;
        }
    }

    /** {@code o = a / s}. */
    static void divVS(float[] a, int ao, float s, float[] o, int oo, int n) {
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, a, ao + i).div(s).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = a[ao + i] / s;
        }
    }

    /** {@code o = s - b}. */
    static void rsubVS(float[] b, int bo, float s, float[] o, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(SPECIES, s);
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            sv.sub(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = s - b[bo + i];
        }
    }

    /** {@code o = s / b}. */
    static void rdivVS(float[] b, int bo, float s, float[] o, int oo, int n) {
        FloatVector sv = FloatVector.broadcast(SPECIES, s);
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            sv.div(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(o, oo + i);
        }
        for (; i < n; i++) {
            o[oo + i] = s / b[bo + i];
        }
    }

    /** {@code acc = fma(x, s, acc)}. */
    static void fmaVS(float[] x, int xo, float s, float[] acc, int ao, int n) {
        FloatVector sv = FloatVector.broadcast(SPECIES, s);
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, x, xo + i).fma(sv, FloatVector.fromArray(SPECIES, acc, ao + i))
                    .intoArray(acc, ao + i);
        }
        for (; i < n; i++) {
            acc[ao + i] = Math.fma(x[xo + i], s, acc[ao + i]);
        }
    }
}
