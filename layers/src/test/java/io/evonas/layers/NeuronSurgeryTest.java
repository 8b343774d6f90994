package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Gradients;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NeuronSurgeryTest {
    private final SplittableRandom rng = new SplittableRandom(3);

    private static float[] infer(Layer net, Tensor x) {
        ForwardPass pass = ForwardPass.inference();
        return net.forward(pass.tape().constant(x), pass).value().toArray();
    }

    @Test
    void growingOutputsWithZeroInputsDownstreamKeepsTheFunction() {
        Dense first = Dense.of(4, 5, Activation.TANH, rng);
        BatchNorm norm = new BatchNorm(5, Activation.RELU);
        Dense second = Dense.of(5, 3, Activation.IDENTITY, rng);
        Sequential net = Sequential.of(first, norm, second);
        // Move the running statistics away from their initial values so identity channels matter.
        for (int i = 0; i < 3; i++) {
            ForwardPass train = ForwardPass.training(rng);
            net.forward(train.tape().constant(Tensor.uniform(rng, -1, 1, 8, 4)), train);
        }
        Tensor x = Tensor.uniform(rng, -1, 1, 6, 4);
        float[] before = infer(net, x);

        int[] grow = {0, 1, -1, 2, 3, 4, -1};
        first.resizeOutputs(grow, rng);
        norm.resizeOutputs(grow, rng);
        second.resizeInputs(grow);

        assertEquals(7, first.nout());
        assertEquals(Shape.of(3, 7), second.weight().shape());
        assertArrayEquals(before, infer(net, x), 1e-6f);
    }

    @Test
    void keepingASubsetSlicesTheWeightsExactly() {
        Dense d = Dense.of(3, 4, Activation.IDENTITY, rng);
        float[][] w = new float[4][3];
        for (int o = 0; o < 4; o++) {
            for (int i = 0; i < 3; i++) {
                w[o][i] = d.weight().value().get(o, i);
            }
        }
        d.bias().value().set(7f, 2);
        d.resizeOutputs(new int[] {3, 2}, rng);
        d.resizeInputs(new int[] {2, 0});
        assertEquals(Shape.of(2, 2), d.weight().shape());
        assertArrayEquals(new float[] {w[3][2], w[3][0], w[2][2], w[2][0]}, d.weight().value().toArray());
        assertArrayEquals(new float[] {0, 7}, d.bias().value().toArray());
    }

    @Test
    void newOutputNeuronsAreSmallAndRandom() {
        Dense d = Dense.of(50, 2, Activation.IDENTITY, rng);
        d.resizeOutputs(new int[] {0, 1, -1}, rng);
        float[] w = d.weight().value().toArray();
        double sq = 0;
        int nonZero = 0;
        for (int i = 100; i < 150; i++) {
            sq += w[i] * w[i];
            nonZero += w[i] != 0 ? 1 : 0;
        }
        assertEquals(50, nonZero);
        assertTrue(Math.sqrt(sq / 50) < 3 * Dense.NEW_NEURON_STD, "rms " + Math.sqrt(sq / 50));
    }

    @Test
    void newBatchNormChannelsAreTheIdentity() {
        BatchNorm bn = new BatchNorm(2, Activation.IDENTITY);
        bn.gamma().value().fill(3f);
        bn.runningVar().fill(4f);
        bn.resizeInputs(new int[] {1, -1});
        assertArrayEquals(new float[] {3, 1}, bn.gamma().value().toArray());
        assertArrayEquals(new float[] {0, 0}, bn.beta().value().toArray());
        assertArrayEquals(new float[] {0, 0}, bn.runningMean().toArray());
        assertArrayEquals(new float[] {4, 1}, bn.runningVar().toArray());
    }

    @Test
    void resizingMovesGradientAndOptimiserStateWithTheNeurons() {
        Parameter p = new Parameter("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        p.accumulateGrad(Tensor.of(new float[] {10, 20, 30, 40, 50, 60}, 3, 2));
        p.state("m").copyFrom(Tensor.of(new float[] {.1f, .2f, .3f, .4f, .5f, .6f}, 3, 2));
        p.resizeInPlace(0, new int[] {2, -1, 0}, Fill.constant(9f), rng);
        assertArrayEquals(new float[] {5, 6, 9, 9, 1, 2}, p.value().toArray());
        assertArrayEquals(new float[] {50, 60, 0, 0, 10, 20}, p.grad().toArray());
        assertArrayEquals(new float[] {.5f, .6f, 0, 0, .1f, .2f}, p.state("m").toArray());
        var e = assertThrows(IllegalArgumentException.class,
                () -> p.resizeInPlace(1, new int[] {0, 2}, Fill.ZEROS, rng));
        assertTrue(e.getMessage().contains("index 2") && e.getMessage().contains("[3, 2]"), e.getMessage());
    }

    @Test
    void neuronUtilityIsTheMeanOfActivationTimesGradient() {
        Dense d = Dense.of(3, 2, Activation.IDENTITY, rng).trackUtility(1);
        Tensor x = Tensor.uniform(rng, -1, 1, 4, 3);
        ForwardPass pass = ForwardPass.training(rng);
        Variable y = d.forward(pass.tape().constant(x), pass);
        Tensor seed = Tensor.uniform(rng, -1, 1, 4, 2);
        Gradients g = pass.tape().backward(y, seed);
        pass.accumulateGradients(g);
        float[] a = y.value().toArray();
        float[] s = seed.toArray();
        for (int c = 0; c < 2; c++) {
            double expected = 0;
            for (int n = 0; n < 4; n++) {
                expected += Math.abs(a[n * 2 + c] * s[n * 2 + c]) / 4;
            }
            assertEquals(expected, d.utility().values()[c], 1e-6);
        }
        // The bias gradient is the column sum of the seed.
        assertEquals(s[0] + s[2] + s[4] + s[6], d.bias().grad().get(0), 1e-5);
        d.resizeOutputs(new int[] {1, -1}, rng);
        float[] u = d.utility().values();
        assertEquals(u[0], u[1], 0f);
    }

    @Test
    void shapesAreKnownWithoutComputing() {
        Sequential net = Sequential.of(Pool2D.max(2), new Flatten(), Dense.of(4 * 3 * 3, 10, Activation.RELU, rng));
        assertEquals(Shape.of(5, 10), net.outputShape(Shape.of(5, 4, 6, 7)));
        assertEquals(4 * 3 * 3 * 10 + 10, net.parameterCount());
        var e = assertThrows(IllegalArgumentException.class, () -> net.outputShape(Shape.of(5, 3, 6, 6)));
        assertTrue(e.getMessage().contains("dense") && e.getMessage().contains("[5, 27]"), e.getMessage());
        assertEquals(Shape.of(5, 4), new GlobalPool(Pool2D.Kind.MEAN).outputShape(Shape.of(5, 4, 3, 3)));
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1.0));
    }

    @Test
    void identityInitialisersPreserveTheInput() {
        Dense id = Dense.of(4, 4, Activation.IDENTITY, Initialiser.identity(), rng);
        Tensor x = Tensor.uniform(rng, -1, 1, 3, 4);
        assertArrayEquals(x.toArray(), infer(id, x), 0f);
        // Two paths of a fork, 2 + 2 outputs, concatenated: the identity.
        Tensor w1 = Initialiser.partialIdentity(0).create(Shape.of(2, 4), rng);
        Tensor w2 = Initialiser.partialIdentity(2).create(Shape.of(2, 4), rng);
        assertArrayEquals(new float[] {1, 0, 0, 0, 0, 1, 0, 0}, w1.toArray());
        assertArrayEquals(new float[] {0, 0, 1, 0, 0, 0, 0, 1}, w2.toArray());
        Tensor conv = Initialiser.identity().create(Shape.of(2, 2, 3, 3), rng);
        assertEquals(1f, conv.get(1, 1, 1, 1));
        assertEquals(2f, io.evonas.tensor.cpu.Reductions.sumAll(conv));
    }

    @Test
    void heAndGlorotScales() {
        Tensor he = Initialiser.heNormal().create(Shape.of(200, 100), rng);
        double var = 0;
        for (float v : he.toArray()) {
            var += v * v;
        }
        var /= he.size();
        assertEquals(2.0 / 100, var, 0.002);
        float limit = (float) Math.sqrt(6.0 / (300 * 9 + 100 * 9));
        for (float v : Initialiser.glorotUniform().create(Shape.of(100, 300, 3, 3), rng).toArray()) {
            assertTrue(Math.abs(v) <= limit);
        }
    }
}
