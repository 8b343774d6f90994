package io.evonas.kernels;

import io.evonas.tensor.Device;
import java.util.Objects;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * One GPU, {@code cuda:N} by its CUDA ordinal, found by {@link Cuda}. Its memory comes from a {@link CachingAllocator}
 * and its kernels from {@link CudaModules}; all work runs on the legacy default stream of the device's primary
 * context, which every thread makes current before a driver call, so tensors may be used from any thread.
 */
public final class CudaDevice implements Device {
    private static final ThreadLocal<CUcontext> CURRENT = new ThreadLocal<>();

    private final int ordinal;
    private final CUdevice device;
    private final String gpuName;
    private final int major;
    private final int minor;
    private final long totalBytes;
    private final CudaRawMemory raw;
    private final CachingAllocator allocator;
    private final CudaModules modules;
    private final CudaBackend backend;
    private final CudaBackend kernelBackend;
    private volatile LibraryHandles libraries;
    private volatile CUcontext context;
    private volatile int multiprocessors;

    CudaDevice(int ordinal, CUdevice device, String gpuName, int major, int minor, long totalBytes) {
        this.ordinal = ordinal;
        this.device = Objects.requireNonNull(device, "device");
        this.gpuName = gpuName;
        this.major = major;
        this.minor = minor;
        this.totalBytes = totalBytes;
        this.raw = new CudaRawMemory(this);
        this.allocator = new CachingAllocator(raw);
        this.modules = new CudaModules(this);
        this.backend = new CudaBackend(this, true);
        this.kernelBackend = new CudaBackend(this, false);
    }

    @Override
    public String name() {
        return "cuda:" + ordinal;
    }

    /** The CUDA ordinal, N in {@code cuda:N}. */
    public int ordinal() {
        return ordinal;
    }

    /** The GPU's name, e.g. {@code NVIDIA H200}. */
    public String gpuName() {
        return gpuName;
    }

    /** Compute capability, major part (9 for Hopper). */
    public int computeCapabilityMajor() {
        return major;
    }

    /** Compute capability, minor part. */
    public int computeCapabilityMinor() {
        return minor;
    }

    /** The GPU's memory in bytes. */
    public long totalMemory() {
        return totalBytes;
    }

    /** Free device memory in bytes, as the driver sees it (other processes included). */
    public long freeMemory() {
        makeCurrent();
        long[] free = {0};
        long[] total = {0};
        Cuda.check(JCudaDriver.cuMemGetInfo(free, total), name() + ": cuMemGetInfo");
        return free[0];
    }

    /** The device's memory cache. */
    public CachingAllocator allocator() {
        return allocator;
    }

    /** The device's loaded PTX modules and kernel launches. */
    public CudaModules modules() {
        return modules;
    }

    /**
     * The tensor operations on this GPU: the kernels of {@link CudaModules}, launched by {@link CudaBackend}, with
     * matrix products on cuBLAS and convolutions on cuDNN where {@link CudaLibraries} found them.
     */
    @Override
    public CudaBackend backend() {
        return backend;
    }

    /**
     * The same operations on evonas's own kernels only, never cuBLAS or cuDNN: for tests that check the kernels and
     * benchmarks that compare them with the libraries.
     */
    public CudaBackend kernelBackend() {
        return kernelBackend;
    }

    /** cuBLAS and cuDNN on this device, as {@link CudaLibraries} found them; made on first use. */
    LibraryHandles libraries() {
        LibraryHandles l = libraries;
        if (l == null) {
            synchronized (this) {
                if (libraries == null) {
                    CudaLibraries.Found f = CudaLibraries.found();
                    libraries = new LibraryHandles(this, f.cublas(), f.cudnn(), f.tf32());
                }
                l = libraries;
            }
        }
        return l;
    }

    /** The GPU's streaming multiprocessors, asked of the driver once. */
    public int multiprocessors() {
        int count = multiprocessors;
        if (count == 0) {
            int[] value = {0};
            Cuda.check(JCudaDriver.cuDeviceGetAttribute(value,
                    CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), name()
                    + ": cuDeviceGetAttribute(multiprocessor count)");
            count = Math.max(1, value[0]);
            multiprocessors = count;
        }
        return count;
    }

    /** Zeroed storage for {@code size} floats, from the cache when a block fits. */
    @Override
    public CudaStorage allocate(int size) {
        return new CudaStorage(this, size);
    }

    /** Waits until every kernel and copy queued on this device has finished, and reports a kernel's failure. */
    public void synchronize() {
        makeCurrent();
        Cuda.check(JCudaDriver.cuCtxSynchronize(), name() + ": cuCtxSynchronize");
    }

    /** Makes this device's primary context current on the calling thread, retaining it on first use. */
    void makeCurrent() {
        CUcontext c = context;
        if (c == null) {
            synchronized (this) {
                if (context == null) {
                    CUcontext retained = new CUcontext();
                    Cuda.check(JCudaDriver.cuDevicePrimaryCtxRetain(retained, device),
                            name() + ": cuDevicePrimaryCtxRetain");
                    context = retained;
                }
                c = context;
            }
        }
        if (CURRENT.get() != c) {
            Cuda.check(JCudaDriver.cuCtxSetCurrent(c), name() + ": cuCtxSetCurrent");
            CURRENT.set(c);
        }
    }

    /** The JCuda pointer of a block this device's allocator handed out. */
    CUdeviceptr pointer(long address) {
        return raw.pointer(address);
    }

    @Override
    public String toString() {
        return name() + " (" + gpuName + ", compute " + major + "." + minor + ", " + totalBytes / (1L << 20)
                + " MiB)";
    }
}
