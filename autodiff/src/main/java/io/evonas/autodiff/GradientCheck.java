package io.evonas.autodiff;

import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * Checks the gradients that {@link Tape#backward} computes for a function against central finite differences.
 * The function's output {@code y} is contracted with a fixed random tensor {@code r}, so one scalar
 * {@code L = Σ y·r} covers every output element; {@code dL/dx_i ≈ (L(x + ε e_i) - L(x - ε e_i)) / 2ε}, with
 * {@code L} accumulated in double. The kernels run in float32, so ε is larger than a double-only check would use
 * (default 1e-2) and errors are judged relative to the gradient's scale.
 *
 * <pre>{@code
 * GradientCheck.Result r = GradientCheck.check(
 *         in -> Ops.activation(Ops.matmul(in.get(0), false, in.get(1), true), Activation.TANH),
 *         List.of(x, w), new SplittableRandom(1));
 * assert r.maxError() < 1e-2 : r;
 * }</pre>
 *
 * The function must be deterministic: build any random state (dropout generators, running statistics) inside it.
 * The inputs may live on any device with a backend; the function runs there.
 */
public final class GradientCheck {
    /** Default central-difference step for float32 kernels. */
    public static final double DEFAULT_EPS = 1e-2;

    private GradientCheck() {
    }

    /**
     * The worst disagreement: {@code |analytic - numeric| / max(1, max |numeric| of that input)}, with where it
     * happened.
     */
    public record Result(double maxError, int input, int element, double analytic, double numeric) {
        @Override
        public String toString() {
            return String.format("max scaled error %.3g at input %d element %d: analytic %.6g, numeric %.6g",
                    maxError, input, element, analytic, numeric);
        }
    }

    /** Checks every element of every input with the default step. */
    public static Result check(Function<List<Variable>, Variable> f, List<Tensor> inputs, RandomGenerator rng) {
        return check(f, inputs, rng, DEFAULT_EPS);
    }

    /** Checks every element of every input with step {@code eps}. */
    public static Result check(Function<List<Variable>, Variable> f, List<Tensor> inputs, RandomGenerator rng,
                               double eps) {
        Objects.requireNonNull(f, "f");
        Objects.requireNonNull(inputs, "inputs");
        if (!(eps > 0)) {
            throw new IllegalArgumentException("gradient check: step " + eps + " must be positive");
        }
        List<Tensor> xs = new ArrayList<>();
        for (Tensor t : inputs) {
            xs.add(t.copy());
        }
        Tape tape = new Tape();
        List<Variable> leaves = new ArrayList<>();
        for (Tensor x : xs) {
            leaves.add(tape.parameter(x));
        }
        Variable y = f.apply(leaves);
        float[] r = new float[y.value().size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = rng.nextFloat() * 2 - 1;
        }
        Gradients g = tape.backward(y, Tensor.of(r, y.shape().dims()).to(y.value().device()));

        Result worst = new Result(0, -1, -1, 0, 0);
        for (int in = 0; in < xs.size(); in++) {
            float[] analytic = g.of(leaves.get(in)).toArray();
            Tensor x = xs.get(in);
            float[] values = x.toArray();
            double[] numeric = new double[analytic.length];
            double scale = 1;
            for (int e = 0; e < analytic.length; e++) {
                float saved = values[e];
                set(x, e, (float) (saved + eps));
                double plus = contracted(f, xs, r);
                set(x, e, (float) (saved - eps));
                double minus = contracted(f, xs, r);
                set(x, e, saved);
                numeric[e] = (plus - minus) / (2 * eps);
                scale = Math.max(scale, Math.abs(numeric[e]));
            }
            for (int e = 0; e < analytic.length; e++) {
                double err = Math.abs(analytic[e] - numeric[e]) / scale;
                if (Double.isNaN(err)) {
                    err = Double.POSITIVE_INFINITY;
                }
                if (err > worst.maxError() || worst.input() < 0) {
                    worst = new Result(err, in, e, analytic[e], numeric[e]);
                }
            }
        }
        return worst;
    }

    /** Sets element {@code e} (row-major) of {@code x}, on whatever device it lives. */
    private static void set(Tensor x, int e, float value) {
        x.storage().copyFromHost(new float[] {value}, 0, x.offset() + e, 1);
    }

    private static double contracted(Function<List<Variable>, Variable> f, List<Tensor> xs, float[] r) {
        Tape tape = new Tape();
        List<Variable> leaves = new ArrayList<>();
        for (Tensor x : xs) {
            leaves.add(tape.constant(x));
        }
        float[] y = f.apply(leaves).value().toArray();
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            sum += (double) y[i] * r[i];
        }
        return sum;
    }
}
