package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.testing.Oracles;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.random.RandomGenerator;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** SGEMM against a triple loop in double precision and against EJML, on every path of the kernel. */
class SgemmTest {
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    /** One problem: op(A) m×k, op(B) k×n, C m×n, each stored at an offset with a leading dimension ≥ its width. */
    private record Case(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta,
                        float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {

        static Case random(RandomGenerator rng, boolean transA, boolean transB, int m, int n, int k, float alpha,
                           float beta, int pad) {
            int aRows = transA ? k : m;
            int lda = (transA ? m : k) + rng.nextInt(pad + 1);
            int bRows = transB ? n : k;
            int ldb = (transB ? k : n) + rng.nextInt(pad + 1);
            int ldc = n + rng.nextInt(pad + 1);
            int aOff = rng.nextInt(pad + 1);
            int bOff = rng.nextInt(pad + 1);
            int cOff = rng.nextInt(pad + 1);
            float[] a = Oracles.randomArray(rng, aOff + aRows * lda);
            float[] b = Oracles.randomArray(rng, bOff + bRows * ldb);
            float[] c = Oracles.randomArray(rng, cOff + m * ldc);
            if (beta == 0) {
                Arrays.fill(c, Float.NaN);
            }
            return new Case(transA, transB, m, n, k, alpha, beta, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        }

        /** C after the operation, in double, with untouched elements (padding) kept. */
        double[] expected() {
            double[] e = Oracles.toDouble(c);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                        double bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                        s += av * bv;
                    }
                    int ci = cOff + i * ldc + j;
                    e[ci] = alpha * s + (beta == 0 ? 0 : beta * (double) c[ci]);
                }
            }
            return e;
        }

        float[] run() {
            float[] out = c.clone();
            Sgemm.sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, out, cOff, ldc);
            return out;
        }

        void check() {
            double[] e = expected();
            float[] got = run();
            // the expectation keeps C's padding as it was (NaN where beta == 0): the kernel must not touch it
            Oracles.assertClose(this.toString(), e, got, 1e-4, 2e-6 * (k + 1));
        }

        @Override
        public String toString() {
            return "sgemm " + (transA ? "T" : "N") + (transB ? "T" : "N") + " m=" + m + " n=" + n + " k=" + k
                    + " alpha=" + alpha + " beta=" + beta + " offsets " + aOff + "/" + bOff + "/" + cOff
                    + " ld " + lda + "/" + ldb + "/" + ldc;
        }
    }

    private static final float[] ALPHAS = {1f, -0.5f, 2f};
    private static final float[] BETAS = {0f, 1f, 0.75f};

    @Test
    void randomSmallShapesEveryTransposeAlphaBeta() {
        SplittableRandom rng = new SplittableRandom(42);
        for (int t = 0; t < 300; t++) {
            int m = 1 + rng.nextInt(t < 150 ? 12 : 70);
            int n = 1 + rng.nextInt(t < 150 ? 12 : 90);
            int k = 1 + rng.nextInt(t < 150 ? 12 : 80);
            Case.random(rng, rng.nextBoolean(), rng.nextBoolean(), m, n, k, ALPHAS[rng.nextInt(3)],
                    BETAS[rng.nextInt(3)], 5).check();
        }
    }

    @Test
    void tinyAndDegenerateSizes() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int v = 0; v < 4; v++) {
            boolean ta = (v & 1) != 0;
            boolean tb = (v & 2) != 0;
            Case.random(rng, ta, tb, 1, 1, 1, 1f, 0f, 0).check();
            Case.random(rng, ta, tb, 1, 1, 1, 2f, 0.5f, 3).check();
            Case.random(rng, ta, tb, 1, 37, 300, 1f, 1f, 2).check();
            Case.random(rng, ta, tb, 300, 1, 37, 1f, 0f, 2).check();
            Case.random(rng, ta, tb, 45, 70, 1, 1f, 0f, 2).check();
            // k = 0: C = beta·C, and with beta = 0 a NaN-filled C becomes zeros
            Case.random(rng, ta, tb, 5, 6, 0, 1f, 0.5f, 1).check();
            Case.random(rng, ta, tb, 5, 6, 0, 1f, 0f, 1).check();
            // alpha = 0 leaves A and B unread
            Case.random(rng, ta, tb, 40, 50, 60, 0f, 0.5f, 1).check();
        }
        float[] c = {3f};
        Sgemm.sgemm(false, false, 0, 1, 1, 1f, new float[0], 0, 1, new float[1], 0, 1, 0f, c, 0, 1);
        Sgemm.sgemm(false, false, 1, 0, 1, 1f, new float[1], 0, 1, new float[0], 0, 1, 0f, c, 0, 1);
        assertEquals(3f, c[0], "m or n = 0 must leave C alone");
    }

    @Test
    void blockedShapesEveryTransposeAtOneAndTwoThreads() {
        SplittableRandom rng = new SplittableRandom(3);
        // sizes off every multiple of 8, 16, 32 and of the block sizes; several K and N blocks
        int[][] shapes = {{67, 97, 131}, {130, 601, 1100}, {517, 45, 300}, {9, 259, 523}, {33, 1000, 9}};
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (int[] s : shapes) {
                for (int v = 0; v < 4; v++) {
                    float beta = BETAS[(v + threads) % 3];
                    Case.random(rng, (v & 1) != 0, (v & 2) != 0, s[0], s[1], s[2], ALPHAS[v % 3], beta, 4).check();
                }
            }
        }
    }

    @Test
    void manyRowBlocksAndRowSplit() {
        // more rows than one packed A block, and m > n so two threads split the rows
        SplittableRandom rng = new SplittableRandom(11);
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            Case.random(rng, false, false, 1100, 70, 40, 1f, 0f, 2).check();
            Case.random(rng, true, true, 1031, 37, 45, -1f, 0.5f, 2).check();
        }
    }

    @Test
    void fewStepsReadBInPlace() {
        // k ≤ 16 with row-major B takes the unpacked-B path, including its last partial column panel
        SplittableRandom rng = new SplittableRandom(5);
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (int k : new int[] {1, 3, 9, 16}) {
                Case.random(rng, false, false, 35, 1000 + k, k, 1f, 0f, 3).check();
                Case.random(rng, true, false, 32, 999, k, 0.5f, 1f, 3).check();
            }
        }
    }

    @Test
    void agreesWithEjml() {
        SplittableRandom rng = new SplittableRandom(9);
        for (int[] s : new int[][] {{64, 64, 64}, {100, 130, 257}, {300, 200, 100}}) {
            FMatrixRMaj a = new FMatrixRMaj(s[0], s[2], true, Oracles.randomArray(rng, s[0] * s[2]));
            FMatrixRMaj b = new FMatrixRMaj(s[2], s[1], true, Oracles.randomArray(rng, s[2] * s[1]));
            FMatrixRMaj expected = new FMatrixRMaj(s[0], s[1]);
            CommonOps_FDRM.mult(a, b, expected);
            Tensor out = Sgemm.matmul(Tensor.wrap(a.data, s[0], s[2]), false, Tensor.wrap(b.data, s[2], s[1]), false);
            Oracles.assertClose("ejml " + Arrays.toString(s), expected.data, out.toArray(), 1e-4, 1e-4);

            FMatrixRMaj expectedT = new FMatrixRMaj(s[2], s[2]);
            CommonOps_FDRM.multTransA(a, a, expectedT);
            Tensor outT = Sgemm.matmul(Tensor.wrap(a.data, s[0], s[2]), true, Tensor.wrap(a.data, s[0], s[2]), false);
            Oracles.assertClose("ejml AᵀA " + Arrays.toString(s), expectedT.data, outT.toArray(), 1e-4, 1e-4);
        }
    }

    @Test
    void concurrentCallersAndNestedRegions() throws Exception {
        Parallel.setThreads(2);
        SplittableRandom rng = new SplittableRandom(13);
        List<Case> cases = new ArrayList<>();
        List<double[]> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Case c = Case.random(rng, i % 2 == 0, i % 3 == 0, 70 + 13 * i, 150 - 11 * i, 90 + 7 * i, 1f, 0f, 2);
            cases.add(c);
            expected.add(c.expected());
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int rep = 0; rep < 4; rep++) {
                for (Case c : cases) {
                    results.add(pool.submit(c::run));
                }
            }
            for (int i = 0; i < results.size(); i++) {
                Oracles.assertClose("concurrent " + cases.get(i % 6), expected.get(i % 6), results.get(i).get(),
                        1e-4, 1e-3);
            }
        } finally {
            pool.shutdownNow();
        }
        // sgemm called from inside a parallel region runs on that region's thread
        float[][] got = new float[cases.size()][];
        Parallel.forEach(cases.size(), i -> got[i] = cases.get(i).run());
        for (int i = 0; i < cases.size(); i++) {
            Oracles.assertClose("nested " + cases.get(i), expected.get(i), got[i], 1e-4, 1e-3);
        }
    }

    /**
     * The case against the reference on two threads, and equal bit for bit to one thread's result: three times, and
     * from inside a region (where the whole product runs on one thread).
     */
    private static void checkTwoThreadsAsOne(Case c) {
        Parallel.setThreads(1);
        float[] one = c.run();
        Parallel.setThreads(2);
        c.check();
        for (int rep = 0; rep < 3; rep++) {
            assertArrayEquals(one, c.run(), c + ": two threads, repeat " + rep);
        }
        float[][] nested = new float[2][];
        Parallel.forEach(2, i -> nested[i] = c.run());
        assertArrayEquals(one, nested[0], c + " nested");
        assertArrayEquals(one, nested[1], c + " nested");
    }

    @Test
    void columnBlocksHandedOutAgreeBitForBitWithOneThread() {
        // wide enough that two threads claim column blocks (SgemmBlocked.runClaimed), over several step blocks so the
        // blocks wait for each other's levels; the result must equal one thread's exactly, and the reference
        SplittableRandom rng = new SplittableRandom(17);
        int[][] shapes = {{70, 530, 1100}, {200, 1031, 600}, {29, 777, 1500}};
        for (int[] s : shapes) {
            for (int v = 0; v < 4; v++) {
                Case c = Case.random(rng, (v & 1) != 0, (v & 2) != 0, s[0], s[1], s[2], ALPHAS[v % 3],
                        BETAS[v % 3], 3);
                assertTrue(SgemmBlocked.claims(c.transB(), c.n(), c.k(), 2), c + " should be handed out in blocks");
                checkTwoThreadsAsOne(c);
            }
        }
    }

    @Test
    void aThreadThatFailsLeavesNoneWaitingForItsBlock() {
        // called past the argument checks with B (transposed, n × k) missing the end of its last row: the thread that
        // claims the last column block fails at the first level, and the other, reaching that block at the next
        // level, must not wait for it forever; the failure reaches the caller
        Parallel.setThreads(2);
        int m = 40;
        int n = 600;
        int k = 1100;
        float[] a = new float[m * k];
        float[] b = new float[(n - 1) * k + 100];
        float[] c = new float[m * n];
        assertTrue(SgemmBlocked.claims(true, n, k, 2));
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(IndexOutOfBoundsException.class,
                () -> SgemmBlocked.runClaimed(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, n)));
    }

    @Test
    void aPackedOnceBetweenThreadsAgreesBitForBitWithOneThread() {
        // one block of rows and steps on two threads (SgemmBlocked.runSharedA): each packs part of A's row panels,
        // including row counts whose last panels are 8 + 8 or 8 + 7 rows, then the column blocks are handed out (one
        // each up to 256 columns, several from 512, with a short last one at 1031); the result must equal one
        // thread's exactly
        SplittableRandom rng = new SplittableRandom(19);
        int[][] shapes = {{30, 200, 300}, {44, 300, 100}, {58, 400, 512}, {131, 450, 257}, {29, 100, 17}, {15, 64, 40},
            {58, 700, 512}, {131, 1031, 300}};
        for (int[] s : shapes) {
            for (int v = 0; v < 4; v++) {
                Case c = Case.random(rng, (v & 1) != 0, (v & 2) != 0, s[0], s[1], s[2], ALPHAS[v % 3],
                        BETAS[(v + 1) % 3], 3);
                assertTrue(SgemmBlocked.sharesA(c.transB(), c.m(), c.k()), c + " should share A");
                checkTwoThreadsAsOne(c);
            }
        }
    }

    @Test
    void aThreadThatFailsPackingLeavesNoneWaiting() {
        // past the argument checks, A missing its last elements: the part packing the last row panels fails, and
        // the other must not wait for A to be complete
        Parallel.setThreads(2);
        int m = 100;
        int n = 300;
        int k = 200;
        float[] a = new float[m * k - 5];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        assertTrue(SgemmBlocked.sharesA(false, m, k));
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> assertThrows(IndexOutOfBoundsException.class,
                () -> SgemmBlocked.runSharedA(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n)));
    }

    @Test
    void panelStartsFollowTheKernelsCut() {
        if (SgemmKernel.MR == 14) {
            assertArrayEquals(new int[] {0, 14, 28, 42, 56, 64}, SgemmBlocked.panelStarts(64));
            assertArrayEquals(new int[] {0, 14, 22, 30}, SgemmBlocked.panelStarts(30));
        } else {
            // narrower vectors than 512 bits: 8-row panels only
            assertArrayEquals(new int[] {0, 8, 16, 24, 30}, SgemmBlocked.panelStarts(30));
        }
        assertArrayEquals(new int[] {0, 8, 15}, SgemmBlocked.panelStarts(15));
        assertArrayEquals(new int[] {0, 5}, SgemmBlocked.panelStarts(5));
    }

    @Test
    void matmulOnTensors() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = Tensor.of(new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        assertEquals(List.of(4f, 5f, 10f, 11f), boxed(Sgemm.matmul(a, false, b, false).toArray()));
        assertEquals(List.of(17f, 22f, 27f, 22f, 29f, 36f, 27f, 36f, 45f), boxed(Sgemm.matmul(a, true, a, false)
                .toArray()));
        assertEquals(List.of(14f, 32f, 32f, 77f), boxed(Sgemm.matmul(a, false, a, true).toArray()));
        Tensor out = Tensor.full(1f, 2, 2);
        assertSame(out, Sgemm.matmul(a, false, b, false, out, 2f));
        assertEquals(List.of(6f, 7f, 12f, 13f), boxed(out.toArray()));
    }

    @Test
    void badArgumentsNameTheOperationAndSizes() {
        float[] x = new float[12];
        var e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.sgemm(false, false, -1, 2, 2, 1f, x, 0, 2, x, 0, 2, 0f, x, 0, 2));
        assertTrue(e.getMessage().contains("sgemm") && e.getMessage().contains("m=-1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.sgemm(false, false, 4, 4, 4, 1f, x, 0, 4, new float[16], 0, 4, 0f, new float[16], 0, 4));
        assertTrue(e.getMessage().contains("sgemm: a") && e.getMessage().contains("array of 12"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.sgemm(false, true, 2, 3, 2, 1f, x, 0, 2, x, 0, 1, 0f, x, 0, 3));
        assertTrue(e.getMessage().contains("sgemm: b") && e.getMessage().contains("leading dimension 1"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.sgemm(false, false, 2, 2, 2, 1f, x, 0, 2, x, 0, 2, 0f, x, 9, 2));
        assertTrue(e.getMessage().contains("sgemm: c") && e.getMessage().contains("offset 9"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.matmul(Tensor.zeros(2, 3), false, Tensor.zeros(4, 2), false));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[2, 3]")
                && e.getMessage().contains("[4, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Sgemm.matmul(Tensor.zeros(2, 3), false, Tensor.zeros(3, 2), false, Tensor.zeros(2, 3), 0f));
        assertTrue(e.getMessage().contains("out [2, 3]"), e.getMessage());
        Tensor shared = Tensor.zeros(2, 2);
        e = assertThrows(IllegalArgumentException.class, () -> Sgemm.matmul(shared, false, shared, false, shared, 0f));
        assertTrue(e.getMessage().contains("shares storage"), e.getMessage());
    }

    private static List<Float> boxed(float[] x) {
        List<Float> l = new ArrayList<>();
        for (float v : x) {
            l.add(v);
        }
        return l;
    }
}
