package io.evonas.nas.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv2D;
import io.evonas.layers.Dense;
import io.evonas.layers.Flatten;
import io.evonas.layers.Loss;
import io.evonas.layers.Parameter;
import io.evonas.layers.Pool2D;
import io.evonas.layers.Sequential;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.data.MapIterator;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.testing.Loopback;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link OnDevice} on the loopback test device (not host memory): generations of training on the device, with the
 * model (parameters, momentum, running statistics) in host memory between them, give the bits of training on the
 * CPU throughout; the model is back on the host after work that fails.
 */
class OnDeviceTest {
    private static Sequential net() {
        SplittableRandom rng = new SplittableRandom(2);
        return new Sequential(List.of(Conv2D.of(1, 4, ConvSpec.same(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(4, Activation.RELU), Pool2D.max(2), new Flatten(),
                Dense.of(4 * 3 * 3, 3, Activation.IDENTITY, rng)));
    }

    private static List<Batch> batches() {
        SplittableRandom rng = new SplittableRandom(6);
        List<Batch> bs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            bs.add(Batch.of(Tensor.uniform(rng, -1, 1, 4, 1, 6, 6), new int[] {0, 1, 2, i}));
        }
        return bs;
    }

    /** Three generations of two steps: on {@code device} through OnDevice, or on the CPU when it is null. */
    private static List<float[]> generations(Device device) {
        Sequential model = net();
        Trainer trainer = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.05, 0.9), new SplittableRandom(1));
        List<float[]> out = new ArrayList<>();
        for (int gen = 0; gen < 3; gen++) {
            Device on = device == null ? Devices.cpu() : device;
            float[] losses = device == null ? train(trainer, batches(), on)
                    : OnDevice.run(model, device, () -> train(trainer, batches(), device));
            out.add(losses);
            for (Parameter p : model.parameters()) {
                assertSame(Devices.cpu(), p.value().device(), "generation " + gen + ": " + p.name());
                for (String k : p.stateKeys()) {
                    assertSame(Devices.cpu(), p.state(k).device(), p.name() + " " + k);
                }
                out.add(p.value().toArray());
            }
            BatchNorm bn = (BatchNorm) model.layers().get(1);
            assertSame(Devices.cpu(), bn.runningMean().device());
            out.add(bn.runningVar().toArray());
        }
        return out;
    }

    private static float[] train(Trainer trainer, List<Batch> batches, Device device) {
        float[] losses = new float[batches.size()];
        int i = 0;
        for (Batch b : MapIterator.of(batches, b -> b.to(device))) {
            assertSame(device, b.features().device());
            losses[i++] = trainer.step(b);
        }
        return losses;
    }

    @Test
    void generationsOnTheDeviceWithTheModelOnTheHostBetweenThemTrainAsOnTheCpu() {
        List<float[]> cpu = generations(null);
        List<float[]> loop = generations(Loopback.DEVICE);
        assertEquals(cpu.size(), loop.size());
        for (int i = 0; i < cpu.size(); i++) {
            assertArrayEquals(cpu.get(i), loop.get(i), "part " + i);
        }
    }

    @Test
    void theModelIsOnTheDeviceDuringTheWorkAndBackOnTheHostWhenItFails() {
        Sequential model = net();
        var e = assertThrows(IllegalStateException.class, () -> OnDevice.run(model, Loopback.DEVICE, () -> {
            for (Parameter p : model.parameters()) {
                assertSame(Loopback.DEVICE, p.value().device(), p.name());
            }
            throw new IllegalStateException("the work failed");
        }));
        assertEquals("the work failed", e.getMessage());
        for (Parameter p : model.parameters()) {
            assertSame(Devices.cpu(), p.value().device(), p.name());
        }
        assertEquals(7, OnDevice.run(model, Loopback.DEVICE, () -> 7));
    }
}
