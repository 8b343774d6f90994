package io.evonas.layers.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Elementwise;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What every optimiser promises, checked on each, plus learning rates, chains and argument checks. */
class OptimiserContractTest {
    private static final int N = 21;

    static Stream<Named<Optimiser>> optimisers() {
        return Stream.of(
                Descent.of(0.1),
                Momentum.of(0.1),
                Nesterov.of(0.1, 0.8),
                Adam.of(0.1),
                AdamW.of(0.1, 0.1),
                NAdam.of(0.1),
                AdaGrad.of(0.1),
                RMSProp.of(0.01),
                RMSProp.of(0.01).withCentered(true).withMomentum(0.5),
                WeightDecay.of(0.1),
                WeightDecay.of(0.01).andThen(Momentum.of(0.1)),
                Adam.of(0.1).andThen(Descent.of(0.5))
        ).map(o -> Named.of(o.toString(), o));
    }

    private static float[] pattern(double a, double b, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) Math.sin(a * (i % N) + b);
        }
        return x;
    }

    private static Parameter parameter(int n) {
        return new Parameter("w", Tensor.of(pattern(0.9, 0.3, n), n));
    }

    private static Tensor gradient(int t, int n) {
        return Tensor.of(pattern(1.7, 2.1 * t, n), n);
    }

    private static void steps(Optimiser opt, Parameter p, int n, int count) {
        for (int t = 1; t <= count; t++) {
            p.zeroGrad();
            p.accumulateGrad(gradient(t, n));
            opt.updateInPlace(p);
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol * (1 + Math.abs(expected[i])))) {
                fail(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("optimisers")
    void fusedStepEqualsTransformThenSubtract(Optimiser opt) {
        Parameter fused = parameter(N);
        Parameter split = parameter(N);
        for (int t = 1; t <= 3; t++) {
            Tensor g = gradient(t, N);
            opt.updateInPlace(fused, g);
            Tensor d = g.copy();
            opt.transformInPlace(split, d);
            Elementwise.sub(split.value(), d, split.value());
        }
        assertClose(split.value().toArray(), fused.value().toArray(), 1e-6, "value");
    }

    @ParameterizedTest
    @MethodSource("optimisers")
    void leavesTheGradientAndKeepsStateUnderItsKeys(Optimiser opt) {
        Parameter p = parameter(N);
        Tensor g = gradient(1, N);
        p.accumulateGrad(g);
        float[] before = p.value().toArray();
        opt.updateInPlace(List.of(p));
        assertArrayEquals(g.toArray(), p.grad().toArray(), "gradient");
        assertFalse(Arrays.equals(before, p.value().toArray()), "value did not change");
        assertEquals(opt.stateKeys(), p.stateKeys());
        opt.updateInPlaceAndZeroGrad(List.of(p));
        assertArrayEquals(new float[N], p.grad().toArray(), "gradient after updateInPlaceAndZeroGrad");
    }

    /**
     * Every element's step depends on that element alone: a parameter of 66,000 elements (vector loops, scalar
     * tails, split over the worker pool) repeating a 21-element pattern ends exactly as the 21-element one.
     */
    @ParameterizedTest
    @MethodSource("optimisers")
    void largeParametersStepElementByElement(Optimiser opt) {
        int n = 66_000;
        Parameter small = parameter(N);
        Parameter large = parameter(n);
        steps(opt, small, N, 2);
        steps(opt, large, n, 2);
        float[] s = small.value().toArray();
        float[] l = large.value().toArray();
        for (int i = 0; i < n; i++) {
            if (l[i] != s[i % N]) {
                fail("element " + i + ": " + l[i] + " but " + s[i % N] + " in the small parameter");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("optimisers")
    void readsViewsAtTheirOffsets(Optimiser opt) {
        Parameter plain = parameter(N);
        Tensor backing = Tensor.zeros(3, N);
        Tensor valueView = backing.slice(1, 2).reshape(N).copyFrom(plain.value());
        Parameter viewed = new Parameter("w", valueView);
        Tensor gradBacking = Tensor.zeros(2, N);
        for (int t = 1; t <= 3; t++) {
            Tensor gView = gradBacking.slice(1, 2).reshape(N).copyFrom(gradient(t, N));
            opt.updateInPlace(viewed, gView);
            opt.updateInPlace(plain, gradient(t, N));
        }
        assertArrayEquals(plain.value().toArray(), viewed.value().toArray());
        assertArrayEquals(new float[N], backing.slice(0, 1).toArray(), "row before the view");
        assertArrayEquals(new float[N], backing.slice(2, 3).toArray(), "row after the view");
    }

    @ParameterizedTest
    @MethodSource("optimisers")
    void resetStateIsAFreshStart(Optimiser opt) {
        Parameter used = parameter(N);
        steps(opt, used, N, 2);
        opt.resetStateInPlace(List.of(used));
        Parameter fresh = new Parameter("w", used.value().copy());
        used.zeroGrad();
        used.accumulateGrad(gradient(5, N));
        fresh.accumulateGrad(gradient(5, N));
        opt.updateInPlace(used);
        opt.updateInPlace(fresh);
        assertArrayEquals(fresh.value().toArray(), used.value().toArray());
    }

    @ParameterizedTest
    @MethodSource("optimisers")
    void aLargerLearningRateTakesAProportionallyLargerFirstStep(Optimiser opt) {
        if (!opt.hasLearningRate()) {
            assertThrows(UnsupportedOperationException.class, opt::learningRate);
            assertThrows(UnsupportedOperationException.class, () -> opt.withLearningRate(0.1));
            return;
        }
        double rate = opt.learningRate();
        Optimiser faster = opt.withLearningRate(3 * rate);
        assertEquals(3 * rate, faster.learningRate(), 1e-12 * rate);
        assertEquals(rate, opt.learningRate(), "the original is unchanged");
        assertEquals(opt.getClass(), faster.getClass());
        assertEquals(opt, faster.withLearningRate(rate), "only the rate changed");
        Parameter slow = parameter(N);
        Parameter fast = parameter(N);
        float[] start = slow.value().toArray();
        steps(opt, slow, N, 1);
        steps(faster, fast, N, 1);
        float[] s = slow.value().toArray();
        float[] f = fast.value().toArray();
        for (int i = 0; i < N; i++) {
            double expected = 3.0 * (start[i] - s[i]);
            assertEquals(expected, start[i] - f[i], 1e-6 * (1 + Math.abs(expected)), "step of element " + i);
        }
    }

    @Test
    void learningRatesOfChains() {
        OptimiserChain chain = Optimiser.chain(WeightDecay.of(1e-4), Adam.of(0.01), Descent.of(0.5));
        assertEquals(0.005, chain.learningRate(), 1e-15);
        OptimiserChain changed = chain.withLearningRate(0.02);
        assertEquals(List.of(WeightDecay.of(1e-4), Adam.of(0.04), Descent.of(0.5)), changed.components());
        assertEquals(0.02, changed.learningRate(), 1e-15);
        assertFalse(Optimiser.chain(WeightDecay.of(1e-4)).hasLearningRate());
        assertThrows(IllegalArgumentException.class,
                () -> Optimiser.chain(Adam.of(), Descent.of(0)).withLearningRate(0.1));
        assertEquals(0.0, Optimiser.chain(Adam.of(), Descent.of(0)).withLearningRate(0).learningRate());
    }

    @Test
    void chainsFlattenAndRefuseSharedState() {
        Optimiser nested = WeightDecay.of(0.1).andThen(Momentum.of(0.1)).andThen(Descent.of(0.5));
        assertEquals(List.of(WeightDecay.of(0.1), Momentum.of(0.1), Descent.of(0.5)),
                ((OptimiserChain) nested).components());
        assertEquals(Set.of(Momentum.BUFFER), nested.stateKeys());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Momentum.of(0.1).andThen(Momentum.of(0.2)));
        assertTrue(e.getMessage().contains(Momentum.BUFFER), e.getMessage());
        assertThrows(IllegalArgumentException.class, Optimiser::chain);
    }

    @Test
    void aLambdaIsAnOptimiserAndChains() {
        Optimiser half = (p, d) -> Elementwise.mulScalar(d, 0.5f, d);
        Parameter a = parameter(N);
        Parameter b = parameter(N);
        steps(half.andThen(Momentum.of(0.1)), a, N, 3);
        steps(Momentum.of(0.05), b, N, 3);
        assertClose(b.value().toArray(), a.value().toArray(), 1e-6, "value");
        Parameter c = parameter(N);
        float[] start = c.value().toArray();
        steps(half, c, N, 1);
        float[] g = gradient(1, N).toArray();
        for (int i = 0; i < N; i++) {
            assertEquals(start[i] - 0.5f * g[i], c.value().toArray()[i], 1e-7);
        }
    }

    @Test
    void nonFiniteGradientsPropagateAsInPyTorch() {
        Parameter p = parameter(N);
        Tensor g = gradient(1, N);
        g.set(Float.NaN, 3);
        g.set(Float.POSITIVE_INFINITY, 5);
        p.accumulateGrad(g);
        assertFalse(Optimiser.gradientsFinite(List.of(p)));
        Adam.of().updateInPlace(p);
        assertTrue(Float.isNaN(p.value().get(3)));
        assertTrue(Float.isNaN(p.state(Adam.FIRST_MOMENT).get(3)));
        assertTrue(Float.isFinite(p.value().get(4)), "other elements step normally");
        Parameter q = parameter(40);
        q.accumulateGrad(gradient(1, 40));
        assertTrue(Optimiser.gradientsFinite(List.of(q)));
        q.grad().set(Float.NEGATIVE_INFINITY, 37);
        assertFalse(Optimiser.gradientsFinite(List.of(q)));
    }

    @Test
    void gradientsOfAnotherShapeAreRejected() {
        Parameter p = parameter(N);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Adam.of().updateInPlace(p, Tensor.zeros(N + 1)));
        assertTrue(e.getMessage().contains("Adam") && e.getMessage().contains("[22]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Momentum.of(0.1).updateInPlace(p, p.value()));
    }

    @Test
    void badHyperParametersAreRejectedWithTheirName() {
        record Bad(String message, Executable make) {
        }
        List<Bad> bad = List.of(
                new Bad("Descent: learning rate -0.1", () -> Descent.of(-0.1)),
                new Bad("Descent: learning rate NaN", () -> Descent.of(Double.NaN)),
                new Bad("Descent: learning rate Infinity", () -> Descent.of(Double.POSITIVE_INFINITY)),
                new Bad("Momentum: momentum 1.0", () -> Momentum.of(0.1, 1.0)),
                new Bad("Momentum: momentum -0.5", () -> Momentum.of(0.1, -0.5)),
                new Bad("Nesterov: momentum NaN", () -> Nesterov.of(0.1, Double.NaN)),
                new Bad("Adam: beta1 1.0", () -> new Adam(1e-3, 1.0, 0.999, 1e-8)),
                new Bad("Adam: beta2 -0.1", () -> new Adam(1e-3, 0.9, -0.1, 1e-8)),
                new Bad("Adam: epsilon -1.0E-8", () -> new Adam(1e-3, 0.9, 0.999, -1e-8)),
                new Bad("Adam: learning rate -0.001", () -> Adam.of().withLearningRate(-1e-3)),
                new Bad("AdamW: weight decay -0.01", () -> AdamW.of(1e-3, -0.01)),
                new Bad("NAdam: momentum decay NaN", () -> new NAdam(2e-3, 0.9, 0.999, 1e-8, Double.NaN)),
                new Bad("AdaGrad: epsilon NaN", () -> new AdaGrad(0.01, Double.NaN)),
                new Bad("RMSProp: alpha 1.5", () -> new RMSProp(0.01, 1.5, 1e-8, 0, false)),
                new Bad("RMSProp: momentum 1.0", () -> RMSProp.of().withMomentum(1.0)),
                new Bad("WeightDecay: lambda -1.0", () -> WeightDecay.of(-1)),
                new Bad("OptimiserChain: learning rate NaN",
                        () -> Optimiser.chain(Adam.of()).withLearningRate(Double.NaN)));
        for (Bad b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b.make(), b.message());
            assertTrue(e.getMessage().startsWith(b.message()), "expected '" + b.message() + "...', got '"
                    + e.getMessage() + "'");
        }
    }

    @Test
    void optimisersAreValues() {
        assertEquals(Adam.of(0.01), Adam.of(0.01));
        assertNotEquals(Adam.of(0.01), Adam.of(0.02));
        assertEquals(WeightDecay.of(0.1).andThen(Adam.of()), Optimiser.chain(WeightDecay.of(0.1), Adam.of()));
    }
}
