package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;

/**
 * Single-precision matrix multiply on row-major arrays: {@code C = alpha * op(A) * op(B) + beta * C}, where
 * {@code op(A)} is {@code m × k} and {@code op(B)} is {@code k × n}. Without transposition A is stored
 * {@code m × k} with row stride {@code lda ≥ k}; transposed it is stored {@code k × m} with {@code lda ≥ m}
 * (likewise B: {@code k × n}, {@code ldb ≥ n}, or transposed {@code n × k}, {@code ldb ≥ k}).
 * With {@code beta == 0} C is overwritten, never read (so NaN in C does not leak in).
 */
public final class Sgemm {
    private Sgemm() {
    }

    /** {@code C = alpha * op(A) * op(B) + beta * C} on raw arrays; see the class comment for the layout. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        Parallel.forRange(m, 16, (from, to) -> {
            for (int i = from; i < to; i++) {
                for (int j = 0; j < n; j++) {
                    float s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                        float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                        s += av * bv;
                    }
                    int ci = cOff + i * ldc + j;
                    c[ci] = beta == 0 ? alpha * s : alpha * s + beta * c[ci];
                }
            }
        });
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
