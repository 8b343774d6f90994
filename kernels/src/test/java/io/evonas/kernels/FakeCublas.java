package io.evonas.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A stand-in for libcublas made of upcall stubs, so that {@link Cublas} runs its real downcalls without a GPU: its
 * {@code cublasSgemm_v2} is BLAS's column-major SGEMM on host memory, checking the arguments as cuBLAS does
 * ({@code CUBLAS_STATUS_INVALID_VALUE} for a negative size or a leading dimension shorter than a column). The
 * matrices are host addresses standing for device ones.
 */
final class FakeCublas {
    static final int SUCCESS = 0;
    static final int INVALID_VALUE = 7;

    private final Arena arena;
    private final MemorySegment handle;
    int mathMode = -1;
    int sgemmCalls;
    boolean destroyed;

    FakeCublas(Arena arena) {
        this.arena = arena;
        this.handle = arena.allocate(8);
    }

    /** The library: a lookup of upcall stubs with cuBLAS's names and C signatures. */
    NativeLibrary library() {
        Map<String, MemorySegment> symbols = new HashMap<>();
        symbols.put("cublasCreate_v2", stub("create", FunctionDescriptor.of(JAVA_INT, ADDRESS)));
        symbols.put("cublasDestroy_v2", stub("destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)));
        symbols.put("cublasGetProperty", stub("property", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS)));
        symbols.put("cublasSetMathMode", stub("setMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)));
        symbols.put("cublasSgemm_v2", stub("sgemm", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT)));
        symbols.put("cublasGetStatusName", stub("statusName", FunctionDescriptor.of(ADDRESS, JAVA_INT)));
        SymbolLookup lookup = name -> Optional.ofNullable(symbols.get(name));
        return new NativeLibrary("libcublas.so.fake", lookup);
    }

    private MemorySegment stub(String method, FunctionDescriptor descriptor) {
        try {
            MethodType type = descriptor.toMethodType();
            var target = MethodHandles.lookup().findVirtual(FakeCublas.class, method, type).bindTo(this);
            return Linker.nativeLinker().upcallStub(target, descriptor, arena);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    int create(MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, handle);
        return SUCCESS;
    }

    int destroy(MemorySegment h) {
        destroyed = h.address() == handle.address();
        return destroyed ? SUCCESS : INVALID_VALUE;
    }

    int property(int type, MemorySegment out) {
        out.reinterpret(4).set(JAVA_INT, 0, new int[] {13, 1, 0}[type]);
        return SUCCESS;
    }

    int setMathMode(MemorySegment h, int mode) {
        mathMode = mode;
        return h.address() == handle.address() ? SUCCESS : INVALID_VALUE;
    }

    MemorySegment statusName(int status) {
        return arena.allocateFrom(status == INVALID_VALUE ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_" + status);
    }

    /** Column-major {@code C = alpha op(A) op(B) + beta C}, as the reference BLAS defines it. */
    int sgemm(MemorySegment h, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment a,
              int lda, MemorySegment b, int ldb, MemorySegment beta, MemorySegment c, int ldc) {
        try {
            sgemmCalls++;
            boolean ta = transa == Cublas.OP_T;
            boolean tb = transb == Cublas.OP_T;
            if (h.address() != handle.address() || m < 0 || n < 0 || k < 0 || lda < Math.max(1, ta ? k : m)
                    || ldb < Math.max(1, tb ? n : k) || ldc < Math.max(1, m)) {
                return INVALID_VALUE;
            }
            float al = alpha.reinterpret(4).get(JAVA_FLOAT, 0);
            float be = beta.reinterpret(4).get(JAVA_FLOAT, 0);
            MemorySegment as = a.reinterpret(4L * lda * (ta ? m : k));
            MemorySegment bs = b.reinterpret(4L * ldb * (tb ? k : n));
            MemorySegment cs = c.reinterpret(4L * ldc * n);
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        float x = as.getAtIndex(JAVA_FLOAT, ta ? p + (long) i * lda : i + (long) p * lda);
                        float y = bs.getAtIndex(JAVA_FLOAT, tb ? j + (long) p * ldb : p + (long) j * ldb);
                        sum += (double) x * y;
                    }
                    long at = i + (long) j * ldc;
                    double old = be == 0 ? 0 : be * cs.getAtIndex(JAVA_FLOAT, at);
                    cs.setAtIndex(JAVA_FLOAT, at, (float) (al * sum + old));
                }
            }
            return SUCCESS;
        } catch (RuntimeException e) {
            return INVALID_VALUE; // an upcall must not throw: the JVM would stop
        }
    }
}
