package io.evonas.layers;

import static io.evonas.layers.TestLayers.assertSameState;
import static io.evonas.layers.TestLayers.bits;
import static io.evonas.layers.TestLayers.infer;
import static io.evonas.layers.TestLayers.snapshot;
import static io.evonas.layers.TestLayers.trainStep;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Layer#copy}: a trained layer's copy has bit-identical state and outputs, keeps step with the original
 * under identical training, and training, resizing or otherwise changing the copy leaves the original
 * bit-identical.
 */
class LayerCopyTest {
    /** A layer and the shape of its input. */
    private record Case(Supplier<Layer> layer, Shape input) {
    }

    static Stream<Arguments> cases() {
        SplittableRandom r = new SplittableRandom(17);
        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("Dense with utility", new Case(() -> Dense.of(4, 3, Activation.TANH, r.split()).trackUtility(2),
                Shape.of(5, 4)));
        cases.put("Dense without utility", new Case(() -> Dense.of(4, 3, Activation.RELU, r.split()),
                Shape.of(5, 4)));
        cases.put("Conv1D", new Case(() -> Conv1D.of(2, 3, ConvSpec.same1d(3, 1, 1), Activation.ELU, r.split())
                .trackUtility(2), Shape.of(2, 2, 6)));
        cases.put("Conv2D", new Case(() -> Conv2D.of(2, 3, ConvSpec.same(3, 3), Activation.RELU, r.split())
                .trackUtility(2), Shape.of(2, 2, 5, 5)));
        cases.put("BatchNorm", new Case(() -> new BatchNorm(3, Activation.RELU), Shape.of(4, 3, 2, 2)));
        cases.put("Pool2D", new Case(() -> Pool2D.max(2), Shape.of(2, 3, 4, 4)));
        cases.put("GlobalPool", new Case(() -> new GlobalPool(Pool2D.Kind.MEAN), Shape.of(2, 3, 4, 4)));
        cases.put("Flatten", new Case(Flatten::new, Shape.of(2, 3, 2, 2)));
        cases.put("Dropout", new Case(() -> new Dropout(0.3), Shape.of(4, 5)));
        cases.put("ActivationLayer", new Case(() -> new ActivationLayer(Activation.SWISH), Shape.of(4, 5)));
        cases.put("Sequential", new Case(() -> Sequential.of(
                Conv2D.of(2, 3, ConvSpec.same(3, 3), Activation.IDENTITY, r.split()).trackUtility(2),
                new BatchNorm(3, Activation.RELU), Pool2D.max(2), new Flatten(), new Dropout(0.2),
                Dense.of(12, 4, Activation.TANH, r.split()).trackUtility(1)), Shape.of(3, 2, 4, 4)));
        return cases.entrySet().stream().map(e -> Arguments.of(Named.of(e.getKey(), e.getValue())));
    }

    /** Trains, resizes, re-activates and overwrites the copy and its children. */
    private static void changeEverything(Layer copy, Shape input) {
        trainStep(copy, input, 99);
        trainStep(copy, input, 98);
        changeInPlace(copy);
    }

    private static void changeInPlace(Layer layer) {
        SplittableRandom r = new SplittableRandom(5);
        if (layer instanceof Resizable z) {
            z.resizeOutputs(new int[] {2, -1, 0, -1}, r);
            z.resizeInputs(new int[] {-1, 1, 0});
        }
        switch (layer) {
            case WeightedLayer w -> {
                w.changeActivationInPlace(Activation.SIGMOID);
                if (w.utility() != null) {
                    w.utility().resize(new int[] {0});
                }
                if (w instanceof Conv2D c) {
                    c.changeKernelSizeInPlace(5, 5);
                }
            }
            case BatchNorm bn -> {
                bn.changeActivationInPlace(Activation.TANH);
                bn.runningMean().fill(3f);
                bn.runningVar().fill(4f);
            }
            case Sequential seq -> seq.layers().forEach(LayerCopyTest::changeInPlace);
            default -> {
            }
        }
        for (Parameter p : layer.parameters()) {
            p.value().fill(7f);
            p.grad().fill(8f);
            for (String k : p.stateKeys()) {
                p.state(k).fill(9f);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void theCopyStartsIdenticalAndChangingItLeavesTheOriginalUnchanged(Case c) {
        Layer original = c.layer().get();
        for (int step = 0; step < 3; step++) {
            trainStep(original, c.input(), step);
        }
        Layer copy = original.copy();
        assertNotSame(original, copy);
        assertEquals(original.getClass(), copy.getClass());
        assertSameState(snapshot(original), snapshot(copy), "fresh copy");

        Tensor x = Tensor.uniform(new SplittableRandom(4), -1, 1, c.input().dims());
        assertTrue(Arrays.equals(bits(infer(original, x)), bits(infer(copy, x))), "inference outputs");
        // One more identical training step: same outputs (dropout masks, batch statistics) and the same state,
        // so counters (utility interval, Adam's step) were copied too.
        float[] yo = trainStep(original, c.input(), 3);
        float[] yc = trainStep(copy, c.input(), 3);
        assertTrue(Arrays.equals(bits(yo), bits(yc)), "training outputs");
        Map<String, int[]> before = snapshot(original);
        assertSameState(before, snapshot(copy), "after an identical step");
        float[] inferBefore = infer(original, x);

        changeEverything(copy, c.input());

        assertSameState(before, snapshot(original), "original after changing the copy");
        assertTrue(Arrays.equals(bits(inferBefore), bits(infer(original, x))), "original's outputs");
    }

    @Test
    void theCopyOfAnUntrackedLayerTracksNothing() {
        Dense d = Dense.of(2, 2, Activation.IDENTITY, new SplittableRandom(1));
        assertNull(d.copy().utility());
        Conv2D c = Conv2D.of(1, 2, ConvSpec.same(3, 3), Activation.RELU, new SplittableRandom(1));
        assertNull(c.copy().utility());
    }

    @Test
    void parameterCopyCopiesGradientAndStateInOrder() {
        Parameter p = new Parameter("w", Tensor.of(new float[] {1, 2}, 2));
        Parameter fresh = p.copy();
        assertTrue(fresh.stateKeys().isEmpty());
        p.accumulateGrad(Tensor.of(new float[] {3, 4}, 2));
        p.state("b").fill(5f);
        p.state("a").fill(6f);
        Parameter q = p.copy();
        assertEquals("w", q.name());
        assertEquals(List.of("b", "a"), new ArrayList<>(q.stateKeys()));
        q.value().fill(0f);
        q.grad().fill(0f);
        q.state("a").fill(0f);
        q.state("c");
        assertEquals(2f, p.value().get(1));
        assertEquals(4f, p.grad().get(1));
        assertEquals(6f, p.state("a").get(0));
        assertEquals(List.of("b", "a"), new ArrayList<>(p.stateKeys()));
        assertNotEquals(p.stateKeys(), q.stateKeys());
    }

    @Test
    void aLayerWithoutCopySaysWhichClass() {
        Layer custom = new Layer() {
            @Override
            public Variable forward(Variable x, ForwardPass pass) {
                return x;
            }

            @Override
            public Shape outputShape(Shape input) {
                return input;
            }

            @Override
            public int nin() {
                return -1;
            }

            @Override
            public int nout() {
                return -1;
            }
        };
        var e = assertThrows(UnsupportedOperationException.class, custom::copy);
        assertTrue(e.getMessage().contains(custom.getClass().getName()) && e.getMessage().contains("copy()"),
                e.getMessage());
    }
}
