package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.autodiff.Variable;
import io.evonas.kernels.Cuda;
import io.evonas.layers.optim.AdaGrad;
import io.evonas.layers.optim.Adam;
import io.evonas.layers.optim.AdamW;
import io.evonas.layers.optim.Descent;
import io.evonas.layers.optim.Momentum;
import io.evonas.layers.optim.NAdam;
import io.evonas.layers.optim.Nesterov;
import io.evonas.layers.optim.Optimiser;
import io.evonas.layers.optim.RMSProp;
import io.evonas.layers.optim.WeightDecay;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Parameters, optimisers and a layer stack on the first GPU, as {@code LoopbackTrainingTest} runs them on the loopback
 * device: every step goes through the CUDA backend; the optimisers give the CPU's bits (to the last bits of the
 * bias corrections' {@code pow}), a training step agrees to float rounding. Skips, with the reason, where CUDA
 * cannot work.
 */
class CudaTrainingTest {
    private static final List<Optimiser> OPTIMISERS = List.of(Descent.of(0.1), Momentum.of(0.05), Nesterov.of(0.05),
            AdaGrad.of(), Adam.of(0.01), AdamW.of(0.01), NAdam.of(), RMSProp.of().withMomentum(0.5).withCentered(true),
            RMSProp.of(), WeightDecay.of(0.01).andThen(Momentum.of(0.05)), Adam.of().andThen(Descent.of(0.5)),
            (param, direction) -> { });

    private Device gpu;

    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        gpu = Cuda.devices().getFirst();
    }

    @Test
    void optimiserStepsOnTheGpuAgreeWithTheCpu() {
        for (Optimiser opt : OPTIMISERS) {
            SplittableRandom rng = new SplittableRandom(5);
            Parameter cpu = new Parameter("w", Tensor.uniform(rng, -1, 1, 3, 37));
            Parameter dev = cpu.copy();
            dev.moveToInPlace(gpu);
            for (int step = 0; step < 3; step++) {
                Tensor g = Tensor.uniform(rng, -1, 1, 3, 37);
                cpu.accumulateGrad(g);
                dev.accumulateGrad(g.to(gpu));
                if (step == 1) {
                    cpu.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                    dev.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                }
                assertTrue(Optimiser.gradientsFinite(List.of(dev)), opt.toString());
                opt.updateInPlaceAndZeroGrad(List.of(cpu));
                opt.updateInPlaceAndZeroGrad(List.of(dev));
            }
            assertSame(gpu, dev.value().device(), opt.toString());
            assertClose(cpu.value(), dev.value(), 1e-6, opt + " value");
            assertEquals(List.copyOf(cpu.stateKeys()), List.copyOf(dev.stateKeys()), opt.toString());
            for (String k : cpu.stateKeys()) {
                assertSame(gpu, dev.state(k).device(), opt + " " + k);
                assertClose(cpu.state(k), dev.state(k), 1e-6, opt + " " + k);
            }
        }
    }

    @Test
    void nonFiniteGradientsAreFoundOnTheGpu() {
        Parameter p = new Parameter("w", Tensor.zeros(2, 3).to(gpu));
        p.accumulateGrad(Tensor.of(new float[] {0, 1, Float.NaN, 2, 3, 4}, 2, 3).to(gpu));
        assertFalse(Optimiser.gradientsFinite(List.of(p)));
    }

    /** Conv2D, batch norm with fused ReLU, max pooling, Flatten, Dense. */
    private static Sequential net(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        return new Sequential(List.of(
                Conv2D.of(2, 4, ConvSpec.same(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(4, Activation.RELU),
                Pool2D.max(2),
                new Flatten(),
                Dense.of(4 * 3 * 3, 3, Activation.IDENTITY, rng)));
    }

    /** One training step with cross-entropy and Adam; returns the loss, read back to the host. */
    private static float trainStep(Layer net, Device device, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ForwardPass pass = ForwardPass.training(r.split());
        Tensor x = Tensor.uniform(r, -1, 1, 4, 2, 6, 6).to(device);
        Variable y = net.forward(pass.tape().constant(x), pass);
        assertSame(device, y.value().device());
        Variable loss = Loss.crossEntropy().ofLabels(y, new int[] {0, 2, 1, 2});
        float value = loss.value().item();
        pass.accumulateGradients(pass.tape().backward(loss));
        Adam.of(0.01).updateInPlaceAndZeroGrad(net.parameters());
        return value;
    }

    @Test
    void aConvBatchNormPoolDenseStackTrainsOnTheGpuLikeOnTheCpu() {
        Sequential cpu = net(3);
        Sequential dev = cpu.copy();
        dev.moveToInPlace(gpu);
        for (Parameter p : dev.parameters()) {
            assertSame(gpu, p.device());
        }
        for (int step = 0; step < 3; step++) {
            float expected = trainStep(cpu, Devices.cpu(), 100 + step);
            float actual = trainStep(dev, gpu, 100 + step);
            assertEquals(expected, actual, 1e-4 * Math.abs(expected), "loss of step " + step);
        }
        Map<String, int[]> want = TestLayers.snapshot(cpu);
        Map<String, int[]> got = TestLayers.snapshot(dev);
        assertEquals(want.keySet(), got.keySet());
        for (String key : want.keySet()) {
            assertClose(bitsToFloats(want.get(key)), bitsToFloats(got.get(key)), 1e-3, key);
        }
        Tensor x = Tensor.uniform(new SplittableRandom(9), -1, 1, 2, 2, 6, 6);
        assertClose(TestLayers.infer(cpu, x), TestLayers.infer(dev, x.to(gpu)), 1e-3, "inference");
        BatchNorm bn = (BatchNorm) dev.layers().get(1);
        assertSame(gpu, bn.runningMean().device());
    }

    private static float[] bitsToFloats(int[] bits) {
        float[] f = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            f[i] = Float.intBitsToFloat(bits[i]);
        }
        return f;
    }

    private static void assertClose(Tensor cpu, Tensor gpu, double rel, String what) {
        assertClose(cpu.toArray(), gpu.toArray(), rel, what);
    }

    /** Agreement to {@code rel} of the larger of the element and 1e-3 of the largest magnitude. */
    private static void assertClose(float[] cpu, float[] gpu, double rel, String what) {
        assertEquals(cpu.length, gpu.length, what);
        double scale = 0;
        for (float v : cpu) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < cpu.length; i++) {
            double tol = rel * Math.max(Math.abs(cpu[i]), 1e-3 * scale) + 1e-30;
            if (!(Math.abs(cpu[i] - gpu[i]) <= tol) && !(Float.isNaN(cpu[i]) && Float.isNaN(gpu[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + gpu[i] + " on the GPU, " + cpu[i]
                        + " on the CPU");
            }
        }
    }
}
