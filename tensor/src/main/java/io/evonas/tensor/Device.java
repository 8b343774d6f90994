package io.evonas.tensor;

/**
 * Where a tensor's storage lives and its kernels run. The CPU device is always present; other devices (CUDA) are
 * contributed by a {@link DeviceProvider} found through {@link java.util.ServiceLoader}. Ops run on the device their
 * inputs live on, through its {@link #backend()}.
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

    /**
     * The tensor operations on this device (see {@link Backend} for the dispatch). The CPU has its own; a device
     * whose provider brings none yet only stores tensors, which {@link Tensor#to} can move.
     *
     * @throws UnsupportedOperationException naming the device when it has no backend
     */
    default Backend backend() {
        throw new UnsupportedOperationException(name() + ": tensor operations are not available on this device yet");
    }
}
