package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.S;
import static io.evonas.tensor.cpu.SgemmKernel.VL;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * SGEMM for problems too small to repay packing: row by row, as axpy updates of C's row (row-major B) or dot
 * products (transposed B), on the calling thread. Also scales C when there is nothing to multiply.
 */
final class SgemmSmall {
    private SgemmSmall() {
    }

    /** {@code C = alpha·op(A)·op(B) + beta·C} for arguments already checked, {@code m, n, k > 0}. */
    static void run(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
        int aRow = transA ? 1 : lda;
        int aStep = transA ? lda : 1;
        for (int i = 0; i < m; i++) {
            int ai = aOff + i * aRow;
            int ci = cOff + i * ldc;
            if (transB) {
                for (int j = 0; j < n; j++) {
                    int bj = bOff + j * ldb;
                    float s = aStep == 1 ? dot(a, ai, b, bj, k) : dotStrided(a, ai, aStep, b, bj, k);
                    c[ci + j] = beta == 0 ? alpha * s : alpha * s + beta * c[ci + j];
                }
            } else {
                scale(c, ci, n, beta);
                for (int p = 0; p < k; p++) {
                    axpy(alpha * a[ai + p * aStep], b, bOff + p * ldb, c, ci, n);
                }
            }
        }
    }

    /** {@code C = beta·C} on {@code m × n}, writing zeros without reading when {@code beta == 0}. */
    static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            scale(c, cOff + i * ldc, n, beta);
        }
    }

    private static void scale(float[] c, int ci, int n, float beta) {
        if (beta == 0) {
            java.util.Arrays.fill(c, ci, ci + n, 0f);
        } else if (beta != 1) {
            for (int j = 0; j < n; j++) {
                c[ci + j] *= beta;
            }
        }
    }

    /** {@code y[yi + j] += s·x[xi + j]} for {@code j < n}. */
    private static void axpy(float s, float[] x, int xi, float[] y, int yi, int n) {
        int j = 0;
        FloatVector sv = FloatVector.broadcast(S, s);
        for (; j + VL <= n; j += VL) {
            FloatVector.fromArray(S, x, xi + j).fma(sv, FloatVector.fromArray(S, y, yi + j)).intoArray(y, yi + j);
        }
        for (; j < n; j++) {
            y[yi + j] += s * x[xi + j];
        }
    }

    private static float dot(float[] x, int xi, float[] y, int yi, int n) {
        int p = 0;
        float s = 0;
        if (n >= VL) {
            FloatVector acc = FloatVector.zero(S);
            for (; p + VL <= n; p += VL) {
                acc = FloatVector.fromArray(S, x, xi + p).fma(FloatVector.fromArray(S, y, yi + p), acc);
            }
            s = Lanes.sum(acc);
        }
        for (; p < n; p++) {
            s += x[xi + p] * y[yi + p];
        }
        return s;
    }

    private static float dotStrided(float[] x, int xi, int xs, float[] y, int yi, int n) {
        float s = 0;
        for (int p = 0; p < n; p++) {
            s += x[xi + p * xs] * y[yi + p];
        }
        return s;
    }
}
