package io.evonas.layers;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.kernels.Cuda;
import io.evonas.tensor.Device;
import org.junit.jupiter.api.BeforeEach;

/**
 * {@link LayerDeviceContract} on the first GPU, through the device's default backend (cuBLAS and cuDNN where they
 * are present): the GPU sums in other orders than the CPU, so training steps agree to 1e-3 relative (Adam divides
 * by the gradients' own scale, which lets float rounding grow). Skips, with the reason, where CUDA cannot work. Run
 * on a GPU machine by {@code kernels/device-check} through {@code io.evonas.kernels.CudaTestMain}.
 */
class CudaLayerContractTest extends LayerDeviceContract {
    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
    }

    @Override
    Device device() {
        return Cuda.devices().getFirst();
    }

    @Override
    double tolerance() {
        return 1e-3;
    }
}
