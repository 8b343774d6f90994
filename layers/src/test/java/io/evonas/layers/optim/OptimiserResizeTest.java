package io.evonas.layers.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.evonas.layers.Fill;
import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.HashMap;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Neuron surgery between steps: the state of kept neurons moves with them unchanged, inserted neurons get zero
 * state, a kept neuron's next step is exactly the step it would have had without the surgery, and an inserted one's
 * is a fresh optimiser's first step.
 */
class OptimiserResizeTest {
    private static final int ROWS = 4;
    private static final int COLS = 5;
    private static final float NEW_VALUE = 0.25f;
    private static final float NEW_GRAD = 0.7f;

    static Stream<Arguments> cases() {
        Optimiser[] opts = {
            Momentum.of(0.1),
            Nesterov.of(0.1),
            Adam.of(0.1),
            AdamW.of(0.1, 0.1),
            NAdam.of(0.1),
            AdaGrad.of(0.1),
            RMSProp.of(0.01).withCentered(true).withMomentum(0.5),
            WeightDecay.of(0.05).andThen(Momentum.of(0.1)),
        };
        return Stream.of(opts).flatMap(o -> Stream.of(0, 1).map(axis ->
                Arguments.of(Named.of(o.toString(), o), axis)));
    }

    /** Old index per new slice along {@code axis}: kept ones reversed, one dropped, one inserted. */
    private static int[] indices(int axis) {
        return axis == 0 ? new int[] {3, 1, -1, 0} : new int[] {4, 2, -1, 1, 0};
    }

    private static Tensor values() {
        float[] v = new float[ROWS * COLS];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (0.4 * Math.sin(1.3 * i + 0.2));
        }
        return Tensor.of(v, ROWS, COLS);
    }

    private static Tensor gradient(int t) {
        float[] g = new float[ROWS * COLS];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) Math.cos(0.7 * i + 1.9 * t);
        }
        return Tensor.of(g, ROWS, COLS);
    }

    private static void step(Optimiser opt, Parameter p, Tensor g) {
        p.zeroGrad();
        p.accumulateGrad(g);
        opt.updateInPlace(p);
    }

    /** The old element of {@code old} that element (r, c) of the resized tensor came from; null if new. */
    private static Float source(Tensor old, int axis, int[] idx, int r, int c) {
        int k = idx[axis == 0 ? r : c];
        if (k < 0) {
            return null;
        }
        return axis == 0 ? old.get(k, c) : old.get(r, k);
    }

    @ParameterizedTest(name = "{0}, axis {1}")
    @MethodSource("cases")
    void stateFollowsNeuronsAndKeptNeuronsStepAsBefore(Optimiser opt, int axis) {
        Parameter p = new Parameter("w", values());
        Parameter twin = new Parameter("w", values());
        for (int t = 1; t <= 2; t++) {
            step(opt, p, gradient(t));
            step(opt, twin, gradient(t));
        }
        Map<String, Tensor> before = new HashMap<>();
        for (String key : opt.stateKeys()) {
            before.put(key, p.state(key).copy());
        }
        int[] idx = indices(axis);
        p.resizeInPlace(axis, idx, Fill.constant(NEW_VALUE), RandomGenerator.of("L64X128MixRandom"));
        int rows = p.shape().dim(0);
        int cols = p.shape().dim(1);
        assertEquals(axis == 0 ? idx.length : ROWS, rows);

        for (String key : opt.stateKeys()) {
            Tensor s = p.state(key);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    Float old = source(before.get(key), axis, idx, r, c);
                    assertEquals(old == null ? 0f : old, s.get(r, c), key + " at (" + r + ", " + c + ")");
                }
            }
        }

        // third step: the resized parameter sees its neurons' gradients, the new ones NEW_GRAD
        Tensor g3 = gradient(3);
        Tensor moved = Tensor.zeros(rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                Float old = source(g3, axis, idx, r, c);
                moved.set(old == null ? NEW_GRAD : old, r, c);
            }
        }
        step(opt, p, moved);
        step(opt, twin, g3);

        Parameter fresh = new Parameter("fresh", Tensor.full(NEW_VALUE, 1));
        step(opt, fresh, Tensor.full(NEW_GRAD, 1));
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                Float old = source(twin.value(), axis, idx, r, c);
                float expected = old == null ? fresh.value().get(0) : old;
                assertEquals(expected, p.value().get(r, c), "value at (" + r + ", " + c + ")");
            }
        }
    }

    @ParameterizedTest(name = "{0}, axis {1}")
    @MethodSource("cases")
    void resizingToTheSameNeuronsChangesNothing(Optimiser opt, int axis) {
        Parameter p = new Parameter("w", values());
        Parameter twin = new Parameter("w", values());
        step(opt, p, gradient(1));
        step(opt, twin, gradient(1));
        int n = axis == 0 ? ROWS : COLS;
        int[] identity = new int[n];
        for (int i = 0; i < n; i++) {
            identity[i] = i;
        }
        p.resizeInPlace(axis, identity, Fill.ZEROS, RandomGenerator.of("L64X128MixRandom"));
        step(opt, p, gradient(2));
        step(opt, twin, gradient(2));
        assertArrayEquals(twin.value().toArray(), p.value().toArray());
    }
}
