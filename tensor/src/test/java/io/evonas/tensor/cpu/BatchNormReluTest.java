package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Batch norm with ReLU fused into its passes gives the bits of batch norm and then ReLU, both ways. */
class BatchNormReluTest {
    /** Equal shapes and bits, but for the sign of zero. */
    static void assertSameBits(Tensor expected, Tensor actual, String what) {
        assertEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        int[] eb = new int[e.length];
        int[] ab = new int[a.length];
        for (int i = 0; i < e.length; i++) {
            eb[i] = Float.floatToRawIntBits(e[i] == 0 ? 0f : e[i]);
            ab[i] = Float.floatToRawIntBits(a[i] == 0 ? 0f : a[i]);
        }
        assertArrayEquals(eb, ab, what);
    }

    private static void check(int... dims) {
        SplittableRandom rng = new SplittableRandom(dims.length * 31L + dims[1]);
        Tensor x = Tensor.uniform(rng, -2, 2, dims);
        Tensor dy = Tensor.uniform(rng, -1, 1, dims);
        int c = dims[1];
        Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, c);
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, c);
        Tensor rm1 = Tensor.uniform(rng, -0.1f, 0.1f, c);
        Tensor rv1 = Tensor.uniform(rng, 0.9f, 1.1f, c);
        Tensor rm2 = rm1.copy();
        Tensor rv2 = rv1.copy();

        // Batch norm, then ReLU: two passes each way.
        BatchNorm.Training t = BatchNorm.forwardTraining(x, gamma, beta, rm1, rv1, 0.1f, 1e-5f);
        Tensor y = Activation.RELU.forward(t.output());
        Tensor dz = Activation.RELU.backward(null, y, dy);
        BatchNorm.Gradients g = BatchNorm.backward(x, dz, gamma, t.mean(), t.invStd());

        // Fused.
        Tensor fy = Tensor.zeros(x.shape());
        Tensor mean = Tensor.zeros(c);
        Tensor inv = Tensor.zeros(c);
        BatchNorm.forwardTraining(x, gamma, beta, rm2, rv2, 0.1f, 1e-5f, true, fy, mean, inv);
        BatchNorm.Gradients f = new BatchNorm.Gradients(Tensor.zeros(x.shape()), Tensor.zeros(c), Tensor.zeros(c));
        BatchNorm.backward(x, dy, gamma, mean, inv, fy, f.dx(), f.dgamma(), f.dbeta());

        assertSameBits(y, fy, "output");
        assertSameBits(rm1, rm2, "running mean");
        assertSameBits(rv1, rv2, "running var");
        assertSameBits(g.dx(), f.dx(), "dx");
        assertSameBits(g.dgamma(), f.dgamma(), "dgamma");
        assertSameBits(g.dbeta(), f.dbeta(), "dbeta");

        // Inference mode.
        Tensor iy = Activation.RELU.forward(BatchNorm.forwardInference(x, gamma, beta, rm1, rv1, 1e-5f));
        Tensor ify = BatchNorm.forwardInference(x, gamma, beta, rm1, rv1, 1e-5f, true, Tensor.zeros(x.shape()));
        assertSameBits(iy, ify, "inference output");
        BatchNorm.Gradients ig = BatchNorm.backwardInference(x, Activation.RELU.backward(null, iy, dy), gamma, rm1,
                rv1, 1e-5f);
        BatchNorm.Gradients ifg = new BatchNorm.Gradients(Tensor.zeros(x.shape()), Tensor.zeros(c),
                Tensor.zeros(c));
        BatchNorm.backwardInference(x, dy, gamma, rm1, rv1, 1e-5f, ify, ifg.dx(), ifg.dgamma(), ifg.dbeta());
        assertSameBits(ig.dx(), ifg.dx(), "inference dx");
        assertSameBits(ig.dgamma(), ifg.dgamma(), "inference dgamma");
    }

    @Test
    void fusedReluHasTheBitsOfTheTwoOps() {
        check(7, 5);              // [N, C]: one value per run
        check(3, 4, 5, 7);        // runs of 35, not a multiple of the vector width
        check(4, 3, 26, 26);      // conv1's shape, smaller batch
        check(2, 2, 1, 1);
    }
}
