package io.evonas.kernels;

import static jcuda.driver.CUresult.CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE;
import static jcuda.driver.CUresult.CUDA_ERROR_DEVICE_UNAVAILABLE;
import static jcuda.driver.CUresult.CUDA_ERROR_NO_DEVICE;
import static jcuda.driver.CUresult.CUDA_ERROR_STUB_LIBRARY;
import static jcuda.driver.CUresult.CUDA_ERROR_SYSTEM_DRIVER_MISMATCH;
import static jcuda.driver.CUresult.CUDA_SUCCESS;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver on this machine, found once per JVM: either the usable GPUs, or one sentence saying why CUDA
 * cannot work here (JCuda's native library or libcuda.so.1 does not load, {@code cuInit} fails, the driver is older
 * than CUDA 13.0, no GPU can run {@code compute_90} PTX, or the jar was built without nvcc).
 *
 * <p>Only the driver API is used (libcuda.so.1, which the NVIDIA driver installs); no CUDA toolkit is needed at run
 * time. The decisions are pure functions ({@link #checkDriver}, {@link #checkComputeCapability}, {@link #checkPtx},
 * {@link #describeLoadFailure}, {@link #describeInitFailure}) so that they are tested on machines without a GPU.
 *
 * <pre>{@code
 * if (Cuda.isAvailable()) {
 *     Tensor x = Tensor.zeros(Shape.of(1024), Cuda.devices().getFirst());
 * } else {
 *     System.out.println("CPU only: " + Cuda.unavailableReason());
 * }
 * }</pre>
 */
public final class Cuda {
    /** The oldest driver API version ({@code cuDriverGetVersion}) that loads the PTX: CUDA 13.0, driver 580. */
    public static final int REQUIRED_DRIVER_VERSION = 13000;
    /** The oldest compute capability (major) that runs the PTX, built for {@code compute_90}. */
    public static final int REQUIRED_COMPUTE_CAPABILITY = 9;

    private static final Pattern MISSING_LIBRARY =
            Pattern.compile("(lib[\\w.+-]+\\.so[\\w.]*): cannot open shared object file");
    private static volatile Status status;

    private Cuda() {
    }

    /**
     * What the one-time initialisation found.
     *
     * @param driverVersion {@code cuDriverGetVersion}, e.g. 13000 for CUDA 13.0; 0 when the driver did not load
     * @param devices the GPUs that can run the kernels, by CUDA ordinal; empty when CUDA cannot work
     * @param unavailableReason why CUDA cannot work; empty when it can
     * @param notes GPUs that were left out and why, and other remarks worth printing
     */
    public record Status(int driverVersion, List<CudaDevice> devices, String unavailableReason, List<String> notes) {
        /** Copies the lists. */
        public Status {
            devices = List.copyOf(devices);
            notes = List.copyOf(notes);
        }

        /** Whether CUDA works here. */
        public boolean available() {
            return unavailableReason.isEmpty();
        }
    }

    /** The result of the initialisation, which runs once, on the first call, whichever thread makes it. */
    public static Status status() {
        Status s = status;
        if (s == null) {
            synchronized (Cuda.class) {
                s = status;
                if (s == null) {
                    s = initialise(Cuda.class.getClassLoader());
                    status = s;
                }
            }
        }
        return s;
    }

    /** Whether CUDA works here: a driver for CUDA 13 or newer, a GPU of compute capability 9.0 or newer, PTX. */
    public static boolean isAvailable() {
        return status().available();
    }

    /** Why CUDA cannot work here, as a sentence; empty when it can. */
    public static String unavailableReason() {
        return status().unavailableReason();
    }

    /** The usable GPUs; empty when CUDA cannot work. */
    public static List<CudaDevice> devices() {
        return status().devices();
    }

    /**
     * Why the PTX cannot load with a driver of this {@code cuDriverGetVersion} (1000 * major + 10 * minor), or
     * empty when it can.
     */
    static Optional<String> checkDriver(int version) {
        if (version <= 0) {
            return Optional.of("the NVIDIA driver reports no CUDA version (cuDriverGetVersion = " + version + ")");
        }
        if (version < REQUIRED_DRIVER_VERSION) {
            return Optional.of("the NVIDIA driver supports CUDA " + cudaVersion(version) + ", the PTX needs "
                    + cudaVersion(REQUIRED_DRIVER_VERSION) + " (driver ≥ 580): update the NVIDIA driver");
        }
        return Optional.empty();
    }

    /** {@code 12.6} for 12060. */
    static String cudaVersion(int version) {
        return version / 1000 + "." + version % 1000 / 10;
    }

    /** Why a GPU of this compute capability cannot run the {@code compute_90} PTX, or empty when it can. */
    static Optional<String> checkComputeCapability(int major, int minor) {
        if (major < REQUIRED_COMPUTE_CAPABILITY) {
            return Optional.of("compute capability " + major + "." + minor + ", but the PTX (compute_90) needs "
                    + REQUIRED_COMPUTE_CAPABILITY + ".0 or newer (Hopper, Blackwell)");
        }
        return Optional.empty();
    }

    /** Why the PTX on {@code loader}'s class path is missing or incomplete, or empty when every module is there. */
    static Optional<String> checkPtx(ClassLoader loader) {
        Optional<PtxIndex> index = PtxIndex.load(loader);
        if (index.isEmpty()) {
            return Optional.of("no PTX in the jar: evonas-kernels was built without nvcc (" + PtxIndex.RESOURCE
                    + " is missing); build it where the CUDA 13 toolkit is installed");
        }
        if (index.get().modules().isEmpty()) {
            return Optional.of("no PTX in the jar: " + PtxIndex.RESOURCE + " lists no modules");
        }
        for (String module : index.get().modules()) {
            if (loader.getResource(PtxIndex.DIRECTORY + module + ".ptx") == null) {
                return Optional.of("the jar's PTX is incomplete: " + PtxIndex.RESOURCE + " lists '" + module
                        + "' but " + PtxIndex.DIRECTORY + module + ".ptx is missing");
            }
        }
        return Optional.empty();
    }

    /** A sentence for JCuda's native binding failing to load (UnsatisfiedLinkError, NoClassDefFoundError). */
    static String describeLoadFailure(Throwable failure) {
        String text = String.valueOf(failure.getMessage());
        Matcher m = MISSING_LIBRARY.matcher(text);
        if (m.find()) {
            String library = m.group(1);
            if (library.startsWith("libcuda.so")) {
                return "the NVIDIA driver's CUDA library libcuda.so.1 cannot be loaded: this machine has no NVIDIA"
                        + " driver, or its library is not on the library path (" + library
                        + ": cannot open shared object file)";
            }
            return "JCuda's driver binding needs " + library + ", which cannot be loaded (cannot open shared"
                    + " object file)";
        }
        if (failure instanceof NoClassDefFoundError) {
            return "JCuda's driver binding failed to load earlier in this JVM (" + firstLine(text) + ")";
        }
        return "JCuda's native driver binding cannot be loaded on " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + ": " + firstLine(text);
    }

    private static String firstLine(String text) {
        int newline = text.indexOf('\n');
        return (newline < 0 ? text : text.substring(0, newline)).strip();
    }

    /** A sentence for {@code cuInit} returning {@code result}. */
    static String describeInitFailure(int result) {
        String code = "cuInit: " + CUresult.stringFor(result);
        return switch (result) {
            case CUDA_ERROR_NO_DEVICE -> "the NVIDIA driver is installed but finds no CUDA GPU (" + code
                    + "); check nvidia-smi and CUDA_VISIBLE_DEVICES";
            case CUDA_ERROR_STUB_LIBRARY -> "the libcuda.so.1 on the library path is the CUDA toolkit's stub, not"
                    + " the driver's library (" + code + "); take the stubs directory off LD_LIBRARY_PATH";
            case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH -> "libcuda.so.1 and the loaded NVIDIA kernel module are from"
                    + " different driver versions (" + code + "); reload the module or reboot";
            case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE -> "the CUDA forward-compatibility driver in use does"
                    + " not support this GPU (" + code + ")";
            case CUDA_ERROR_DEVICE_UNAVAILABLE -> "every CUDA GPU is busy or in a prohibited compute mode (" + code
                    + ")";
            default -> "the CUDA driver failed to initialise (" + code + ", error " + result + ")";
        };
    }

    /**
     * Throws when a driver call failed.
     *
     * @throws IllegalStateException naming the operation and the CUDA error
     */
    static void check(int result, String operation) {
        if (result != CUDA_SUCCESS) {
            throw new IllegalStateException(operation + ": " + CUresult.stringFor(result) + " (CUDA error "
                    + result + ")");
        }
    }

    private static Status initialise(ClassLoader loader) {
        int[] version = {0};
        int init;
        try {
            check(JCudaDriver.cuDriverGetVersion(version), "cuDriverGetVersion");
            init = JCudaDriver.cuInit(0);
        } catch (LinkageError e) {
            return unavailable(0, describeLoadFailure(e), List.of());
        }
        Optional<String> driver = checkDriver(version[0]);
        if (driver.isPresent()) {
            return unavailable(version[0], driver.get(), List.of());
        }
        if (init != CUDA_SUCCESS) {
            return unavailable(version[0], describeInitFailure(init), List.of());
        }
        int[] count = {0};
        check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) {
            return unavailable(version[0], "the NVIDIA driver reports no CUDA GPU (cuDeviceGetCount = 0); check"
                    + " nvidia-smi and CUDA_VISIBLE_DEVICES", List.of());
        }
        List<CudaDevice> devices = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (int ordinal = 0; ordinal < count[0]; ordinal++) {
            CudaDevice d = describeDevice(ordinal);
            Optional<String> unfit = checkComputeCapability(d.computeCapabilityMajor(), d.computeCapabilityMinor());
            if (unfit.isPresent()) {
                notes.add(d.name() + " (" + d.gpuName() + ") is left out: " + unfit.get());
            } else {
                devices.add(d);
            }
        }
        if (devices.isEmpty()) {
            return unavailable(version[0], "no GPU here can run the kernels: " + String.join("; ", notes), notes);
        }
        Optional<String> ptx = checkPtx(loader);
        if (ptx.isPresent()) {
            return unavailable(version[0], ptx.get(), notes);
        }
        return new Status(version[0], devices, "", notes);
    }

    private static CudaDevice describeDevice(int ordinal) {
        CUdevice device = new CUdevice();
        check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, device), "cuDeviceGetName(" + ordinal + ")");
        int length = 0;
        while (length < name.length && name[length] != 0) {
            length++;
        }
        int[] major = {0};
        int[] minor = {0};
        check(JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                device), "cuDeviceGetAttribute(" + ordinal + ", compute capability)");
        check(JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                device), "cuDeviceGetAttribute(" + ordinal + ", compute capability)");
        long[] bytes = {0};
        check(JCudaDriver.cuDeviceTotalMem(bytes, device), "cuDeviceTotalMem(" + ordinal + ")");
        return new CudaDevice(ordinal, device, new String(name, 0, length, StandardCharsets.UTF_8), major[0],
                minor[0], bytes[0]);
    }

    private static Status unavailable(int driverVersion, String reason, List<String> notes) {
        return new Status(driverVersion, List.of(), reason, notes);
    }
}
