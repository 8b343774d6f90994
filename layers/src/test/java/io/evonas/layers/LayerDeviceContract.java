package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.GradientCheck;
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
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import io.evonas.tensor.testing.Loopback;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * One test body for every layer and optimiser, run on each device by a subclass: {@link LayerContractCpuTest} on the
 * CPU, {@link LayerContractLoopbackTest} on the loopback test device, and {@code CudaLayerContractTest} (module
 * kernels) on the first GPU, which skips, saying why, where there is none.
 *
 * <ul>
 *   <li>Each layer's input gradient, computed on the device, matches central finite differences there.</li>
 *   <li>Two training steps (forward, backward, Adam) of a copy moved to the device give the CPU's outputs,
 *       parameters, gradients, optimiser state and running statistics: bit for bit where {@link #tolerance()} is 0,
 *       otherwise to that relative tolerance; then inference agrees too.</li>
 *   <li>Every optimiser's steps, with neuron surgery between them, agree the same way, and keep the state on the
 *       device.</li>
 *   <li>A conv/batch-norm/pool/dense/dropout stack trained with cross-entropy agrees the same way.</li>
 *   <li>Non-finite gradients are found on the device; a gradient from another device is refused.</li>
 * </ul>
 */
abstract class LayerDeviceContract {
    static final List<Optimiser> OPTIMISERS = List.of(Descent.of(0.1), Momentum.of(0.05), Nesterov.of(0.05),
            AdaGrad.of(), Adam.of(0.01), AdamW.of(0.01), NAdam.of(), RMSProp.of().withMomentum(0.5).withCentered(true),
            RMSProp.of(), WeightDecay.of(0.01).andThen(Momentum.of(0.05)), Adam.of().andThen(Descent.of(0.5)),
            (param, direction) -> { });

    /** The device under test. */
    abstract Device device();

    /** Relative agreement with the CPU after training steps: 0 asks for the CPU's bits. */
    abstract double tolerance();

    /**
     * A layer and an input shape it takes.
     *
     * @param name what the failure messages call it
     * @param make a new layer, the same every call (seeded)
     * @param input the input's shape, batch first
     */
    record Case(String name, Function<SplittableRandom, Layer> make, Shape input) {
        Layer layer() {
            return make.apply(new SplittableRandom(name.hashCode()));
        }

        @Override
        public String toString() {
            return name + " on " + input;
        }
    }

    /** Every kind of layer, with the options that take another code path. */
    static List<Case> cases() {
        return List.of(
                new Case("Dense tanh", r -> Dense.of(7, 5, Activation.TANH, r), Shape.of(3, 7)),
                new Case("Dense relu", r -> Dense.of(4, 9, Activation.RELU, r), Shape.of(5, 4)),
                new Case("Conv1D", r -> Conv1D.of(3, 4, ConvSpec.of1d(3, 2, 1, 1), Activation.ELU, r),
                        Shape.of(2, 3, 11)),
                new Case("Conv2D same 3x3", r -> Conv2D.of(2, 3, ConvSpec.same(3, 3), Activation.IDENTITY, r),
                        Shape.of(2, 2, 6, 5)),
                new Case("Conv2D same 2x2", r -> Conv2D.of(3, 2, ConvSpec.same(2, 2), Activation.SIGMOID, r),
                        Shape.of(2, 3, 5, 6)),
                new Case("Conv2D strided dilated", r -> Conv2D.of(2, 3,
                        new ConvSpec(3, 2, 2, 1, 1, 1, 0, 0, 1, 2), Activation.SWISH, r), Shape.of(2, 2, 7, 6)),
                new Case("BatchNorm2D relu", r -> new BatchNorm(3, Activation.RELU), Shape.of(4, 3, 3, 2)),
                new Case("BatchNorm1D tanh", r -> new BatchNorm(5, Activation.TANH), Shape.of(6, 5)),
                new Case("MaxPool 2", r -> Pool2D.max(2), Shape.of(2, 2, 6, 4)),
                new Case("MeanPool 3 stride 2", r -> new Pool2D(Pool2D.Kind.MEAN, PoolSpec.of(3, 3, 2, 2)),
                        Shape.of(2, 2, 7, 7)),
                new Case("GlobalMaxPool", r -> new GlobalPool(Pool2D.Kind.MAX), Shape.of(2, 3, 4, 5)),
                new Case("GlobalMeanPool", r -> new GlobalPool(Pool2D.Kind.MEAN), Shape.of(2, 3, 4, 5)),
                new Case("Flatten", r -> new Flatten(), Shape.of(2, 3, 2, 2)),
                new Case("Dropout", r -> new Dropout(0.3), Shape.of(4, 6)),
                new Case("Activation selu", r -> new ActivationLayer(Activation.SELU), Shape.of(3, 8)),
                new Case("Conv BatchNorm MaxPool Dense (fused)", r -> new Sequential(List.of(
                        Conv2D.of(2, 4, ConvSpec.same(3, 3), Activation.IDENTITY, r),
                        new BatchNorm(4, Activation.RELU), Pool2D.max(2), new Flatten(),
                        Dense.of(4 * 3 * 3, 3, Activation.IDENTITY, r))), Shape.of(4, 2, 6, 6)));
    }

    @Test
    void everyLayersInputGradientMatchesFiniteDifferencesOnTheDevice() {
        for (Case c : cases()) {
            Layer layer = c.layer();
            layer.moveToInPlace(device());
            boolean training = !(layer instanceof Dropout); // dropout's mask is checked by the next test
            Tensor x = Tensor.uniform(new SplittableRandom(3), -1, 1, c.input().dims()).to(device());
            GradientCheck.Result r = GradientCheck.check(in -> {
                ForwardPass pass = new ForwardPass(in.getFirst().tape(), training, new SplittableRandom(9));
                return layer.forward(in.getFirst(), pass);
            }, List.of(x), new SplittableRandom(5), 1e-3); // a step of 1e-2 crosses ReLU kinks after batch norm
            assertTrue(r.maxError() < 5e-3, c + " on " + device().name() + ": " + r);
        }
    }

    @Test
    void everyLayerTrainsOnTheDeviceAsOnTheCpu() {
        for (Case c : cases()) {
            Layer cpu = c.layer();
            Layer dev = cpu.copy();
            dev.moveToInPlace(device());
            for (Parameter p : dev.parameters()) {
                assertSame(device(), p.device(), c + ": " + p.name());
            }
            for (int step = 0; step < 2; step++) {
                float[] want = step(cpu, c.input(), null, 40 + step);
                float[] got = step(dev, c.input(), device(), 40 + step);
                assertClose(want, got, c + " step " + step + " output");
            }
            Map<String, int[]> want = TestLayers.snapshot(cpu);
            Map<String, int[]> got = TestLayers.snapshot(dev);
            assertEquals(want.keySet(), got.keySet(), c.toString());
            for (String key : want.keySet()) {
                assertClose(floats(want.get(key)), floats(got.get(key)), c + ": " + key);
            }
            Tensor x = Tensor.uniform(new SplittableRandom(8), -1, 1, c.input().dims());
            assertClose(TestLayers.infer(cpu, x), TestLayers.infer(dev, x.to(device())), c + " inference");
        }
    }

    @Test
    void everyOptimiserStepsOnTheDeviceAsOnTheCpu() {
        for (Optimiser opt : OPTIMISERS) {
            SplittableRandom rng = new SplittableRandom(5);
            // 111 elements: vector steps and a scalar tail
            Parameter cpu = new Parameter("w", Tensor.uniform(rng, -1, 1, 3, 37));
            Parameter dev = cpu.copy();
            dev.moveToInPlace(device());
            for (int step = 0; step < 3; step++) {
                Tensor g = Tensor.uniform(rng, -1, 1, 3, 37);
                cpu.accumulateGrad(g);
                dev.accumulateGrad(g.to(device()));
                if (step == 1) {
                    // neuron surgery between steps: new slices restart their state, on the device
                    cpu.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                    dev.resizeInPlace(0, new int[] {2, -1, 0}, Fill.ZEROS, null);
                }
                assertTrue(Optimiser.gradientsFinite(List.of(dev)), opt.toString());
                opt.updateInPlaceAndZeroGrad(List.of(cpu));
                opt.updateInPlaceAndZeroGrad(List.of(dev));
            }
            assertSame(device(), dev.value().device(), opt.toString());
            assertClose(cpu.value().toArray(), dev.value().toArray(), opt + " value");
            assertEquals(List.copyOf(cpu.stateKeys()), List.copyOf(dev.stateKeys()), opt.toString());
            for (String k : cpu.stateKeys()) {
                assertSame(device(), dev.state(k).device(), opt + " " + k);
                assertClose(cpu.state(k).toArray(), dev.state(k).toArray(), opt + " " + k);
            }
        }
    }

    @Test
    void nonFiniteGradientsAreFoundOnTheDevice() {
        Parameter p = new Parameter("w", Tensor.zeros(2, 3).to(device()));
        p.accumulateGrad(Tensor.of(new float[] {0, 1, Float.NaN, 2, 3, 4}, 2, 3).to(device()));
        assertFalse(Optimiser.gradientsFinite(List.of(p)));
        p.zeroGrad();
        p.accumulateGrad(Tensor.of(new float[] {0, 1, 2, Float.NEGATIVE_INFINITY, 3, 4}, 2, 3).to(device()));
        assertFalse(Optimiser.gradientsFinite(List.of(p)));
    }

    @Test
    void aGradientFromAnotherDeviceIsRefusedNamingBoth() {
        Device other = device() == Devices.cpu() ? Loopback.DEVICE : Devices.cpu();
        Parameter p = new Parameter("w", Tensor.zeros(2, 3).to(device()));
        var e = assertThrows(IllegalArgumentException.class,
                () -> p.accumulateGrad(Tensor.zeros(2, 3).to(other)));
        assertTrue(e.getMessage().contains("parameter w") && e.getMessage().contains(other.name())
                && e.getMessage().contains(device().name()), e.getMessage());
        var s = assertThrows(IllegalArgumentException.class,
                () -> Adam.of().updateInPlace(p, Tensor.zeros(2, 3).to(other)));
        assertTrue(s.getMessage().startsWith("Adam: "), s.getMessage());
    }

    /** Conv2D, batch norm with fused ReLU and max pool, Flatten, Dense, batch norm 1D, dropout, Dense. */
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
    private static float lossStep(Layer net, Device device, long seed) {
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
    void aLayerStackTrainsWithCrossEntropyOnTheDeviceAsOnTheCpu() {
        Sequential cpu = net(3);
        Sequential dev = cpu.copy();
        dev.moveToInPlace(device());
        for (int step = 0; step < 3; step++) {
            float expected = lossStep(cpu, Devices.cpu(), 100 + step);
            float actual = lossStep(dev, device(), 100 + step);
            assertClose(new float[] {expected}, new float[] {actual}, "loss of step " + step);
        }
        Map<String, int[]> want = TestLayers.snapshot(cpu);
        Map<String, int[]> got = TestLayers.snapshot(dev);
        assertEquals(want.keySet(), got.keySet());
        for (String key : want.keySet()) {
            assertClose(floats(want.get(key)), floats(got.get(key)), "stack: " + key);
        }
        Tensor x = Tensor.uniform(new SplittableRandom(9), -1, 1, 2, 2, 6, 6);
        assertClose(TestLayers.infer(cpu, x), TestLayers.infer(dev, x.to(device())), "stack inference");
        assertSame(device(), ((BatchNorm) dev.layers().get(1)).runningMean().device());
    }

    /**
     * {@link TestLayers#trainStep} with the batch and the output gradient on {@code device} (the CPU when null):
     * the same seeded values on every device.
     */
    private static float[] step(Layer layer, Shape input, Device device, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ForwardPass pass = ForwardPass.training(r.split());
        Tensor x = Tensor.uniform(r, -1, 1, input.dims());
        Variable y = layer.forward(pass.tape().parameter(device == null ? x : x.to(device)), pass);
        Tensor dy = Tensor.uniform(r, -1, 1, y.shape().dims());
        pass.accumulateGradients(pass.tape().backward(y, device == null ? dy : dy.to(device)));
        Adam.of(0.01).updateInPlace(layer.parameters());
        return y.value().toArray();
    }

    private static float[] floats(int[] bits) {
        float[] f = new float[bits.length];
        for (int i = 0; i < bits.length; i++) {
            f[i] = Float.intBitsToFloat(bits[i]);
        }
        return f;
    }

    /** Bits when {@link #tolerance()} is 0; else {@code tolerance} of the larger of the element and 1e-3 of the largest. */
    private void assertClose(float[] cpu, float[] dev, String what) {
        assertEquals(cpu.length, dev.length, what);
        double rel = tolerance();
        double scale = 0;
        for (float v : cpu) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < cpu.length; i++) {
            boolean same = Float.floatToRawIntBits(cpu[i]) == Float.floatToRawIntBits(dev[i])
                    || Float.isNaN(cpu[i]) && Float.isNaN(dev[i]);
            double tol = rel * Math.max(Math.abs(cpu[i]), 1e-3 * scale);
            if (!same && !(rel > 0 && Math.abs(cpu[i] - dev[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " is " + dev[i] + " on " + device().name() + ", "
                        + cpu[i] + " on the CPU" + (rel > 0 ? " (tolerance " + tol + ")" : " (bits differ)"));
            }
        }
    }
}
