package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A {@link Sequential} whose input needs no gradient runs its first convolution, a ReLU batch norm and a 2×2 max
 * pool as one primitive: one op on the tape instead of three, with the output, gradients and running statistics of
 * the layers run one after the other (up to rounding: the fused primitive sums the batch statistics in another
 * order). A convolution with an activation or neuron utility of its own, or an input that needs a gradient, is
 * left to the separate layers.
 */
class FusedConvBatchNormPoolTest {
    /** conv (2 → 4 channels, 18-wide output rows, so the CPU's direct kernels apply), batch norm, pool, dense. */
    private static Sequential net(int inChannels, UnaryOperator<Conv2D> conv) {
        SplittableRandom rng = new SplittableRandom(3);
        return Sequential.of(
                conv.apply(Conv2D.of(inChannels, 4, ConvSpec.of(3, 3), Activation.IDENTITY, rng)),
                new BatchNorm(4, Activation.RELU),
                Pool2D.max(2),
                new Flatten(),
                Dense.of(4 * 4 * 9, 3, Activation.IDENTITY, rng));
    }

    private static float maxAbs(float[] a) {
        float m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static void assertClose(float[] e, float[] a, double tol, String what) {
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) {
            assertTrue(Math.abs(e[i] - a[i]) <= tol, what + "[" + i + "]: " + e[i] + " vs " + a[i]);
        }
    }

    /** Tape sizes (fused, plain) of one training step, after checking that the two agree. */
    private static int[] trainingStep(Sequential fused, Tensor x, boolean constantInput) {
        Sequential plain = fused.copy();
        Tensor seed = Tensor.uniform(new SplittableRandom(9), -1, 1, x.dim(0), 3);

        ForwardPass pf = ForwardPass.training(new SplittableRandom(1));
        Variable yf = fused.forward(constantInput ? pf.tape().constant(x) : pf.tape().parameter(x), pf);
        int fusedOps = pf.tape().size();
        pf.accumulateGradients(pf.tape().backward(yf, seed));

        ForwardPass pp = ForwardPass.training(new SplittableRandom(1));
        Variable yp = FusedBatchNormPoolTest.unfused(plain, constantInput ? pp.tape().constant(x) : pp.tape().parameter(x), pp);
        int plainOps = pp.tape().size();
        pp.accumulateGradients(pp.tape().backward(yp, seed));

        assertClose(yp.value().toArray(), yf.value().toArray(), 1e-5 * maxAbs(yp.value().toArray()), "output");
        List<Parameter> a = plain.parameters();
        List<Parameter> b = fused.parameters();
        double scale = 0;
        for (Parameter p : a) {
            scale = Math.max(scale, maxAbs(p.grad().toArray()));
        }
        assertTrue(scale > 0);
        // The convolution's bias before batch norm has a gradient that is zero but for rounding: compare every
        // gradient against the largest in the net.
        for (int i = 0; i < a.size(); i++) {
            assertClose(a.get(i).grad().toArray(), b.get(i).grad().toArray(), 1e-4 * scale,
                    "gradient of " + a.get(i).name());
        }
        BatchNorm bnA = (BatchNorm) plain.layers().get(1);
        BatchNorm bnB = (BatchNorm) fused.layers().get(1);
        assertClose(bnA.runningMean().toArray(), bnB.runningMean().toArray(), 1e-6, "running mean");
        assertClose(bnA.runningVar().toArray(), bnB.runningVar().toArray(), 1e-6, "running var");

        ForwardPass inf = ForwardPass.inference();
        ForwardPass inp = ForwardPass.inference();
        float[] expected = FusedBatchNormPoolTest.unfused(plain, inp.tape().constant(x), inp).value().toArray();
        assertClose(expected, fused.forward(inf.tape().constant(x), inf).value().toArray(), 1e-5 * maxAbs(expected),
                "inference output");
        return new int[] {fusedOps, plainOps};
    }

    private static final Tensor X = Tensor.uniform(new SplittableRandom(7), -1, 1, 3, 2, 10, 20);

    @Test
    void aNetworksFirstConvolutionJoinsItsBatchNormAndPool() {
        int[] ops = trainingStep(net(2, c -> c), X, true);
        assertEquals(ops[1] - 2, ops[0], "convolution, batch norm and pool are one op on the tape");
    }

    @Test
    void anInputThatNeedsAGradientKeepsTheConvolutionApart() {
        int[] ops = trainingStep(net(2, c -> c), X, false);
        assertEquals(ops[1] - 1, ops[0], "only batch norm and pool are fused");
    }

    @Test
    void aConvolutionTheCpuCannotFuseIsComposedWithTheSameResult() {
        // Eight input channels: the im2col path, which the backend composes with the fused batch norm and pool.
        Tensor x = Tensor.uniform(new SplittableRandom(8), -1, 1, 3, 8, 10, 20);
        int[] ops = trainingStep(net(8, c -> c), x, true);
        assertEquals(ops[1] - 2, ops[0]);
    }

    @Test
    void aConvolutionWithAnActivationOrUtilityIsNotFused() {
        int[] relu = trainingStep(net(2, c -> {
            c.changeActivationInPlace(Activation.RELU);
            return c;
        }), X, true);
        assertEquals(relu[1] - 1, relu[0], "a ReLU convolution: only batch norm and pool are fused");
        int[] tracked = trainingStep(net(2, c -> c.trackUtility(1)), X, true);
        assertEquals(tracked[1] - 1, tracked[0], "a convolution measuring utility: only batch norm and pool");

        BatchNorm bn = new BatchNorm(4, Activation.RELU);
        Conv2D conv = Conv2D.of(2, 4, ConvSpec.of(3, 3), Activation.IDENTITY, new SplittableRandom(1));
        assertTrue(bn.fusesAfter(conv));
        assertFalse(new BatchNorm(5, Activation.RELU).fusesAfter(conv), "channel counts differ");
        assertFalse(bn.fusesAfter(Pool2D.max(2)));
        ForwardPass pass = ForwardPass.training(new SplittableRandom(1));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new BatchNorm(4, Activation.TANH).forwardConvMaxPooled(conv, pass.tape().constant(X), pass));
        assertTrue(e.getMessage().contains("ReLU"), e.getMessage());
    }
}
