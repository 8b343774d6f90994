package io.evonas.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Cublas}'s downcalls against {@link FakeCublas}, whose SGEMM is BLAS's column-major definition: the
 * row-major products, every transposition, with padded rows, must come out as a double-precision reference says,
 * which checks the operand swap and the leading dimensions that the real library would be given.
 */
class CublasBindingTest {
    private final SplittableRandom rng = new SplittableRandom(5);

    @Test
    void rowMajorProductsOfEveryTranspositionAgreeWithADoubleReference() {
        int[][] shapes = {{5, 7, 3}, {1, 9, 4}, {13, 2, 11}, {6, 6, 1}};
        try (Arena arena = Arena.ofConfined()) {
            FakeCublas fake = new FakeCublas(arena);
            Cublas blas = Cublas.open(fake.library());
            MemorySegment handle = blas.create();
            for (int[] s : shapes) {
                for (int t = 0; t < 4; t++) {
                    check(arena, blas, handle, t >= 2, (t & 1) == 1, s[0], s[1], s[2]);
                }
            }
            assertEquals(shapes.length * 4, fake.sgemmCalls);
            blas.destroy(handle);
            assertTrue(fake.destroyed);
        }
    }

    /** A row-major {@code op(A) op(B)} with every stored row two floats longer than it needs, C's padding NaN. */
    private void check(Arena arena, Cublas blas, MemorySegment handle, boolean transA, boolean transB, int m, int n,
                       int k) {
        int aRows = transA ? k : m;
        int aCols = transA ? m : k;
        int bRows = transB ? n : k;
        int bCols = transB ? k : n;
        int lda = aCols + 2;
        int ldb = bCols + 2;
        int ldc = n + 2;
        float[] a = random(aRows * lda);
        float[] b = random(bRows * ldb);
        float[] c = new float[m * ldc];
        Arrays.fill(c, Float.NaN);
        MemorySegment da = arena.allocateFrom(JAVA_FLOAT, a);
        MemorySegment db = arena.allocateFrom(JAVA_FLOAT, b);
        MemorySegment dc = arena.allocateFrom(JAVA_FLOAT, c);
        blas.sgemmRowMajor(handle, transA, transB, m, n, k, da.address(), lda, db.address(), ldb, dc.address(), ldc);
        float[] got = dc.toArray(JAVA_FLOAT);
        String what = (transA ? "t" : "n") + (transB ? "t" : "n") + " m=" + m + " n=" + n + " k=" + k;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < ldc; j++) {
                float v = got[i * ldc + j];
                if (j >= n) {
                    assertTrue(Float.isNaN(v), what + ": padding of C at " + i + "," + j + " was written");
                    continue;
                }
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? a[p * lda + i] : a[i * lda + p];
                    double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += x * y;
                }
                assertEquals(sum, v, 1e-5 * Math.max(1, Math.abs(sum)), what + ": C[" + i + "][" + j + "]");
            }
        }
    }

    private float[] random(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextDouble(-1, 1);
        }
        return v;
    }

    @Test
    void aStatusOtherThanSuccessNamesTheLibraryTheCallAndTheStatus() {
        try (Arena arena = Arena.ofConfined()) {
            Cublas blas = Cublas.open(new FakeCublas(arena).library());
            MemorySegment handle = blas.create();
            MemorySegment m = arena.allocate(64);
            // lda 1 is shorter than a row of A (k = 4): cuBLAS answers CUBLAS_STATUS_INVALID_VALUE
            var e = assertThrows(IllegalStateException.class, () -> blas.sgemmRowMajor(handle, false, false, 2, 2, 4,
                    m.address(), 1, m.address(), 2, m.address(), 2));
            assertTrue(e.getMessage().startsWith("libcublas.so.fake: cublasSgemm_v2(m=2, n=2, k=4) failed: "
                    + "CUBLAS_STATUS_INVALID_VALUE"), e.getMessage());
        }
    }

    @Test
    void mathModeAndVersionReachTheLibrary() {
        try (Arena arena = Arena.ofConfined()) {
            FakeCublas fake = new FakeCublas(arena);
            Cublas blas = Cublas.open(fake.library());
            MemorySegment handle = blas.create();
            blas.setMathMode(handle, Cublas.TF32_TENSOR_OP_MATH);
            assertEquals(3, fake.mathMode);
            blas.setMathMode(handle, Cublas.PEDANTIC_MATH);
            assertEquals(2, fake.mathMode);
            assertEquals("13.1.0", blas.version());
        }
    }

    @Test
    void aLibraryWithoutAFunctionIsRefusedNamingBoth() {
        NativeLibrary empty = new NativeLibrary("libcublas.so.11", name -> Optional.empty());
        var e = assertThrows(IllegalStateException.class, () -> Cublas.open(empty));
        assertTrue(e.getMessage().startsWith("libcublas.so.11 has no function cublasCreate_v2"), e.getMessage());
    }

    @Test
    void aLibraryThatDoesNotLoadIsReportedWithEveryNameTried() {
        NativeLibrary.Opened opened = NativeLibrary.open(List.of("libevonas-absent.so.1",
                "libevonas-absent.so.2"));
        assertEquals(null, opened.library());
        assertTrue(opened.reason().startsWith("none of libevonas-absent.so.1, libevonas-absent.so.2 loads"),
                opened.reason());
        assertTrue(opened.reason().contains("libevonas-absent.so.2: "), opened.reason());
    }
}
