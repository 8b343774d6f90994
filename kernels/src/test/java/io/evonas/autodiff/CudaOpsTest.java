package io.evonas.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.kernels.Cuda;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every gradient check of {@link OpsGradientTest} again with the inputs on the first GPU, as {@code OpsLoopbackTest}
 * does on the loopback device: each must pass there, and its output and gradients must agree with the CPU's to
 * float rounding (the GPU sums in another order), on the GPU. Skips, with the reason, where CUDA cannot work. Run
 * on a GPU machine by {@code kernels/device-check} through {@code io.evonas.kernels.CudaTestMain}.
 */
class CudaOpsTest extends OpsGradientTest {
    /** Relative agreement with the CPU, of the larger of the element and 1e-3 of the tensor's largest magnitude. */
    private static final double TOLERANCE = 1e-5;

    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
    }

    private static Device gpu() {
        return Cuda.devices().getFirst();
    }

    @Override
    Device device() {
        return gpu();
    }

    @Override
    void assertGradients(Function<List<Variable>, Variable> f, Tensor... inputs) {
        super.assertGradients(f, inputs);
        assertCloseToCpu(f, inputs);
    }

    /** Forward and backward of {@code f} on the CPU and on the GPU: equal to float rounding, each on its device. */
    private static void assertCloseToCpu(Function<List<Variable>, Variable> f, Tensor... inputs) {
        List<float[]> cpu = forwardBackward(f, inputs, Devices.cpu());
        List<float[]> gpu = forwardBackward(f, inputs, gpu());
        assertEquals(cpu.size(), gpu.size());
        for (int i = 0; i < cpu.size(); i++) {
            assertClose(cpu.get(i), gpu.get(i), i == 0 ? "output" : "gradient of input " + (i - 1));
        }
    }

    static void assertClose(float[] cpu, float[] gpu, String what) {
        assertEquals(cpu.length, gpu.length, what);
        double scale = 0;
        for (float v : cpu) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < cpu.length; i++) {
            double tol = TOLERANCE * Math.max(Math.abs(cpu[i]), 1e-3 * scale) + 1e-30;
            if (!(Math.abs(cpu[i] - gpu[i]) <= tol) && !(Float.isNaN(cpu[i]) && Float.isNaN(gpu[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + gpu[i] + " on the GPU, " + cpu[i]
                        + " on the CPU");
            }
        }
    }

    @Test
    void fusedBatchNormReluAgreesWithTheCpu() {
        SplittableRandom rng = new SplittableRandom(17);
        Tensor x = Tensor.uniform(rng, -1, 1, 4, 3, 2, 2);
        Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, 3);
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, 3);
        assertCloseToCpu(in -> Ops.batchNormTraining(in.get(0), in.get(1), in.get(2),
                on(in.get(0), Tensor.zeros(3)), on(in.get(0), Tensor.full(1f, 3)), 0.1f, 1e-5f, true), x, gamma,
                beta);
        assertCloseToCpu(in -> Ops.batchNormInference(in.get(0), in.get(1), in.get(2),
                on(in.get(0), Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3)),
                on(in.get(0), Tensor.of(new float[] {0.5f, 1.5f, 2f}, 3)), 1e-5f, true), x, gamma, beta);
    }

    @Test
    void runningStatisticsAreUpdatedOnTheGpu() {
        Tensor mean = Tensor.zeros(2).to(gpu());
        Tensor var = Tensor.full(1f, 2).to(gpu());
        Tape tape = new Tape();
        Tensor x = Tensor.of(new float[] {1, 10, 3, 20}, 2, 2).to(gpu());
        Ops.batchNormTraining(tape.constant(x), tape.parameter(Tensor.full(1f, 2).to(gpu())),
                tape.parameter(Tensor.zeros(2).to(gpu())), mean, var, 0.1f, 1e-5f);
        assertArrayEquals(new float[] {0.2f, 1.5f}, mean.toArray(), 1e-6f);
        assertArrayEquals(new float[] {0.9f + 0.2f, 0.9f + 5f}, var.toArray(), 1e-5f);
    }

    @Test
    void aScalarLossSeedsBackwardOnTheGpu() {
        Tape tape = new Tape();
        Variable x = tape.parameter(Tensor.of(new float[] {1, 2, 3}, 3).to(gpu()));
        Variable loss = Ops.meanAll(Ops.mul(x, x));
        assertEquals(14f / 3, loss.value().item(), 1e-6f);
        Tensor dx = tape.backward(loss).of(x);
        assertSame(gpu(), dx.device());
        assertArrayEquals(new float[] {2f / 3, 4f / 3, 2f}, dx.toArray(), 1e-6f);
    }
}
