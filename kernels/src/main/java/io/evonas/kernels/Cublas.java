package io.evonas.kernels;

import static io.evonas.kernels.NativeLibrary.ONE;
import static io.evonas.kernels.NativeLibrary.ZERO;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Objects;

/**
 * cuBLAS (libcublas.so.13, else .12) bound through FFM downcalls: handle creation, the math mode (FP32 or TF32
 * tensor cores) and {@code cublasSgemm_v2}, which {@link #sgemmRowMajor} calls for row-major matrices. JCublas is
 * not used: its 12.x builds need libcublas.so.12, and the GPU machines run CUDA 13.
 *
 * <p>cuBLAS uses the runtime API, which works in the context current on the calling thread: the caller makes the
 * device's primary context current first, and work goes to the legacy default stream, as the kernels' does.
 *
 * <pre>{@code
 * Cublas blas = Cublas.open(NativeLibrary.open(Cublas.LIBRARIES).library());
 * MemorySegment handle = blas.create();
 * blas.sgemmRowMajor(handle, false, false, m, n, k, a, k, b, n, c, n);   // C = A B, device addresses
 * }</pre>
 */
final class Cublas {
    /** The libraries tried, newest first. */
    static final List<String> LIBRARIES = List.of("libcublas.so.13", "libcublas.so.12");
    /** {@code CUBLAS_OP_N}, {@code CUBLAS_OP_T}. */
    static final int OP_N = 0;
    static final int OP_T = 1;
    /** {@code CUBLAS_PEDANTIC_MATH}: FP32 arithmetic only, never TF32. */
    static final int PEDANTIC_MATH = 2;
    /** {@code CUBLAS_TF32_TENSOR_OP_MATH}: FP32 GEMMs may round their inputs to TF32 for the tensor cores. */
    static final int TF32_TENSOR_OP_MATH = 3;

    private final NativeLibrary lib;
    private final String library;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle getProperty;
    private final MethodHandle setMathMode;
    private final MethodHandle sgemm;
    private final MethodHandle statusName;

    private Cublas(NativeLibrary lib) {
        this.lib = lib;
        library = lib.name();
        create = lib.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = lib.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getProperty = lib.function("cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        setMathMode = lib.function("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        // cublasSgemm_v2(handle, transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc)
        sgemm = lib.function("cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT));
        statusName = lib.function("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** Binds {@code lib}'s functions; throws, naming the function, when one is missing. */
    static Cublas open(NativeLibrary lib) {
        return new Cublas(Objects.requireNonNull(lib, "lib"));
    }

    /** The library's file name. */
    String library() {
        return library;
    }

    /** {@code cublasCreate_v2}: a new handle, in the context current on this thread. */
    MemorySegment create() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) create.invokeExact(out), "cublasCreate_v2");
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw lib.rethrow(t, "cublasCreate_v2");
        }
    }

    /** {@code cublasDestroy_v2}. */
    void destroy(MemorySegment handle) {
        check(call(destroy, "cublasDestroy_v2", handle), "cublasDestroy_v2");
    }

    /** The library's version, {@code major.minor.patch}, from {@code cublasGetProperty}. */
    String version() {
        StringBuilder v = new StringBuilder();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            for (int type = 0; type < 3; type++) { // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
                check((int) getProperty.invokeExact(type, out), "cublasGetProperty(" + type + ")");
                v.append(type == 0 ? "" : ".").append(out.get(JAVA_INT, 0));
            }
        } catch (Throwable t) {
            throw lib.rethrow(t, "cublasGetProperty");
        }
        return v.toString();
    }

    /** {@code cublasSetMathMode}: {@link #PEDANTIC_MATH} or {@link #TF32_TENSOR_OP_MATH}. */
    void setMathMode(MemorySegment handle, int mode) {
        try {
            check((int) setMathMode.invokeExact(handle, mode), "cublasSetMathMode(" + mode + ")");
        } catch (Throwable t) {
            throw lib.rethrow(t, "cublasSetMathMode");
        }
    }

    /**
     * {@code C = op(A) op(B)} for row-major matrices at device addresses: {@code op(A)} is {@code m × k}, {@code op(B)}
     * {@code k × n}, C {@code m × n}, and {@code lda}, {@code ldb}, {@code ldc} are the stored rows' lengths.
     *
     * <p>cuBLAS is column-major, and a row-major matrix read column-major is its transpose, so this asks cuBLAS for
     * {@code Cᵀ = op(B)ᵀ op(A)ᵀ}: B first, A second, {@code n × m} of result.
     */
    void sgemmRowMajor(MemorySegment handle, boolean transA, boolean transB, int m, int n, int k, long a, int lda,
                       long b, int ldb, long c, int ldc) {
        try {
            int status = (int) sgemm.invokeExact(handle, transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m, k, ONE,
                    MemorySegment.ofAddress(b), ldb, MemorySegment.ofAddress(a), lda, ZERO,
                    MemorySegment.ofAddress(c), ldc);
            check(status, "cublasSgemm_v2(m=" + m + ", n=" + n + ", k=" + k + ")");
        } catch (Throwable t) {
            throw lib.rethrow(t, "cublasSgemm_v2");
        }
    }

    private int call(MethodHandle h, String what, MemorySegment arg) {
        try {
            return (int) h.invokeExact(arg);
        } catch (Throwable t) {
            throw lib.rethrow(t, what);
        }
    }

    /** Throws, naming the call and the status ({@code CUBLAS_STATUS_...}), unless {@code status} is success. */
    void check(int status, String what) {
        if (status != 0) {
            throw lib.failure(what, status, statusName, "cuBLAS");
        }
    }
}
