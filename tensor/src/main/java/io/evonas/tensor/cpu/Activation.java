package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.List;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise activation functions with their derivatives: the fixed ones in {@link Fixed}, and leaky ReLU with a
 * configurable slope ({@link #leakyRelu(float)}; {@link #LEAKY_RELU} has Flux's 0.01).
 *
 * <pre>
 * IDENTITY     y = x                                      dx = dy
 * RELU         y = max(x, 0)                              dx = dy·[y > 0]
 * LEAKY_RELU   y = x > 0 ? x : a·x     (a ≥ 0)            dx = dy·(y > 0 ? 1 : a)
 * ELU          y = x > 0 ? x : e^x - 1                    dx = dy·(y > 0 ? 1 : y + 1)
 * SELU         y = λ·(x > 0 ? x : α(e^x - 1))             dx = dy·(y > 0 ? λ : y + λα)
 *              λ = 1.0507009873554805, α = 1.6732632423543772
 * TANH         y = tanh(x)                                dx = dy·(1 - y²)
 * SIGMOID      y = 1 / (1 + e^-x)                         dx = dy·y(1 - y)
 * SOFTPLUS     y = max(x, 0) + log(1 + e^-|x|)            dx = dy·sigmoid(x)
 * SWISH        y = x·sigmoid(x)                           dx = dy·s(1 + x(1 - s)),  s = sigmoid(x)
 * </pre>
 *
 * The derivative at a kink (x = 0) is the left-hand one, as PyTorch: λα for SELU (1 for ELU, whose sides agree),
 * 0 for ReLU, a for leaky ReLU.
 * Backward reads the output {@code y} except for SOFTPLUS and SWISH, which read the input {@code x}
 * ({@link #backwardNeedsInput()}); the other argument may be null, so ReLU and friends can run in place.
 *
 * <p>The piecewise-linear kernels and every backward that reads only {@code y} are {@link FloatVector} loops with a
 * scalar tail. The transcendental forwards (ELU, SELU, TANH, SIGMOID, SOFTPLUS, SWISH, and the backwards that
 * recompute a sigmoid) are scalar loops over {@code Math} in double: the Vector API's EXP, EXPM1, LOG1P and TANH
 * give different last bits before and after the JIT compiles them (a Java fallback, then SVML), which would make
 * two runs with the same seed differ; {@code Math}'s functions give the same bits either way. Big tensors are
 * split at vector-aligned boundaries so the results do not depend on the thread count. All are stable for any
 * finite x: sigmoid's {@code e^-x} may overflow to +Inf but then gives exactly 0, softplus never overflows and
 * keeps {@code log1p(e^-|x|)} accurate where it is tiny, tanh saturates to ±1. NaN propagates through forward.
 *
 * <pre>{@code
 * Tensor y = Activation.RELU.forward(x);                        // any shape
 * Tensor dx = Activation.RELU.backward(null, y, dy);            // x not needed for ReLU
 * Activation.leakyRelu(0.2f).forward(x, x);                     // in place
 * }</pre>
 *
 * <p>{@code out} may be the very same tensor as {@code x}, and {@code dx} the same as {@code x}, {@code y} or
 * {@code dy}; partial overlaps are rejected. Tensors of more than 64K elements are split over {@link Parallel}.
 */
public sealed interface Activation permits Activation.Fixed, Activation.LeakyRelu {
    Fixed IDENTITY = Fixed.IDENTITY;
    Fixed RELU = Fixed.RELU;
    /** Leaky ReLU with slope 0.01, as Flux's {@code leakyrelu}. */
    LeakyRelu LEAKY_RELU = new LeakyRelu(0.01f);
    Fixed ELU = Fixed.ELU;
    Fixed SELU = Fixed.SELU;
    Fixed TANH = Fixed.TANH;
    Fixed SIGMOID = Fixed.SIGMOID;
    Fixed SOFTPLUS = Fixed.SOFTPLUS;
    Fixed SWISH = Fixed.SWISH;

    /** Leaky ReLU with the given negative-side slope (finite, ≥ 0). */
    static LeakyRelu leakyRelu(float slope) {
        return new LeakyRelu(slope);
    }

    /** The standard activations, leaky ReLU with its default slope: a default search-space choice. */
    static List<Activation> values() {
        return List.of(IDENTITY, RELU, LEAKY_RELU, ELU, SELU, TANH, SIGMOID, SOFTPLUS, SWISH);
    }

    /** {@code IDENTITY}, {@code RELU}, {@code LEAKY_RELU}, ... (leaky ReLU's slope is {@link LeakyRelu#slope()}). */
    String name();

    /** Whether {@link #backward} reads the input {@code x} (SOFTPLUS, SWISH) rather than the output {@code y}. */
    boolean backwardNeedsInput();

    /** Raw kernel, unchecked: {@code y[yo + i] = f(x[xo + i])} for {@code i < n}. */
    void forwardRange(float[] x, int xo, float[] y, int yo, int n);

    /**
     * Raw kernel, unchecked: {@code dx[i] = f'(·) dy[i]} for {@code n} elements from the given offsets; {@code x}
     * or {@code y} may be null when not needed.
     */
    void backwardRange(float[] x, int xo, float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n);

    /** {@code f(x)} in a new tensor. */
    default Tensor forward(Tensor x) {
        Objects.requireNonNull(x, "x");
        return forward(x, Tensor.zeros(x.shape()));
    }

    /** {@code out = f(x)}; {@code out} may be {@code x}. Returns {@code out}. */
    default Tensor forward(Tensor x, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        String op = opName(name());
        if (!out.shape().equals(x.shape())) {
            throw new IllegalArgumentException(op + ": out " + out.shape() + " must have the shape of x "
                    + x.shape());
        }
        Elementwise.checkAlias(op, "out", out, "x", x);
        float[] xd = x.data();
        float[] od = out.data();
        int xo = x.offset();
        int oo = out.offset();
        int n = x.size();
        if (n < 2 * Elementwise.GRAIN) {
            forwardRange(xd, xo, od, oo, n);
        } else {
            int lanes = Elementwise.SPECIES.length();
            Parallel.forRange(blocks(n), Elementwise.GRAIN / lanes, (b0, b1) -> {
                int from = b0 * lanes;
                forwardRange(xd, xo + from, od, oo + from, Math.min(n, b1 * lanes) - from);
            });
        }
        return out;
    }

    /** The input gradient in a new tensor; see {@link #backward(Tensor, Tensor, Tensor, Tensor)}. */
    default Tensor backward(Tensor x, Tensor y, Tensor dy) {
        Objects.requireNonNull(dy, "dy");
        return backward(x, y, dy, Tensor.zeros(dy.shape()));
    }

    /**
     * {@code dx = f'(x) · dy} from the input {@code x} or the output {@code y} (whichever
     * {@link #backwardNeedsInput()} says; the other may be null). {@code dx} may be any of the others.
     * Returns {@code dx}.
     */
    default Tensor backward(Tensor x, Tensor y, Tensor dy, Tensor dx) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(dx, "dx");
        String op = opName(name()) + "Backward";
        Tensor needed = backwardNeedsInput() ? x : y;
        String neededName = backwardNeedsInput() ? "x" : "y";
        if (needed == null && this != IDENTITY) {
            throw new IllegalArgumentException(op + ": " + neededName + " is needed but null");
        }
        Tensor[] args = {x, y, dy};
        String[] names = {"x", "y", "dy"};
        for (int k = 0; k < args.length; k++) {
            if (args[k] == null) {
                continue;
            }
            if (!args[k].shape().equals(dx.shape())) {
                throw new IllegalArgumentException(op + ": " + names[k] + " " + args[k].shape()
                        + " and dx " + dx.shape() + " differ in shape");
            }
            Elementwise.checkAlias(op, "dx", dx, names[k], args[k]);
        }
        float[] xd = x == null ? null : x.data();
        float[] yd = y == null ? null : y.data();
        float[] gd = dy.data();
        float[] dd = dx.data();
        int xo = x == null ? 0 : x.offset();
        int yo = y == null ? 0 : y.offset();
        int go = dy.offset();
        int dxo = dx.offset();
        int n = dx.size();
        if (n < 2 * Elementwise.GRAIN) {
            backwardRange(xd, xo, yd, yo, gd, go, dd, dxo, n);
        } else {
            int lanes = Elementwise.SPECIES.length();
            Parallel.forRange(blocks(n), Elementwise.GRAIN / lanes, (b0, b1) -> {
                int from = b0 * lanes;
                backwardRange(xd, xo + from, yd, yo + from, gd, go + from, dd, dxo + from,
                        Math.min(n, b1 * lanes) - from);
            });
        }
        return dx;
    }

    /** The activations without parameters. */
    enum Fixed implements Activation {
        IDENTITY, RELU, ELU, SELU, TANH, SIGMOID, SOFTPLUS, SWISH;

        static final float SELU_LAMBDA = 1.0507009873554804934193349852946f;
        static final float SELU_ALPHA = 1.6732632423543772848170429916717f;
        static final float SELU_LAMBDA_ALPHA = (float) (1.0507009873554804934193349852946
                * 1.6732632423543772848170429916717);

        @Override
        public boolean backwardNeedsInput() {
            return this == SOFTPLUS || this == SWISH;
        }

        @Override
        public void forwardRange(float[] x, int xo, float[] y, int yo, int n) {
            switch (this) {
                case IDENTITY -> {
                    if (x != y || xo != yo) {
                        System.arraycopy(x, xo, y, yo, n);
                    }
                }
                case RELU -> relu(x, xo, y, yo, n);
                case ELU -> elu(x, xo, y, yo, n, 1f, 1f);
                case SELU -> elu(x, xo, y, yo, n, SELU_LAMBDA, SELU_ALPHA);
                case TANH -> tanh(x, xo, y, yo, n);
                case SIGMOID -> sigmoid(x, xo, y, yo, n);
                case SOFTPLUS -> softplus(x, xo, y, yo, n);
                case SWISH -> swish(x, xo, y, yo, n);
            }
        }

        @Override
        public void backwardRange(float[] x, int xo, float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo,
                                  int n) {
            switch (this) {
                case IDENTITY -> {
                    if (dy != dx || dyo != dxo) {
                        System.arraycopy(dy, dyo, dx, dxo, n);
                    }
                }
                case RELU -> reluBackward(y, yo, dy, dyo, dx, dxo, n);
                case ELU -> eluBackward(y, yo, dy, dyo, dx, dxo, n, 1f, 1f);
                case SELU -> eluBackward(y, yo, dy, dyo, dx, dxo, n, SELU_LAMBDA, SELU_LAMBDA_ALPHA);
                case TANH -> tanhBackward(y, yo, dy, dyo, dx, dxo, n);
                case SIGMOID -> sigmoidBackward(y, yo, dy, dyo, dx, dxo, n);
                case SOFTPLUS -> softplusBackward(x, xo, dy, dyo, dx, dxo, n);
                case SWISH -> swishBackward(x, xo, dy, dyo, dx, dxo, n);
            }
        }
    }

    /**
     * Leaky ReLU, {@code y = x > 0 ? x : slope·x}, with {@code 0 ≤ slope} (0 is ReLU). Its {@link #name()} is
     * {@code LEAKY_RELU} whatever the slope.
     */
    record LeakyRelu(float slope) implements Activation {
        public LeakyRelu {
            if (!(slope >= 0) || !Float.isFinite(slope)) {
                throw new IllegalArgumentException("leakyRelu: slope " + slope + " must be finite and >= 0");
            }
        }

        @Override
        public String name() {
            return "LEAKY_RELU";
        }

        @Override
        public boolean backwardNeedsInput() {
            return false;
        }

        @Override
        public void forwardRange(float[] x, int xo, float[] y, int yo, int n) {
            leakyRelu(x, xo, y, yo, n, slope);
        }

        @Override
        public void backwardRange(float[] x, int xo, float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo,
                                  int n) {
            leakyReluBackward(y, yo, dy, dyo, dx, dxo, n, slope);
        }
    }

    // ---------------------------------------------------------------- the loops behind the activations

    private static void relu(float[] x, int xo, float[] y, int yo, int n) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector.fromArray(s, x, xo + i).max(0f).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.max(x[xo + i], 0f);
        }
    }

    /** {@code dx = y > 0 ? dy : 0} (exactly 0, even where dy is not finite). */
    private static void reluBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        FloatVector zero = FloatVector.zero(s);
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            VectorMask<Float> pos = FloatVector.fromArray(s, y, yo + i).compare(VectorOperators.GT, 0f);
            zero.blend(FloatVector.fromArray(s, dy, dyo + i), pos).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            dx[dxo + i] = y[yo + i] > 0 ? dy[dyo + i] : 0f;
        }
    }

    private static void leakyRelu(float[] x, int xo, float[] y, int yo, int n, float slope) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, x, xo + i);
            v.blend(v.mul(slope), v.compare(VectorOperators.LT, 0f)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            float v = x[xo + i];
            y[yo + i] = v < 0 ? v * slope : v;
        }
    }

    /** {@code dx = y > 0 ? dy : slope·dy}. */
    private static void leakyReluBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n,
                                          float slope) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector g = FloatVector.fromArray(s, dy, dyo + i);
            VectorMask<Float> pos = FloatVector.fromArray(s, y, yo + i).compare(VectorOperators.GT, 0f);
            g.mul(slope).blend(g, pos).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            float g = dy[dyo + i];
            dx[dxo + i] = y[yo + i] > 0 ? g : g * slope;
        }
    }

    /** {@code y = λ·(x > 0 ? x : α·expm1(x))}. */
    private static void elu(float[] x, int xo, float[] y, int yo, int n, float lambda, float alpha) {
        float la = lambda * alpha;
        for (int i = 0; i < n; i++) {
            float v = x[xo + i];
            y[yo + i] = v > 0 ? v * lambda : (float) Math.expm1(v) * la;
        }
    }

    /** {@code dx = dy·(y > 0 ? λ : y + λα)}. */
    private static void eluBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n,
                                    float lambda, float lambdaAlpha) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, y, yo + i);
            FloatVector d = v.add(lambdaAlpha).blend(lambda, v.compare(VectorOperators.GT, 0f));
            FloatVector.fromArray(s, dy, dyo + i).mul(d).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            float v = y[yo + i];
            dx[dxo + i] = dy[dyo + i] * (v > 0 ? lambda : v + lambdaAlpha);
        }
    }

    private static void tanh(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i < n; i++) {
            y[yo + i] = (float) Math.tanh(x[xo + i]);
        }
    }

    /** {@code dx = dy·(1 - y²)}. */
    private static void tanhBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, y, yo + i);
            FloatVector.fromArray(s, dy, dyo + i).mul(v.mul(v).neg().add(1f)).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            float v = y[yo + i];
            dx[dxo + i] = dy[dyo + i] * (1f - v * v);
        }
    }

    /** {@code 1 / (1 + e^-x)} in double, never forming a huge {@code e^x}: for x < 0 as {@code e^x / (1 + e^x)}. */
    private static double sigmoid(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    private static void sigmoid(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i < n; i++) {
            y[yo + i] = (float) sigmoid((double) x[xo + i]);
        }
    }

    /** {@code dx = dy·y(1 - y)}. */
    private static void sigmoidBackward(float[] y, int yo, float[] dy, int dyo, float[] dx, int dxo, int n) {
        VectorSpecies<Float> s = Elementwise.SPECIES;
        int i = 0;
        for (int up = s.loopBound(n); i < up; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, y, yo + i);
            FloatVector.fromArray(s, dy, dyo + i).mul(v.mul(v.neg().add(1f))).intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            float v = y[yo + i];
            dx[dxo + i] = dy[dyo + i] * (v * (1f - v));
        }
    }

    /** {@code y = max(x, 0) + log1p(e^-|x|)}: no overflow, and accurate where e^x is tiny. */
    private static void softplus(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i < n; i++) {
            double v = x[xo + i];
            y[yo + i] = (float) (Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))));
        }
    }

    /** {@code dx = dy·sigmoid(x)}. */
    private static void softplusBackward(float[] x, int xo, float[] dy, int dyo, float[] dx, int dxo, int n) {
        int i = 0;
        for (; i < n; i++) {
            dx[dxo + i] = (float) (dy[dyo + i] * sigmoid((double) x[xo + i]));
        }
    }

    /** {@code y = x·sigmoid(x)}. */
    private static void swish(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (; i < n; i++) {
            double v = x[xo + i];
            y[yo + i] = (float) (v * sigmoid(v));
        }
    }

    /** {@code dx = dy·s(1 + x(1 - s))}, {@code s = sigmoid(x)}. */
    private static void swishBackward(float[] x, int xo, float[] dy, int dyo, float[] dx, int dxo, int n) {
        int i = 0;
        for (; i < n; i++) {
            double v = x[xo + i];
            double sg = sigmoid(v);
            dx[dxo + i] = (float) (dy[dyo + i] * (sg * (1 + v * (1 - sg))));
        }
    }

    /** {@code LEAKY_RELU} -> {@code leakyRelu}, for error messages. */
    private static String opName(String name) {
        StringBuilder b = new StringBuilder(name.length());
        boolean upper = false;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '_') {
                upper = true;
            } else {
                b.append(upper ? c : Character.toLowerCase(c));
                upper = false;
            }
        }
        return b.toString();
    }

    private static int blocks(int n) {
        int lanes = Elementwise.SPECIES.length();
        return (n + lanes - 1) / lanes;
    }
}
