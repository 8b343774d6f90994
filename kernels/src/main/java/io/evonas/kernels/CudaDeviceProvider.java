package io.evonas.kernels;

import io.evonas.tensor.Device;
import io.evonas.tensor.DeviceProvider;
import java.util.List;

/**
 * The CUDA devices for {@link io.evonas.tensor.Devices}, registered through {@link java.util.ServiceLoader}: family
 * {@code cuda}, devices {@code cuda:0}, {@code cuda:1}, ...; none, with {@link Cuda#unavailableReason()}, where CUDA
 * cannot work. The driver is looked at on the first call, not when the provider is loaded.
 */
public final class CudaDeviceProvider implements DeviceProvider {
    /** For the service loader. */
    public CudaDeviceProvider() {
    }

    @Override
    public String family() {
        return "cuda";
    }

    @Override
    public List<Device> devices() {
        return List.copyOf(Cuda.devices());
    }

    @Override
    public String unavailableReason() {
        return Cuda.unavailableReason();
    }
}
