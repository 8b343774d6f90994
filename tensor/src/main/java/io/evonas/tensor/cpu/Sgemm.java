package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;

/**
 * Single-precision matrix multiply on row-major arrays: {@code C = alpha * op(A) * op(B) + beta * C}, where
 * {@code op(A)} is {@code m × k} and {@code op(B)} is {@code k × n}. Without transposition A is stored
 * {@code m × k} with row stride {@code lda ≥ k}; transposed it is stored {@code k × m} with {@code lda ≥ m}
 * (likewise B: {@code k × n}, {@code ldb ≥ n}, or transposed {@code n × k}, {@code ldb ≥ k}).
 * With {@code beta == 0} C is overwritten, never read (so NaN in C does not leak in).
 *
 * <p>Tiny problems run as plain row loops on the caller; the rest go to a BLIS-style blocked kernel (packed
 * panels, a 14 × 32 register-blocked micro-kernel on {@code FloatVector.SPECIES_PREFERRED}, see
 * {@link SgemmBlocked}), spread over {@link Parallel}'s threads: wide products hand out column blocks as threads
 * become free ({@link SgemmBlocked#runClaimed}); one block of rows and steps is split by column panels after the
 * threads have packed A between them ({@link SgemmBlocked#runSharedA}); otherwise whole column panels (or row panels
 * when C is taller than wide) with each thread packing its own share. Every split gives the same result bit for bit
 * as one thread. Packing buffers are per thread, so concurrent callers and calls from inside a parallel region are
 * safe.
 *
 * <pre>{@code
 * float[] a = {1, 2, 3, 4, 5, 6};       // 2 × 3
 * float[] b = {1, 0, 0, 1, 1, 1};       // 3 × 2
 * float[] c = new float[4];             // 2 × 2
 * Sgemm.sgemm(false, false, 2, 2, 3, 1f, a, 0, 3, b, 0, 2, 0f, c, 0, 2);   // c = {4, 5, 10, 11}
 * }</pre>
 */
public final class Sgemm {
    /** Below this many multiply-adds ({@code m·n·k}) the unpacked row-by-row loops are used. */
    static final long SMALL_WORK = 32 * 32 * 32;
    /** Below this many multiply-adds the blocked kernel stays on the calling thread. */
    private static final long PARALLEL_WORK = 64 * 64 * 64;

    private Sgemm() {
    }

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} on raw arrays; see the class comment for the layout. Runs on
     * {@link Parallel}'s threads when the problem is large enough; safe to call from several threads at once and
     * from inside a parallel region.
     *
     * @throws IllegalArgumentException for a negative size or a matrix that does not fit its array
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0) {
            SgemmSmall.scale(m, n, beta, c, cOff, ldc);
            return;
        }
        long work = (long) m * n * k;
        if (work < SMALL_WORK) {
            SgemmSmall.run(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (work < PARALLEL_WORK || Parallel.threads() == 1) {
            SgemmBlocked.run(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (n >= m && SgemmBlocked.sharesA(transB, m, k)) {
            SgemmBlocked.runSharedA(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (n >= m && SgemmBlocked.claims(transB, n, k, Parallel.threads())) {
            SgemmBlocked.runClaimed(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (n >= m) {
            // Each thread takes a range of whole column panels: it packs all of A and its own part of B.
            int panels = (n + SgemmKernel.NR - 1) / SgemmKernel.NR;
            Parallel.forRange(panels, (from, to) -> {
                int j0 = from * SgemmKernel.NR;
                int j1 = Math.min(n, to * SgemmKernel.NR);
                SgemmBlocked.run(transA, transB, m, j1 - j0, k, alpha, a, aOff, lda,
                        b, bOff + (transB ? j0 * ldb : j0), ldb, beta, c, cOff + j0, ldc);
            });
        } else {
            // Each thread takes a range of whole row panels: it packs its own part of A and all of B.
            int panels = (m + SgemmKernel.MR - 1) / SgemmKernel.MR;
            Parallel.forRange(panels, (from, to) -> {
                int i0 = from * SgemmKernel.MR;
                int i1 = Math.min(m, to * SgemmKernel.MR);
                SgemmBlocked.run(transA, transB, i1 - i0, n, k, alpha, a, aOff + (transA ? i0 : i0 * lda), lda,
                        b, bOff, ldb, beta, c, cOff + i0 * ldc, ldc);
            });
        }
    }

    /** {@code op(a) × op(b)} for rank-2 tensors, into a new {@code [m, n]} tensor. */
    public static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        int m = matrixDim(a, transA, 0, "a");
        int n = matrixDim(b, transB, 1, "b");
        return matmul(a, transA, b, transB, Tensor.zeros(m, n), 0f);
    }

    /** {@code out = op(a) × op(b) + beta * out} for rank-2 tensors; returns {@code out}. */
    public static Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor out, float beta) {
        if (a.rank() != 2 || b.rank() != 2 || out.rank() != 2) {
            throw new IllegalArgumentException("matmul: needs rank-2 tensors, got a " + a.shape() + ", b "
                    + b.shape() + ", out " + out.shape());
        }
        int m = matrixDim(a, transA, 0, "a");
        int k = matrixDim(a, transA, 1, "a");
        int kb = matrixDim(b, transB, 0, "b");
        int n = matrixDim(b, transB, 1, "b");
        if (k != kb || out.dim(0) != m || out.dim(1) != n) {
            throw new IllegalArgumentException("matmul: a " + a.shape() + (transA ? "ᵀ" : "") + " × b " + b.shape()
                    + (transB ? "ᵀ" : "") + " -> out " + out.shape() + " do not agree (inner " + k + " vs " + kb
                    + ", out must be [" + m + ", " + n + "])");
        }
        checkDistinct(out, a, b);
        sgemm(transA, transB, m, n, k, 1f, a.data(), a.offset(), a.dim(1), b.data(), b.offset(), b.dim(1),
                beta, out.data(), out.offset(), n);
        return out;
    }

    private static int matrixDim(Tensor t, boolean trans, int which, String name) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException("matmul: " + name + " " + t.shape() + " is not a matrix");
        }
        return t.dim(trans ? 1 - which : which);
    }

    private static void checkDistinct(Tensor out, Tensor a, Tensor b) {
        if (out.data() == a.data() || out.data() == b.data()) {
            throw new IllegalArgumentException("matmul: out " + out.shape() + " shares storage with an input");
        }
    }

    static void checkArgs(boolean transA, boolean transB, int m, int n, int k,
                          float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("sgemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        int aRows = transA ? k : m;
        int aCols = transA ? m : k;
        int bRows = transB ? n : k;
        int bCols = transB ? k : n;
        checkMatrix("a", a, aOff, lda, aRows, aCols, m, n, k);
        checkMatrix("b", b, bOff, ldb, bRows, bCols, m, n, k);
        checkMatrix("c", c, cOff, ldc, m, n, m, n, k);
    }

    private static void checkMatrix(String name, float[] x, int off, int ld, int rows, int cols, int m, int n, int k) {
        if (rows == 0 || cols == 0) {
            return;
        }
        if (ld < cols || off < 0 || (long) off + (long) (rows - 1) * ld + cols > x.length) {
            throw new IllegalArgumentException("sgemm: " + name + " (" + rows + " × " + cols + ", offset " + off
                    + ", leading dimension " + ld + ") does not fit its array of " + x.length + " for m=" + m
                    + " n=" + n + " k=" + k);
        }
    }
}
