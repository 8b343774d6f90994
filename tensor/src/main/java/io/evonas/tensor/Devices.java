package io.evonas.tensor;

import io.evonas.tensor.cpu.CpuBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/** The devices on this machine: the CPU, plus whatever the {@link DeviceProvider}s on the class path offer. */
public final class Devices {
    private static volatile List<DeviceProvider> providers;

    private Devices() {
    }

    /** The host CPU. */
    public static Device cpu() {
        return CpuDevice.INSTANCE;
    }

    /** Every usable device, CPU first. */
    public static List<Device> available() {
        List<Device> all = new ArrayList<>();
        all.add(cpu());
        for (DeviceProvider p : providers()) {
            all.addAll(p.devices());
        }
        return List.copyOf(all);
    }

    /**
     * The device with this name ({@code cpu}, {@code cuda:0}, or a family name for its first device).
     *
     * @throws IllegalArgumentException naming the reason when no such device can be used here
     */
    public static Device get(String name) {
        Objects.requireNonNull(name, "name");
        if (name.equals("cpu")) {
            return cpu();
        }
        String family = name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
        for (DeviceProvider p : providers()) {
            if (!p.family().equals(family)) {
                continue;
            }
            List<Device> ds = p.devices();
            if (ds.isEmpty()) {
                throw new IllegalArgumentException("device " + name + " is not available: " + p.unavailableReason());
            }
            if (name.equals(family)) {
                return ds.getFirst();
            }
            for (Device d : ds) {
                if (d.name().equals(name)) {
                    return d;
                }
            }
            throw new IllegalArgumentException("device " + name + " does not exist; " + family + " devices here: "
                    + ds.stream().map(Device::name).toList());
        }
        throw new IllegalArgumentException("device " + name + " is not available: no provider for '" + family
                + "' is on the class path (the CUDA backend is the evonas-kernels module)");
    }

    private static List<DeviceProvider> providers() {
        List<DeviceProvider> p = providers;
        if (p == null) {
            List<DeviceProvider> found = new ArrayList<>();
            ServiceLoader.load(DeviceProvider.class).forEach(found::add);
            p = List.copyOf(found);
            providers = p;
        }
        return p;
    }

    /** The host CPU: storage is a plain {@code float[]}. */
    static final class CpuDevice implements Device {
        static final CpuDevice INSTANCE = new CpuDevice();

        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public boolean isCpu() {
            return true;
        }

        @Override
        public Storage allocate(int size) {
            return new CpuStorage(new float[size]);
        }

        @Override
        public Backend backend() {
            return CpuBackend.instance();
        }

        @Override
        public String toString() {
            return "cpu";
        }
    }

    /** Host storage over a Java array. */
    record CpuStorage(float[] array) implements Storage {
        @Override
        public Device device() {
            return CpuDevice.INSTANCE;
        }

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
