package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Conv2DTest {
    private final SplittableRandom rng = new SplittableRandom(9);

    private static float[] infer(Layer net, Tensor x) {
        ForwardPass pass = ForwardPass.inference();
        return net.forward(pass.tape().constant(x), pass).value().toArray();
    }

    @Test
    void growingOutputsWithZeroInputsDownstreamKeepsTheFunction() {
        Conv2D a = Conv2D.of(3, 4, ConvSpec.same(3, 3), Activation.RELU, rng);
        Conv2D b = Conv2D.of(4, 2, ConvSpec.of(3, 3), Activation.IDENTITY, rng);
        Sequential net = Sequential.of(a, b);
        Tensor x = Tensor.uniform(rng, -1, 1, 2, 3, 7, 6);
        float[] before = infer(net, x);
        int[] grow = {-1, 0, 1, 2, -1, 3};
        a.resizeOutputs(grow, rng);
        b.resizeInputs(grow);
        assertEquals(Shape.of(6, 3, 3, 3), a.weight().shape());
        assertArrayEquals(before, infer(net, x), 1e-5f);
    }

    @Test
    void growingTheKernelKeepsTheFunctionAndTheOutputSize() {
        for (ConvSpec spec : new ConvSpec[] {ConvSpec.same(3, 3), ConvSpec.of(3, 3), ConvSpec.same(2, 3),
                ConvSpec.same(3, 3, 1, 1, 2, 2), ConvSpec.of(3, 3, 2, 1)}) {
            for (int[] k : new int[][] {{5, 5}, {4, 3}, {3, 6}, {7, 4}}) {
                Conv2D c = Conv2D.of(2, 3, spec, Activation.IDENTITY, rng);
                Tensor x = Tensor.uniform(rng, -1, 1, 2, 2, 9, 8);
                Shape shape = c.outputShape(x.shape());
                float[] before = infer(c, x);
                if (k[0] < spec.kh() || k[1] < spec.kw()) {
                    continue;
                }
                c.changeKernelSizeInPlace(k[0], k[1]);
                assertEquals(shape, c.outputShape(x.shape()), spec + " -> " + k[0] + "x" + k[1]);
                assertArrayEquals(before, infer(c, x), 1e-5f, spec + " -> " + k[0] + "x" + k[1]);
            }
        }
    }

    @Test
    void shrinkingKeepsTheTapsNearestTheCentre() {
        Conv2D c = Conv2D.of(1, 1, ConvSpec.same(5, 5), Activation.IDENTITY, rng);
        float[] w = c.weight().value().toArray();
        c.changeKernelSizeInPlace(3, 3);
        float[] centre = new float[9];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                centre[i * 3 + j] = w[(i + 1) * 5 + j + 1];
            }
        }
        assertArrayEquals(centre, c.weight().value().toArray());
        assertEquals(ConvSpec.same(3, 3), c.spec());
        // An even kernel keeps its aligned tap: 4 -> 3 drops the last row and column.
        Conv2D even = Conv2D.of(1, 1, ConvSpec.same(4, 4), Activation.IDENTITY, rng);
        float[] w4 = even.weight().value().toArray();
        even.changeKernelSizeInPlace(3, 3);
        assertEquals(w4[0], even.weight().value().get(0, 0, 0, 0));
        assertEquals(w4[2 * 4 + 2], even.weight().value().get(0, 0, 2, 2));
        assertEquals(ConvSpec.same(3, 3), even.spec());
    }

    @Test
    void impossibleKernelChangesAreRefusedUnchanged() {
        Conv2D c = Conv2D.of(1, 2, ConvSpec.of(5, 5), Activation.IDENTITY, rng);
        float[] w = c.weight().value().toArray();
        assertThrows(IllegalArgumentException.class, () -> c.changeKernelSizeInPlace(3, 3));
        assertThrows(IllegalArgumentException.class, () -> c.changeKernelSizeInPlace(0, 3));
        assertArrayEquals(w, c.weight().value().toArray());
        assertEquals(ConvSpec.of(5, 5), c.spec());
    }

    @Test
    void conv1dLayerShapes() {
        Conv1D c = Conv1D.of(3, 5, ConvSpec.same1d(3, 1, 1), Activation.RELU, rng);
        assertEquals(Shape.of(2, 5, 11), c.outputShape(Shape.of(2, 3, 11)));
        assertEquals(2 * 5 * 11, infer(c, Tensor.uniform(rng, -1, 1, 2, 3, 11)).length);
        c.resizeOutputs(new int[] {0, 4}, rng);
        assertEquals(2, c.nout());
        assertEquals(3 * 2 * 3 + 2, c.parameterCount());
    }
}
