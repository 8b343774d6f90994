package io.evonas.layers;

import static io.evonas.layers.TestLayers.assertSameState;
import static io.evonas.layers.TestLayers.infer;
import static io.evonas.layers.TestLayers.snapshot;
import static io.evonas.layers.TestLayers.trainStep;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link LazyResizable} against the eager oracle: the same changes applied one by one to a copy of the same trained
 * layer. Where the new output neurons are drawn in the same order (each survives, in insertion order; input
 * changes are applied eagerly before output ones, as force does), every value, gradient, optimiser state,
 * running statistic and utility is bit-identical; otherwise the kept neurons are, and the new ones are checked
 * for their distribution, zero gradient and zero state.
 */
class LazyResizableTest {
    /** One recorded change. */
    private record Change(boolean outputs, int[] indices) {
    }

    private static Change out(int... indices) {
        return new Change(true, indices);
    }

    private static Change in(int... indices) {
        return new Change(false, indices);
    }

    /** A trained layer (gradients, Adam state, utility, running statistics) with 5 outputs and 4 inputs. */
    private record Subject(Supplier<Resizable> layer, Shape input) {
        Resizable trained() {
            Resizable r = layer.get();
            for (int step = 0; step < 3; step++) {
                trainStep(r, input, 40 + step);
            }
            return r;
        }
    }

    private static final Map<String, Subject> SUBJECTS = new LinkedHashMap<>();

    static {
        SUBJECTS.put("Dense", new Subject(() -> Dense.of(4, 5, Activation.TANH, new SplittableRandom(1))
                .trackUtility(1), Shape.of(6, 4)));
        SUBJECTS.put("Conv2D", new Subject(() -> Conv2D.of(4, 5, ConvSpec.same(3, 3), Activation.RELU,
                new SplittableRandom(2)).trackUtility(1), Shape.of(2, 4, 4, 4)));
        SUBJECTS.put("BatchNorm", new Subject(() -> new BatchNorm(5, Activation.IDENTITY), Shape.of(6, 5, 2, 2)));
    }

    /** Chains whose composed result the eager changes reproduce bit for bit. */
    private static final Map<String, List<Change>> EXACT_CHAINS = new LinkedHashMap<>();

    static {
        EXACT_CHAINS.put("keep and reorder", List.of(out(3, 1, 0, 2, 4), out(4, 0, 2), out(1, 2, 0)));
        EXACT_CHAINS.put("insert then remove the inserted", List.of(out(0, 1, -1, 2, 3, 4), out(4, 1, 3, 0, 5)));
        EXACT_CHAINS.put("insert, remove, insert in order", List.of(out(0, -1, 1, 2, 3, 4), out(0, 1, 3, 5),
                out(0, 1, 2, -1, 3, -1)));
        EXACT_CHAINS.put("keep an insert through a reorder of old neurons", List.of(out(-1, 0, 1, 2, 3),
                out(0, 4, 3, 1), out(0, 1, 2, 3, -1)));
        // For BatchNorm, whose inputs are its outputs, these input changes act on the same channel list.
        EXACT_CHAINS.put("inputs then outputs", List.of(in(2, -1, 0, 1), in(0, 1, 3, -1), out(3, -1, 0, 1),
                out(0, 1, 2, 3, -1)));
        EXACT_CHAINS.put("duplicate, shrink to one, regrow", List.of(in(2, 2, -1), in(2, 0), out(1),
                out(0, -1, -1)));
    }

    static Stream<Arguments> exactCases() {
        return SUBJECTS.entrySet().stream().flatMap(s -> EXACT_CHAINS.entrySet().stream().map(c -> Arguments.of(
                Named.of(s.getKey(), s.getValue()), Named.of(c.getKey(), c.getValue()))));
    }

    private static void applyEagerly(Resizable r, Change c, RandomGenerator rng) {
        if (c.outputs()) {
            r.resizeOutputs(c.indices(), rng);
        } else {
            r.resizeInputs(c.indices());
        }
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("exactCases")
    void composedChangesEqualTheEagerOnes(Subject subject, List<Change> chain) {
        Resizable base = subject.trained();
        Resizable eager = base.copy();
        Resizable inner = base.copy();
        LazyResizable lazy = new LazyResizable(inner);
        Tensor value = inner.parameters().getFirst().value();
        Tensor grad = inner.parameters().getFirst().grad();
        RandomGenerator eagerRng = new SplittableRandom(77);
        RandomGenerator lazyRng = new SplittableRandom(77);

        for (Change c : chain) {
            applyEagerly(eager, c, eagerRng);
            applyEagerly(lazy, c, lazyRng);
            assertEquals(eager.nin(), lazy.nin(), "nin after " + c);
            assertEquals(eager.nout(), lazy.nout(), "nout after " + c);
        }
        assertTrue(lazy.hasPending());
        // Nothing was copied while recording.
        assertSame(value, inner.parameters().getFirst().value());
        assertSame(grad, inner.parameters().getFirst().grad());

        lazy.force();

        assertFalse(lazy.hasPending());
        assertNotSame(value, inner.parameters().getFirst().value());
        assertSameState(snapshot(eager), snapshot(inner), "forced vs eager");
        assertSame(inner, lazy.layer());
        // Both keep working the same.
        Shape shape = subject.input().withDim(1, eager.nin());
        assertArrayEquals(trainStep(eager, shape, 5), trainStep(lazy, shape, 5), 0f);
        assertSameState(snapshot(eager), snapshot(inner), "after a step");
    }

    @Test
    void newNeuronsReorderedOrDroppedAreDrawnAtForceTimeFromTheSameDistribution() {
        int nin = 400;
        Dense base = Dense.of(nin, 3, Activation.IDENTITY, new SplittableRandom(3)).trackUtility(1);
        trainStep(base, Shape.of(4, nin), 1);
        trainStep(base, Shape.of(4, nin), 2);
        Dense eager = base.copy();
        Dense inner = base.copy();
        LazyResizable lazy = new LazyResizable(inner);
        // Insert two, then swap them and drop old neuron 1: the eager draws go to the positions in the other order.
        List<Change> chain = List.of(out(0, -1, 1, -1, 2), out(3, 0, 1, 4), out(0, 1, 2, -1, 3));
        RandomGenerator eagerRng = new SplittableRandom(8);
        RandomGenerator lazyRng = new SplittableRandom(8);
        for (Change c : chain) {
            applyEagerly(eager, c, eagerRng);
            applyEagerly(lazy, c, lazyRng);
        }
        lazy.force();
        // Composed: [-1 (second insert), 0, -1 (first insert), -1 (third insert), 2].
        int[] kept = {1, 4};
        int[] inserted = {0, 2, 3};
        assertEquals(5, inner.nout());
        Map<String, int[]> e = snapshot(eager);
        Map<String, int[]> l = snapshot(inner);
        assertEquals(e.keySet(), l.keySet());
        for (Parameter p : List.of(eager.weight(), eager.bias())) {
            Parameter q = p == eager.weight() ? inner.weight() : inner.bias();
            int row = p.size() / 5;
            for (int k : kept) {
                assertRowsEqual(p.value(), q.value(), k, row);
                assertRowsEqual(p.grad(), q.grad(), k, row);
                for (String key : p.stateKeys()) {
                    assertRowsEqual(p.state(key), q.state(key), k, row);
                }
            }
            for (int k : inserted) {
                assertRowZero(q.grad(), k, row);
                for (String key : q.stateKeys()) {
                    assertRowZero(q.state(key), k, row);
                }
            }
        }
        for (int k : inserted) {
            assertEquals(0f, inner.bias().value().get(k));
            double sq = 0;
            for (int i = 0; i < nin; i++) {
                float w = inner.weight().value().get(k, i);
                assertTrue(w != 0f, "new weight " + k + ", " + i);
                sq += (double) w * w;
            }
            double rms = Math.sqrt(sq / nin);
            assertTrue(rms > 0.85 * Dense.NEW_NEURON_STD && rms < 1.15 * Dense.NEW_NEURON_STD, "rms " + rms);
        }
        // The utility followed each change as it was recorded: exact.
        assertArrayEquals(eager.utility().values(), inner.utility().values(), 0f);
    }

    private static void assertRowsEqual(Tensor expected, Tensor actual, int row, int width) {
        float[] a = expected.toArray();
        float[] b = actual.toArray();
        for (int j = 0; j < width; j++) {
            assertEquals(Float.floatToRawIntBits(a[row * width + j]), Float.floatToRawIntBits(b[row * width + j]),
                    "row " + row + ", element " + j);
        }
    }

    private static void assertRowZero(Tensor t, int row, int width) {
        float[] a = t.toArray();
        for (int j = 0; j < width; j++) {
            assertEquals(0f, a[row * width + j], "row " + row + ", element " + j);
        }
    }

    @Test
    void anInvalidIndexIsRejectedAgainstThePendingSizeAndNotRecorded() {
        Dense inner = Dense.of(4, 5, Activation.RELU, new SplittableRandom(4)).trackUtility(1);
        Dense eager = inner.copy();
        LazyResizable lazy = new LazyResizable(inner);
        SplittableRandom rng = new SplittableRandom(1);
        lazy.resizeOutputs(new int[] {4, 2}, rng);
        lazy.resizeInputs(new int[] {3, 1, 0});
        // 3 is a valid old output, but not a valid position of the pending two.
        var e = assertThrows(IllegalArgumentException.class, () -> lazy.resizeOutputs(new int[] {0, 3}, rng));
        assertTrue(e.getMessage().contains("Dense") && e.getMessage().contains("index 3")
                && e.getMessage().contains("[-1, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> lazy.resizeInputs(new int[] {-2}));
        assertTrue(e.getMessage().contains("index -2") && e.getMessage().contains("[-1, 3)"), e.getMessage());
        assertThrows(NullPointerException.class, () -> lazy.resizeOutputs(null, rng));
        assertThrows(NullPointerException.class, () -> lazy.resizeOutputs(new int[] {0}, null));
        assertEquals(2, lazy.nout());
        assertEquals(3, lazy.nin());
        assertEquals(2, inner.utility().values().length);
        assertEquals(5, inner.nout(), "nothing applied yet");

        lazy.force();
        eager.resizeOutputs(new int[] {4, 2}, rng);
        eager.resizeInputs(new int[] {3, 1, 0});
        assertSameState(snapshot(eager), snapshot(inner), "after the rejected changes");
    }

    @Test
    void theCallerMayReuseItsIndexArray() {
        Dense inner = Dense.of(2, 3, Activation.IDENTITY, new SplittableRandom(4));
        float[] w = inner.weight().value().toArray();
        LazyResizable lazy = new LazyResizable(inner);
        int[] idx = {2, 0};
        lazy.resizeOutputs(idx, new SplittableRandom(1));
        idx[0] = 1;
        lazy.force();
        assertArrayEquals(new float[] {w[4], w[5], w[0], w[1]}, inner.weight().value().toArray());
    }

    @Test
    void usingTheLayerForcesButAskingItsSizesDoesNot() {
        SplittableRandom rng = new SplittableRandom(6);
        Dense inner = Dense.of(3, 4, Activation.RELU, rng);
        LazyResizable lazy = new LazyResizable(inner);
        lazy.resizeOutputs(new int[] {0, -1, 1}, rng);
        lazy.resizeInputs(new int[] {0, 2});
        assertEquals(2, lazy.nin());
        assertEquals(3, lazy.nout());
        assertTrue(lazy.hasPending());
        assertTrue(lazy.toString().contains("pending 2 => 3"), lazy.toString());
        assertEquals(3 * 2 + 3, lazy.parameterCount());
        assertFalse(lazy.hasPending());

        lazy.resizeOutputs(new int[] {1}, rng);
        assertEquals(Shape.of(7, 1), lazy.outputShape(Shape.of(7, 2)));
        assertFalse(lazy.hasPending());

        lazy.resizeInputs(new int[] {1, 0});
        assertEquals(2, lazy.parameters().size());
        assertFalse(lazy.hasPending());

        lazy.resizeInputs(new int[] {-1, 1, 0});
        Tensor x = Tensor.uniform(rng, -1, 1, 5, 3);
        float[] y = infer(lazy, x);
        assertFalse(lazy.hasPending());
        assertEquals(5, y.length);

        lazy.resizeOutputs(new int[] {0, 0}, rng);
        assertSame(inner, lazy.layer());
        assertEquals(2, inner.nout());

        lazy.resizeOutputs(new int[] {1, -1}, rng);
        LazyResizable copy = lazy.copy();
        assertFalse(lazy.hasPending());
        assertFalse(copy.hasPending());
        assertNotSame(inner, copy.layer());
        assertArrayEquals(inner.weight().value().toArray(), ((Dense) copy.layer()).weight().value().toArray());
    }

    @Test
    void changesThatKeepEveryNeuronInPlaceCostNothing() {
        SplittableRandom rng = new SplittableRandom(6);
        Dense inner = Dense.of(3, 4, Activation.RELU, rng);
        float[] before = inner.weight().value().toArray();
        Tensor value = inner.weight().value();
        LazyResizable lazy = new LazyResizable(inner);
        lazy.resizeOutputs(new int[] {1, 0, 2, 3}, rng);
        lazy.resizeOutputs(new int[] {1, 0, -1, 2, 3}, rng);
        lazy.resizeOutputs(new int[] {0, 1, 3, 4}, rng);
        lazy.resizeInputs(new int[] {0, 1, 2});
        lazy.force();
        assertSame(value, inner.weight().value());
        assertArrayEquals(before, inner.weight().value().toArray(), 0f);
    }

    @Test
    void batchNormInputAndOutputChangesComposeIntoOneChannelList() {
        BatchNorm eager = new BatchNorm(4, Activation.IDENTITY);
        trainStep(eager, Shape.of(6, 4), 3);
        BatchNorm inner = eager.copy();
        LazyResizable lazy = new LazyResizable(inner);
        assertTrue(lazy.inputsAreOutputs());
        SplittableRandom rng = new SplittableRandom(1);
        int[][] changes = {{3, -1, 1, 0}, {0, 1, 2}, {2, -1, 0, 1}};
        for (int i = 0; i < changes.length; i++) {
            if (i % 2 == 0) {
                eager.resizeOutputs(changes[i], rng);
                lazy.resizeOutputs(changes[i], rng);
            } else {
                eager.resizeInputs(changes[i]);
                lazy.resizeInputs(changes[i]);
            }
            assertEquals(eager.nin(), lazy.nin());
            assertEquals(eager.nout(), lazy.nout());
        }
        lazy.force();
        assertSameState(snapshot(eager), snapshot(inner), "forced vs eager");
    }
}
