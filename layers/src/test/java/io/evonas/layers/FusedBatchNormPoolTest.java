package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A {@link Sequential} runs batch norm with ReLU followed by a 2×2 max pool as one primitive: one op on the tape
 * instead of two, and the output, gradients and running statistics of the two layers run one after the other.
 */
class FusedBatchNormPoolTest {
    private static Sequential net(SplittableRandom rng, Activation bnActivation, Pool2D pool) {
        return Sequential.of(
                Conv2D.of(2, 4, ConvSpec.of(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(4, bnActivation),
                pool,
                new Flatten(),
                Dense.of(4 * 3 * 4, 3, Activation.IDENTITY, rng));
    }

    /** The layers one by one, so nothing is fused. */
    static Variable unfused(Sequential s, Variable x, ForwardPass pass) {
        Variable y = x;
        for (Layer l : s.layers()) {
            y = l.forward(y, pass);
        }
        return y;
    }

    /**
     * Agreement to 1e-5 of {@code scale}, the largest gradient in the net: the convolution's bias before batch norm
     * has a gradient that is zero but for rounding, so it cannot be compared relative to itself.
     */
    private static void assertClose(Tensor expected, Tensor actual, double scale, String what) {
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            assertTrue(Math.abs(e[i] - a[i]) <= 1e-5 * scale, what + "[" + i + "]: " + e[i] + " vs " + a[i]);
        }
    }

    @Test
    void trainingStepMatchesTheLayersRunOneByOne() {
        Sequential fused = net(new SplittableRandom(3), Activation.RELU, Pool2D.max(2));
        Sequential plain = fused.copy();
        SplittableRandom r = new SplittableRandom(9);
        Tensor x = Tensor.uniform(r, -1, 1, 3, 2, 8, 11); // conv output 6×9: the pool drops the last column
        Tensor seed = Tensor.uniform(r, -1, 1, 3, 3);

        ForwardPass pf = ForwardPass.training(new SplittableRandom(1));
        Variable yf = fused.forward(pf.tape().parameter(x), pf);
        int fusedOps = pf.tape().size();
        pf.accumulateGradients(pf.tape().backward(yf, seed));

        ForwardPass pp = ForwardPass.training(new SplittableRandom(1));
        Variable yp = unfused(plain, pp.tape().parameter(x), pp);
        int plainOps = pp.tape().size();
        pp.accumulateGradients(pp.tape().backward(yp, seed));

        assertEquals(plainOps - 1, fusedOps, "batch norm and pool are one op on the tape");
        assertArrayEquals(yp.value().toArray(), yf.value().toArray(), "output");
        List<Parameter> a = plain.parameters();
        List<Parameter> b = fused.parameters();
        double scale = 0;
        for (Parameter p : a) {
            for (float v : p.grad().toArray()) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        assertTrue(scale > 0);
        for (int i = 0; i < a.size(); i++) {
            assertClose(a.get(i).grad(), b.get(i).grad(), scale, "gradient of " + a.get(i).name());
        }
        BatchNorm bnA = (BatchNorm) plain.layers().get(1);
        BatchNorm bnB = (BatchNorm) fused.layers().get(1);
        assertArrayEquals(bnA.runningMean().toArray(), bnB.runningMean().toArray(), "running mean");
        assertArrayEquals(bnA.runningVar().toArray(), bnB.runningVar().toArray(), "running var");

        // Inference with the updated statistics.
        ForwardPass inf = ForwardPass.inference();
        ForwardPass inp = ForwardPass.inference();
        assertArrayEquals(unfused(plain, inp.tape().constant(x), inp).value().toArray(),
                fused.forward(inf.tape().constant(x), inf).value().toArray(), "inference output");
    }

    @Test
    void onlyReluAndTheTwoByTwoMaxPoolFuse() {
        BatchNorm relu = new BatchNorm(4, Activation.RELU);
        assertTrue(relu.fusesWith(Pool2D.max(2)));
        assertFalse(relu.fusesWith(Pool2D.mean(2)));
        assertFalse(relu.fusesWith(Pool2D.max(3)));
        assertFalse(relu.fusesWith(new Pool2D(Pool2D.Kind.MAX, PoolSpec.of(2).withPadding(1))));
        assertFalse(new BatchNorm(4, Activation.TANH).fusesWith(Pool2D.max(2)));
        // Not fused, so two ops: tanh batch norm before the pool.
        Sequential s = net(new SplittableRandom(3), Activation.TANH, Pool2D.max(2));
        ForwardPass pass = ForwardPass.training(new SplittableRandom(1));
        s.forward(pass.tape().parameter(Tensor.zeros(2, 2, 8, 11)), pass);
        ForwardPass pp = ForwardPass.training(new SplittableRandom(1));
        unfused(s, pp.tape().parameter(Tensor.zeros(2, 2, 8, 11)), pp);
        assertEquals(pp.tape().size(), pass.tape().size());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new BatchNorm(4, Activation.TANH).forwardMaxPooled(pass.tape().constant(Tensor.zeros(2, 4, 4, 4)),
                        pass));
        assertTrue(e.getMessage().contains("ReLU"), e.getMessage());
    }
}
