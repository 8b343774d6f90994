package io.evonas.tensor.testing;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Device;
import io.evonas.tensor.Storage;

/**
 * A test device that is not the CPU: its storage is a {@code float[]} of its own, so {@code isCpu()} is false and
 * {@code Tensor.data()} refuses, as for a GPU. Its {@link LoopbackBackend} copies the inputs to the CPU, runs the CPU
 * backend and copies the results back, so every op must reach it through {@link Backend} dispatch, and its results
 * are the CPU's bits. Registered nowhere: tests use {@link #DEVICE} directly.
 *
 * <pre>{@code
 * Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).to(Loopback.DEVICE);
 * Tensor y = Backend.of("add", x, x).add(x, x);          // on the loopback device
 * }</pre>
 */
public final class Loopback implements Device {
    /** The one loopback device. */
    public static final Loopback DEVICE = new Loopback();

    private final LoopbackBackend backend = new LoopbackBackend(this);

    private Loopback() {
    }

    @Override
    public String name() {
        return "loopback";
    }

    @Override
    public Storage allocate(int size) {
        return new ArrayStorage(this, new float[size]);
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public String toString() {
        return name();
    }

    /**
     * A device named {@code name} that stores tensors as the loopback device does but has no backend, as a device
     * whose provider brings none yet: every op on its tensors throws.
     */
    public static Device storageOnly(String name) {
        return new Device() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Storage allocate(int size) {
                return new ArrayStorage(this, new float[size]);
            }

            @Override
            public String toString() {
                return name;
            }
        };
    }

    /** "Device memory": an array only {@link Storage}'s copies reach. */
    private record ArrayStorage(Device device, float[] array) implements Storage {
        @Override
        public int size() {
            return array.length;
        }

        @Override
        public void copyToHost(int offset, float[] dst, int dstOffset, int length) {
            System.arraycopy(array, offset, dst, dstOffset, length);
        }

        @Override
        public void copyFromHost(float[] src, int srcOffset, int offset, int length) {
            System.arraycopy(src, srcOffset, array, offset, length);
        }
    }
}
