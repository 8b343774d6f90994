package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The identity factories that a NAS mutation inserts, and changing an activation in place. */
class IdentityAndActivationTest {
    private final SplittableRandom rng = new SplittableRandom(23);

    private static float[] infer(Layer net, Tensor x) {
        ForwardPass pass = ForwardPass.inference();
        return net.forward(pass.tape().constant(x), pass).value().toArray();
    }

    private static float[] abs(float[] a) {
        float[] b = a.clone();
        for (int i = 0; i < b.length; i++) {
            b[i] = Math.abs(b[i]);
        }
        return b;
    }

    @Test
    void denseIdentityGivesBackItsInput() {
        Tensor x = Tensor.uniform(rng, -1, 1, 5, 6);
        assertArrayEquals(x.toArray(), infer(Dense.identity(6, Activation.IDENTITY), x), 0f);
        Tensor nonNegative = Tensor.of(abs(x.toArray()), 5, 6);
        assertArrayEquals(nonNegative.toArray(), infer(Dense.identity(6, Activation.RELU), nonNegative), 0f);
        assertEquals(Activation.RELU, Dense.identity(6, Activation.RELU).activation());
        assertThrows(IllegalArgumentException.class, () -> Dense.identity(0, Activation.IDENTITY));
    }

    @Test
    void conv2dIdentityGivesBackItsInputForOddKernels() {
        for (int[] k : new int[][] {{1, 1}, {3, 3}, {5, 3}, {1, 7}}) {
            Conv2D id = Conv2D.identity(3, k[0], k[1], Activation.IDENTITY);
            assertEquals(ConvSpec.same(k[0], k[1]), id.spec());
            Tensor x = Tensor.uniform(rng, -1, 1, 2, 3, 6, 5);
            assertArrayEquals(x.toArray(), infer(id, x), 0f, "kernel " + k[0] + "x" + k[1]);
            Tensor nonNegative = Tensor.of(abs(x.toArray()), 2, 3, 6, 5);
            assertArrayEquals(nonNegative.toArray(), infer(Conv2D.identity(3, k[0], k[1], Activation.RELU),
                    nonNegative), 0f);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Conv2D.identity(3, 2, 3, Activation.IDENTITY));
        assertTrue(e.getMessage().contains("2×3") && e.getMessage().contains("odd"), e.getMessage());
    }

    @Test
    void batchNormIdentityGivesBackItsInputInInference() {
        BatchNorm id = BatchNorm.identity(3, Activation.IDENTITY);
        assertArrayEquals(new float[] {1, 1, 1}, id.gamma().value().toArray());
        assertArrayEquals(new float[] {0, 0, 0}, id.beta().value().toArray());
        assertArrayEquals(new float[] {0, 0, 0}, id.runningMean().toArray());
        assertArrayEquals(new float[] {1, 1, 1}, id.runningVar().toArray());
        Tensor x = Tensor.uniform(rng, -1, 1, 4, 3, 2, 2);
        float[] y = infer(id, x);
        float[] expected = x.toArray();
        for (int i = 0; i < y.length; i++) {
            assertEquals(expected[i], y[i], 1e-5 * Math.abs(expected[i]) + 1e-7);
        }
        Tensor nonNegative = Tensor.of(abs(x.toArray()), 4, 3, 2, 2);
        assertArrayEquals(nonNegative.toArray(), infer(BatchNorm.identity(3, Activation.RELU), nonNegative), 1e-5f);
    }

    @Test
    void changingTheActivationKeepsTheParametersAndChangesTheFunction() {
        Dense d = Dense.of(3, 4, Activation.RELU, rng).trackUtility(1);
        Tensor x = Tensor.uniform(rng, -1, 1, 5, 3);
        Dense linear = d.withActivation(Activation.IDENTITY);
        float[] z = infer(linear, x);
        Tensor weight = d.weight().value();
        NeuronUtility utility = d.utility();

        d.changeActivationInPlace(Activation.TANH);

        assertEquals(Activation.TANH, d.activation());
        assertSame(weight, d.weight().value());
        assertSame(utility, d.utility());
        assertArrayEquals(Activation.TANH.forward(Tensor.of(z, 5, 4)).toArray(), infer(d, x), 1e-6f);
        assertEquals("Dense(3 => 4, tanh)", d.toString());
        assertThrows(NullPointerException.class, () -> d.changeActivationInPlace(null));
    }

    @Test
    void changingAConvolutionActivation() {
        Conv2D c = Conv2D.of(2, 3, ConvSpec.same(3, 3), Activation.IDENTITY, rng);
        Conv1D c1 = Conv1D.of(2, 3, ConvSpec.same1d(3, 1, 1), Activation.IDENTITY, rng);
        Tensor x = Tensor.uniform(rng, -1, 1, 2, 2, 4, 4);
        Tensor x1 = Tensor.uniform(rng, -1, 1, 2, 2, 5);
        float[] z = infer(c, x);
        float[] z1 = infer(c1, x1);
        c.changeActivationInPlace(Activation.RELU);
        c1.changeActivationInPlace(Activation.SIGMOID);
        assertArrayEquals(Activation.RELU.forward(Tensor.of(z, 2, 3, 4, 4)).toArray(), infer(c, x), 0f);
        assertArrayEquals(Activation.SIGMOID.forward(Tensor.of(z1, 2, 3, 5)).toArray(), infer(c1, x1), 1e-6f);
    }

    @Test
    void changingABatchNormActivation() {
        BatchNorm bn = new BatchNorm(3, Activation.IDENTITY);
        bn.beta().value().fill(-0.2f);
        Tensor x = Tensor.uniform(rng, -1, 1, 4, 3);
        float[] before = infer(bn, x);
        Tensor gamma = bn.gamma().value();
        bn.changeActivationInPlace(Activation.RELU);
        assertEquals(Activation.RELU, bn.activation());
        assertSame(gamma, bn.gamma().value());
        assertArrayEquals(Activation.RELU.forward(Tensor.of(before, 4, 3)).toArray(), infer(bn, x), 0f);
        assertEquals(Shape.of(4, 3), bn.outputShape(Shape.of(4, 3)));
    }
}
