package io.evonas.tensor;

/**
 * Where a tensor's storage lives and its kernels run. The CPU device is always present; other devices (CUDA) are
 * contributed by a {@link DeviceProvider} found through {@link java.util.ServiceLoader}.
 */
public interface Device {
    /** A stable name such as {@code cpu} or {@code cuda:0}. */
    String name();

    /** Whether this is the host CPU, whose tensors are backed by a Java {@code float[]}. */
    default boolean isCpu() {
        return false;
    }

    /** Allocates zeroed storage for {@code size} floats on this device. */
    Storage allocate(int size);
}
