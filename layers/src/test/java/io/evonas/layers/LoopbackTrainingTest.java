package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Variable;
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
import io.evonas.tensor.testing.Loopback;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Parameters, optimisers and layers on the {@link Loopback} device, which is not the CPU: every step goes through
 * the backend of the parameters' device and gives the CPU's bits.
 */
class LoopbackTrainingTest {
    private static final List<Optimiser> OPTIMISERS = List.of(Descent.of(0.1), Momentum.of(0.05), Nesterov.of(0.05),
            AdaGrad.of(), Adam.of(0.01), AdamW.of(0.01), NAdam.of(), RMSProp.of().withMomentum(0.5).withCentered(true),
            RMSProp.of(), WeightDecay.of(0.01).andThen(Momentum.of(0.05)), Adam.of().andThen(Descent.of(0.5)),
            (param, direction) -> { });

    @Test
    void optimiserStepsOnLoopbackEqualTheCpuBitForBit() {
        for (Optimiser opt : OPTIMISERS) {
            SplittableRandom rng = new SplittableRandom(5);
            // 111 elements: vector steps and a scalar tail
            Parameter cpu = new Parameter("w", Tensor.uniform(rng, -1, 1, 3, 37));
            Parameter loop = cpu.copy();
            loop.moveToInPlace(Loopback.DEVICE);
            for (int step = 0; step < 3; step++) {
                Tensor g = Tensor.uniform(rng, -1, 1, 3, 37);
                cpu.accumulateGrad(g);
                loop.accumulateGrad(g.to(Loopback.DEVICE));
                if (step == 1) {
                    // neuron surgery between steps: new slices restart their state, on the device
                    cpu.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                    loop.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                }
                assertTrue(Optimiser.gradientsFinite(List.of(loop)), opt.toString());
                opt.updateInPlaceAndZeroGrad(List.of(cpu));
                opt.updateInPlaceAndZeroGrad(List.of(loop));
            }
            assertSameParameter(opt.toString(), cpu, loop);
        }
    }

    @Test
    void nonFiniteGradientsAreFoundOnTheDevice() {
        Parameter p = new Parameter("w", Tensor.zeros(2, 3).to(Loopback.DEVICE));
        p.accumulateGrad(Tensor.of(new float[] {0, 1, Float.NaN, 2, 3, 4}, 2, 3).to(Loopback.DEVICE));
        assertFalse(Optimiser.gradientsFinite(List.of(p)));
    }

    @Test
    void aGradientFromAnotherDeviceIsRefused() {
        Parameter p = new Parameter("w", Tensor.zeros(2, 3).to(Loopback.DEVICE));
        var e = assertThrows(IllegalArgumentException.class, () -> p.accumulateGrad(Tensor.zeros(2, 3)));
        assertTrue(e.getMessage().contains("parameter w") && e.getMessage().contains("cpu")
                && e.getMessage().contains("loopback"), e.getMessage());
        var s = assertThrows(IllegalArgumentException.class, () -> Adam.of().updateInPlace(p, Tensor.zeros(2, 3)));
        assertTrue(s.getMessage().startsWith("Adam: "), s.getMessage());
    }

    private static Sequential net(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        return new Sequential(List.of(
                Conv2D.of(2, 4, ConvSpec.same(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(4, Activation.RELU),
                Pool2D.max(2),
                new Flatten(),
                Dense.of(4 * 3 * 3, 8, Activation.IDENTITY, rng),
                new BatchNorm(8, Activation.RELU),
                new Dropout(0.25),
                Dense.of(8, 3, Activation.TANH, rng)));
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
    void aLayerStackTrainsOnLoopbackWithTheCpuBits() {
        Sequential cpu = net(3);
        Sequential loop = cpu.copy();
        loop.moveToInPlace(Loopback.DEVICE);
        for (Parameter p : loop.parameters()) {
            assertSame(Loopback.DEVICE, p.device());
        }
        for (int step = 0; step < 3; step++) {
            float expected = trainStep(cpu, Devices.cpu(), 100 + step);
            float actual = trainStep(loop, Loopback.DEVICE, 100 + step);
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), "loss of step " + step);
        }
        Map<String, int[]> want = TestLayers.snapshot(cpu);
        Map<String, int[]> got = TestLayers.snapshot(loop);
        assertEquals(want.keySet(), got.keySet());
        for (String key : want.keySet()) {
            assertArrayEquals(want.get(key), got.get(key), key);
        }
        Tensor x = Tensor.uniform(new SplittableRandom(9), -1, 1, 2, 2, 6, 6);
        assertArrayEquals(TestLayers.infer(cpu, x), TestLayers.infer(loop, x.to(Loopback.DEVICE)));
        BatchNorm bn = (BatchNorm) loop.layers().get(1);
        assertSame(Loopback.DEVICE, bn.runningMean().device());
    }

    private static void assertSameParameter(String what, Parameter cpu, Parameter loop) {
        assertSame(Loopback.DEVICE, loop.value().device(), what);
        assertArrayEquals(TestLayers.bits(cpu.value()), TestLayers.bits(loop.value()), what + " value");
        assertEquals(List.copyOf(cpu.stateKeys()), List.copyOf(loop.stateKeys()), what);
        for (String k : cpu.stateKeys()) {
            assertSame(Loopback.DEVICE, loop.state(k).device(), what + " " + k);
            assertArrayEquals(TestLayers.bits(cpu.state(k)), TestLayers.bits(loop.state(k)), what + " " + k);
        }
    }
}
