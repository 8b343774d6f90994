package io.evonas.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.testing.Loopback;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every gradient check of {@link OpsGradientTest} again with the inputs on the {@link Loopback} device, which is not
 * the CPU: each one must pass there, and its output and gradients must be the CPU's bits, on the loopback device.
 */
class OpsLoopbackTest extends OpsGradientTest {
    @Override
    Device device() {
        return Loopback.DEVICE;
    }

    @Override
    void assertGradients(Function<List<Variable>, Variable> f, Tensor... inputs) {
        super.assertGradients(f, inputs);
        assertSameBitsAsCpu(f, inputs);
    }

    /** Forward and backward of {@code f} on the CPU and on loopback: the same bits, each on its device. */
    private static void assertSameBitsAsCpu(Function<List<Variable>, Variable> f, Tensor... inputs) {
        List<float[]> cpu = forwardBackward(f, inputs, Devices.cpu());
        List<float[]> loop = forwardBackward(f, inputs, Loopback.DEVICE);
        assertEquals(cpu.size(), loop.size());
        for (int i = 0; i < cpu.size(); i++) {
            assertArrayEquals(cpu.get(i), loop.get(i), i == 0 ? "output" : "gradient of input " + (i - 1));
        }
    }

    @Test
    void fusedBatchNormReluHasTheCpuBits() {
        SplittableRandom rng = new SplittableRandom(17);
        Tensor x = Tensor.uniform(rng, -1, 1, 4, 3, 2, 2);
        Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, 3);
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, 3);
        assertSameBitsAsCpu(in -> Ops.batchNormTraining(in.get(0), in.get(1), in.get(2),
                on(in.get(0), Tensor.zeros(3)), on(in.get(0), Tensor.full(1f, 3)), 0.1f, 1e-5f, true), x, gamma,
                beta);
        assertSameBitsAsCpu(in -> Ops.batchNormInference(in.get(0), in.get(1), in.get(2),
                on(in.get(0), Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3)),
                on(in.get(0), Tensor.of(new float[] {0.5f, 1.5f, 2f}, 3)), 1e-5f, true), x, gamma, beta);
    }

    @Test
    void runningStatisticsAreUpdatedOnTheDevice() {
        Tensor mean = Tensor.zeros(2).to(Loopback.DEVICE);
        Tensor var = Tensor.full(1f, 2).to(Loopback.DEVICE);
        Tape tape = new Tape();
        Tensor x = Tensor.of(new float[] {1, 10, 3, 20}, 2, 2).to(Loopback.DEVICE);
        Ops.batchNormTraining(tape.constant(x), tape.parameter(Tensor.full(1f, 2).to(Loopback.DEVICE)),
                tape.parameter(Tensor.zeros(2).to(Loopback.DEVICE)), mean, var, 0.1f, 1e-5f);
        assertArrayEquals(new float[] {0.2f, 1.5f}, mean.toArray(), 1e-6f);
        assertArrayEquals(new float[] {0.9f + 0.2f, 0.9f + 5f}, var.toArray(), 1e-5f);
    }

    @Test
    void aScalarLossSeedsBackwardOnItsDevice() {
        Tape tape = new Tape();
        Variable x = tape.parameter(Tensor.of(new float[] {1, 2, 3}, 3).to(Loopback.DEVICE));
        Variable loss = Ops.meanAll(Ops.mul(x, x));
        assertEquals(14f / 3, loss.value().item(), 1e-6f);
        Tensor dx = tape.backward(loss).of(x);
        assertSame(Loopback.DEVICE, dx.device());
        assertArrayEquals(new float[] {2f / 3, 4f / 3, 2f}, dx.toArray(), 1e-6f);
    }

    @Test
    void mixingDevicesInOneOpIsRefusedNamingBoth() {
        Tape tape = new Tape();
        Variable cpu = tape.parameter(Tensor.zeros(2, 3));
        Variable loop = tape.parameter(Tensor.zeros(2, 3).to(Loopback.DEVICE));
        var e = assertThrows(IllegalArgumentException.class, () -> Ops.add(cpu, loop));
        assertTrue(e.getMessage().startsWith("add: ") && e.getMessage().contains("cpu")
                && e.getMessage().contains("loopback"), e.getMessage());
        var m = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(cpu, false, loop, true));
        assertTrue(m.getMessage().startsWith("matmul: "), m.getMessage());
    }

    @Test
    void anOpOnADeviceWithoutBackendSaysWhy() {
        Tape tape = new Tape();
        Variable x = tape.parameter(Tensor.zeros(2, 3).to(Loopback.storageOnly("cuda:7")));
        var e = assertThrows(UnsupportedOperationException.class, () -> Ops.activation(x, Activation.RELU));
        assertEquals("cuda:7: tensor operations are not available on this device yet", e.getMessage());
    }
}
