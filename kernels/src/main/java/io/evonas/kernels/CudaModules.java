package io.evonas.kernels;

import java.lang.ref.Reference;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * The PTX modules of one device: {@code io/evonas/kernels/ptx/NAME.ptx} from the jar, loaded (JIT-compiled by the
 * driver) once on first use, and their kernels looked up once by name.
 *
 * <pre>{@code
 * CUfunction fill = device.modules().function("selftest", "evonas_fill");
 * device.modules().launch(fill, Dim3.blocksFor(n, 256), Dim3.of(256), 0, storage, 1.5f, n);
 * }</pre>
 *
 * <p>Kernel arguments map to C parameters by their Java type: {@code Integer} to {@code int}, {@code Float} to
 * {@code float}, {@code Long} to {@code long long}, {@code Double} to {@code double}, {@link CudaStorage} and
 * {@link CUdeviceptr} to a device pointer ({@code float*}).
 */
public final class CudaModules {
    private final CudaDevice device;
    private final Map<String, CUmodule> modules = new ConcurrentHashMap<>();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();

    CudaModules(CudaDevice device) {
        this.device = device;
    }

    /** The module names the jar holds, as listed by the build; empty when it was built without nvcc. */
    public static List<String> available() {
        return PtxIndex.load(CudaModules.class.getClassLoader()).map(PtxIndex::modules).orElse(List.of());
    }

    /** Loads {@code module} on this device if it is not loaded yet. */
    public CUmodule module(String module) {
        Objects.requireNonNull(module, "module");
        return modules.computeIfAbsent(module, this::load);
    }

    private CUmodule load(String module) {
        String ptx = PtxIndex.read(CudaModules.class.getClassLoader(), module);
        device.makeCurrent();
        CUmodule m = new CUmodule();
        Cuda.check(JCudaDriver.cuModuleLoadData(m, ptx), device.name() + ": cuModuleLoadData(" + module + ".ptx)");
        return m;
    }

    /**
     * The kernel {@code kernel} (its {@code extern "C"} name) of {@code module}.
     *
     * @throws IllegalStateException when the module has no such kernel ({@code CUDA_ERROR_NOT_FOUND})
     */
    public CUfunction function(String module, String kernel) {
        Objects.requireNonNull(kernel, "kernel");
        return functions.computeIfAbsent(module + "/" + kernel, key -> {
            CUmodule m = module(module);
            CUfunction f = new CUfunction();
            device.makeCurrent();
            Cuda.check(JCudaDriver.cuModuleGetFunction(f, m, kernel), device.name() + ": cuModuleGetFunction("
                    + module + ", " + kernel + ")");
            return f;
        });
    }

    /**
     * Queues {@code function} on the device's default stream; returns before it runs. A fault inside the kernel
     * surfaces at the next synchronising call ({@link CudaDevice#synchronize}, a copy to the host).
     *
     * @param sharedBytes dynamic shared memory per block
     * @param args the kernel's parameters in order; see the class comment for the types
     */
    public void launch(CUfunction function, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(grid, "grid");
        Objects.requireNonNull(block, "block");
        Pointer params = kernelParams(args);
        device.makeCurrent();
        try {
            Cuda.check(JCudaDriver.cuLaunchKernel(function, grid.x(), grid.y(), grid.z(), block.x(), block.y(),
                    block.z(), sharedBytes, null, params, null), device.name() + ": cuLaunchKernel(grid " + grid
                    + ", block " + block + ", " + sharedBytes + " shared bytes)");
        } finally {
            Reference.reachabilityFence(args);
        }
    }

    /** The {@code kernelParams} array of {@code cuLaunchKernel}: one pointer to each argument's value. */
    static Pointer kernelParams(Object... args) {
        Objects.requireNonNull(args, "args");
        NativePointerObject[] pointers = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            pointers[i] = switch (args[i]) {
                case Integer v -> Pointer.to(new int[] {v});
                case Float v -> Pointer.to(new float[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Double v -> Pointer.to(new double[] {v});
                case CudaStorage s -> Pointer.to(s.pointer());
                case CUdeviceptr p -> Pointer.to(p);
                case null -> throw new IllegalArgumentException("kernel argument " + i + " is null");
                default -> throw new IllegalArgumentException("kernel argument " + i + " is a "
                        + args[i].getClass().getName() + "; use Integer, Float, Long, Double, CudaStorage or"
                        + " CUdeviceptr");
            };
        }
        return Pointer.to(pointers);
    }
}
