package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.dot;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static io.evonas.tensor.testing.Oracles.randomArray;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class Conv2dTest {
    private static final int[] CHANNELS = {1, 3, 5, 17};
    private static final double RTOL = 1e-4;
    private static final double ATOL = 2e-4;

    /** One convolution problem with random data; {@code bias} may be null. */
    record Case(ConvReference ref, float[] x, float[] w, float[] bias, float[] dy) {
        static Case random(RandomGenerator rng, int n, int c, int h, int w, int oc, ConvSpec spec, boolean bias) {
            ConvReference ref = new ConvReference(n, c, h, w, oc, spec);
            return new Case(ref, randomArray(rng, ref.xSize()), randomArray(rng, ref.wSize()),
                    bias ? randomArray(rng, oc) : null, randomArray(rng, ref.ySize()));
        }

        Tensor xt() {
            return Tensor.wrap(x, ref.n, ref.c, ref.h, ref.w);
        }

        Tensor wt() {
            return Tensor.wrap(w, ref.oc, ref.c, ref.s.kh(), ref.s.kw());
        }

        Tensor bt() {
            return bias == null ? null : Tensor.wrap(bias, ref.oc);
        }

        Tensor dyt() {
            return Tensor.wrap(dy, ref.n, ref.oc, ref.oh, ref.ow);
        }

        double[] bd() {
            return bias == null ? null : toDouble(bias);
        }

        @Override
        public String toString() {
            return "x [" + ref.n + ", " + ref.c + ", " + ref.h + ", " + ref.w + "] oc " + ref.oc + " " + ref.s
                    + (bias == null ? "" : " with bias");
        }
    }

    /** A random problem with a kh×kw kernel: batch 1–3, channels from {1, 3, 5, 17}, any stride/padding/dilation. */
    static Case randomCase(RandomGenerator rng, int kh, int kw) {
        int dh = 1 + rng.nextInt(3);
        int dw = 1 + rng.nextInt(3);
        int sh = 1 + rng.nextInt(3);
        int sw = 1 + rng.nextInt(3);
        ConvSpec spec = switch (rng.nextInt(4)) {
            case 0 -> new ConvSpec(kh, kw, sh, sw, 0, 0, 0, 0, dh, dw);
            case 1 -> ConvSpec.same(kh, kw, sh, sw, dh, dw);
            default -> new ConvSpec(kh, kw, sh, sw, rng.nextInt(4), rng.nextInt(4), rng.nextInt(4), rng.nextInt(4),
                    dh, dw);
        };
        int h = Math.max(1, dh * (kh - 1) + 1 - spec.top() - spec.bottom()) + rng.nextInt(7);
        int w = Math.max(1, dw * (kw - 1) + 1 - spec.left() - spec.right()) + rng.nextInt(7);
        return Case.random(rng, 1 + rng.nextInt(3), CHANNELS[rng.nextInt(CHANNELS.length)], h, w,
                1 + rng.nextInt(6), spec, rng.nextBoolean());
    }

    static void checkForward(Case k) {
        double[] expected = k.ref.forward(toDouble(k.x), toDouble(k.w), k.bd());
        Tensor y = Conv2d.forward(k.xt(), k.wt(), k.bt(), k.ref.s);
        assertEquals(Shape.of(k.ref.n, k.ref.oc, k.ref.oh, k.ref.ow), y.shape(), k.toString());
        assertClose("forward " + k, expected, y.toArray(), RTOL, ATOL);
    }

    static void checkBackward(Case k) {
        double[] dy = toDouble(k.dy);
        Tensor dx = Conv2d.backwardInput(k.dyt(), k.wt(), k.ref.s, k.xt().shape());
        assertClose("backwardInput " + k, k.ref.backwardInput(dy, toDouble(k.w)), dx.toArray(), RTOL, ATOL);
        Tensor dw = k.wt().zerosLike();
        Tensor db = Tensor.zeros(k.ref.oc);
        Conv2d.backwardWeights(k.xt(), k.dyt(), k.ref.s, dw, db, false);
        assertClose("backwardWeights " + k, k.ref.backwardWeights(toDouble(k.x), dy), dw.toArray(), RTOL, 1e-3);
        assertClose("backwardWeights bias " + k, k.ref.backwardBias(dy), db.toArray(), RTOL, 1e-3);
    }

    @Test
    void forwardMatchesDirectReferenceForEveryKernelSize() {
        RandomGenerator rng = new SplittableRandom(1);
        for (int kh = 1; kh <= 7; kh++) {
            for (int kw = 1; kw <= 7; kw++) {
                checkForward(randomCase(rng, kh, kw));
            }
        }
    }

    @Test
    void forwardMatchesReferenceOnNamedShapes() {
        RandomGenerator rng = new SplittableRandom(2);
        ConvSpec[] specs = {
            ConvSpec.of(1, 3), ConvSpec.of(5, 2), ConvSpec.same(3, 3), ConvSpec.same(4, 4), ConvSpec.same(2, 6),
            ConvSpec.same(5, 5, 1, 1, 2, 3), ConvSpec.of(3, 3, 2, 1), new ConvSpec(3, 3, 1, 1, 0, 2, 1, 0, 1, 1),
            ConvSpec.of(7, 7, 2, 3), ConvSpec.of(9, 9, 1, 4), ConvSpec.of(1, 1), ConvSpec.of(1, 1, 2, 0),
            ConvSpec.of(1, 1, 1, 1),
        };
        for (ConvSpec spec : specs) {
            for (int c : CHANNELS) {
                checkForward(Case.random(rng, 2, c, 11, 8, 4, spec, true));
                checkForward(Case.random(rng, 3, c, 6, 9, 3, spec, false));
            }
        }
    }

    @Test
    void sameKeepsTheSpatialSizeForOddAndEvenKernels() {
        RandomGenerator rng = new SplittableRandom(3);
        for (int k = 1; k <= 7; k++) {
            Case c = Case.random(rng, 1, 3, 9, 10, 2, ConvSpec.same(k, 8 - k), true);
            Tensor y = Conv2d.forward(c.xt(), c.wt(), c.bt(), c.ref.s);
            assertEquals(Shape.of(1, 2, 9, 10), y.shape(), c.toString());
            checkForward(c);
        }
    }

    /** Few input channels and rows of a vector or more: the direct kernels, including their remainders. */
    @Test
    void directPathMatchesReference() {
        RandomGenerator rng = new SplittableRandom(12);
        Case[] cases = {
            Case.random(rng, 2, 1, 28, 28, 32, ConvSpec.of(3, 3), true),                      // conv1 shape
            Case.random(rng, 1, 3, 7, 18, 6, ConvSpec.of(3, 3), true),                        // ow = 16 exactly
            Case.random(rng, 2, 2, 9, 37, 5, ConvSpec.same(4, 5), false),                     // ow = 37, oc 4 + 1
            Case.random(rng, 1, 3, 11, 40, 3, new ConvSpec(5, 2, 2, 1, 2, 0, 1, 3, 2, 3), true), // only remainders
            Case.random(rng, 2, 1, 6, 50, 9, ConvSpec.of(1, 7).withDilation(1, 2), true),     // ow = 38, k odd
            Case.random(rng, 1, 2, 12, 33, 8, ConvSpec.of(7, 7, 3, 3).withStride(2, 1), true),
            Case.random(rng, 2, 1, 15, 37, 4, ConvSpec.same(3, 3), true),                      // row pairs, odd oh, 3 vectors
            Case.random(rng, 1, 1, 9, 22, 2, ConvSpec.of(3, 3).withDilation(1, 2), false),    // row pairs, width dilation
        };
        for (Case k : cases) {
            assertTrue(ConvDirect.applies(ConvChecks.geometry("test", 4, k.xt().shape(), k.wt().shape(), k.ref.s)),
                    k.toString());
            checkForward(k);
            checkBackward(k);
        }
    }

    /** im2col/col2im copy runs shorter than a vector whole: rows just below, at and above one vector. */
    @Test
    void gemmPathRowsAroundOneVector() {
        RandomGenerator rng = new SplittableRandom(13);
        for (int ow : new int[] {15, 16, 17, 31, 32, 33}) {
            checkForward(Case.random(rng, 2, 4, 5, ow, 3, ConvSpec.same(3, 3), true));
            checkBackward(Case.random(rng, 2, 4, 5, ow + 2, 3, ConvSpec.of(3, 3), true));
            checkBackward(Case.random(rng, 3, 5, 4, ow, 2, new ConvSpec(2, 3, 1, 1, 0, 1, 2, 0, 1, 1), false));
        }
    }

    @Test
    void largeImagesTakeOneImagePerGemm() {
        // 32 channels × 3×3 over a 45×45 output is more than the column budget: one image per group.
        RandomGenerator rng = new SplittableRandom(4);
        Case k = Case.random(rng, 3, 32, 47, 47, 5, ConvSpec.of(3, 3), true);
        assertTrue((long) 32 * 9 * 45 * 45 > ConvGemm.COL_BUDGET);
        checkForward(k);
        checkBackward(k);
    }

    @Test
    void backwardMatchesAnalyticReferenceOnRandomShapes() {
        RandomGenerator rng = new SplittableRandom(5);
        for (int t = 0; t < 60; t++) {
            checkBackward(randomCase(rng, 1 + rng.nextInt(7), 1 + rng.nextInt(7)));
        }
    }

    /** Finite differences of L = sum(conv(x, w) * dy) on the double reference against the float kernels. */
    @Test
    void backwardMatchesFiniteDifferences() {
        RandomGenerator rng = new SplittableRandom(6);
        Case[] cases = {
            Case.random(rng, 2, 1, 6, 7, 3, ConvSpec.of(3, 3), true),                          // direct
            Case.random(rng, 2, 3, 6, 5, 2, new ConvSpec(3, 2, 2, 1, 1, 0, 2, 1, 2, 1), true), // direct, padded
            Case.random(rng, 2, 5, 7, 6, 3, new ConvSpec(3, 2, 2, 3, 0, 1, 2, 0, 1, 2), true), // im2col, strided
            Case.random(rng, 3, 4, 5, 5, 3, ConvSpec.same(4, 4), false),                       // even "same"
            Case.random(rng, 2, 6, 4, 3, 5, ConvSpec.of(1, 1), true),                          // pointwise GEMM
        };
        for (Case k : cases) {
            double[] xd = toDouble(k.x);
            double[] wd = toDouble(k.w);
            double[] bd = k.bd();
            double[] dy = toDouble(k.dy);
            double[] gx = numericGradient(v -> dot(k.ref.forward(v, wd, bd), dy), xd.clone(), 1e-3);
            double[] gw = numericGradient(v -> dot(k.ref.forward(xd, v, bd), dy), wd.clone(), 1e-3);
            assertClose("dL/dx " + k, gx, Conv2d.backwardInput(k.dyt(), k.wt(), k.ref.s, k.xt().shape()).toArray(),
                    1e-3, 1e-4);
            Tensor dw = k.wt().zerosLike();
            Tensor db = bd == null ? null : Tensor.zeros(k.ref.oc);
            Conv2d.backwardWeights(k.xt(), k.dyt(), k.ref.s, dw, db, false);
            assertClose("dL/dw " + k, gw, dw.toArray(), 1e-3, 1e-4);
            if (bd != null) {
                double[] gb = numericGradient(v -> dot(k.ref.forward(xd, wd, v), dy), bd.clone(), 1e-3);
                assertClose("dL/db " + k, gb, db.toArray(), 1e-3, 1e-4);
            }
        }
    }

    @Test
    void overwriteIgnoresOldValuesAndAccumulateAdds() {
        RandomGenerator rng = new SplittableRandom(7);
        for (Case k : new Case[] {
            Case.random(rng, 2, 3, 7, 7, 4, ConvSpec.of(3, 3, 1, 1), true),
            Case.random(rng, 3, 5, 7, 7, 4, ConvSpec.of(3, 3, 2, 1), true),
            Case.random(rng, 2, 5, 4, 4, 4, ConvSpec.of(1, 1), true),
        }) {
            double[] dy = toDouble(k.dy);
            double[] gx = k.ref.backwardInput(dy, toDouble(k.w));
            double[] gw = k.ref.backwardWeights(toDouble(k.x), dy);
            double[] gb = k.ref.backwardBias(dy);

            Tensor y = Tensor.full(Float.NaN, k.ref.n, k.ref.oc, k.ref.oh, k.ref.ow);
            Conv2d.forward(k.xt(), k.wt(), k.bt(), k.ref.s, y);
            assertClose("forward into NaN " + k, k.ref.forward(toDouble(k.x), toDouble(k.w), k.bd()), y.toArray(),
                    RTOL, ATOL);
            Tensor dx = Tensor.full(Float.NaN, k.ref.n, k.ref.c, k.ref.h, k.ref.w);
            Conv2d.backwardInput(k.dyt(), k.wt(), k.ref.s, dx, false);
            assertClose("dx overwrite " + k, gx, dx.toArray(), RTOL, ATOL);
            Conv2d.backwardInput(k.dyt(), k.wt(), k.ref.s, dx, true);
            assertClose("dx accumulate " + k, times2(gx), dx.toArray(), RTOL, ATOL);

            Tensor dw = Tensor.full(Float.NaN, k.ref.oc, k.ref.c, k.ref.s.kh(), k.ref.s.kw());
            Tensor db = Tensor.full(Float.NaN, k.ref.oc);
            Conv2d.backwardWeights(k.xt(), k.dyt(), k.ref.s, dw, db, false);
            assertClose("dw overwrite " + k, gw, dw.toArray(), RTOL, 1e-3);
            assertClose("db overwrite " + k, gb, db.toArray(), RTOL, 1e-3);
            Conv2d.backwardWeights(k.xt(), k.dyt(), k.ref.s, dw, db, true);
            assertClose("dw accumulate " + k, times2(gw), dw.toArray(), RTOL, 1e-3);
            assertClose("db accumulate " + k, times2(gb), db.toArray(), RTOL, 1e-3);
        }
    }

    private static double[] times2(double[] a) {
        return Arrays.stream(a).map(v -> 2 * v).toArray();
    }

    @Test
    void tensorViewsWithOffsetsAreRespected() {
        RandomGenerator rng = new SplittableRandom(8);
        for (int c : new int[] {1, 6}) {
            Case k = Case.random(rng, 2, c, 6, 6, 3, ConvSpec.of(3, 3, 1, 1), true);
            Tensor x = Tensor.zeros(4, c, 6, 6).fill(7f).slice(1, 3).copyFrom(k.xt());
            Tensor w = Tensor.zeros(5, c, 3, 3).fill(7f).slice(2, 5).copyFrom(k.wt());
            Tensor b = Tensor.zeros(5).fill(7f).slice(1, 4).copyFrom(k.bt());
            Tensor dy = Tensor.zeros(3, 3, 6, 6).fill(7f).slice(1, 3).copyFrom(k.dyt());
            Tensor y = Tensor.zeros(3, 3, 6, 6).slice(1, 3);
            Conv2d.forward(x, w, b, k.ref.s, y);
            double[] dyd = toDouble(k.dy);
            assertClose("forward on views", k.ref.forward(toDouble(k.x), toDouble(k.w), k.bd()), y.toArray(),
                    RTOL, ATOL);
            Tensor dx = Tensor.zeros(3, c, 6, 6).slice(1, 3);
            Conv2d.backwardInput(dy, w, k.ref.s, dx, false);
            assertClose("backwardInput on views", k.ref.backwardInput(dyd, toDouble(k.w)), dx.toArray(), RTOL, ATOL);
            Tensor dw = Tensor.zeros(4, c, 3, 3).slice(1, 4);
            Tensor db = Tensor.zeros(4).slice(1, 4);
            Conv2d.backwardWeights(x, dy, k.ref.s, dw, db, false);
            assertClose("backwardWeights on views", k.ref.backwardWeights(toDouble(k.x), dyd), dw.toArray(), RTOL,
                    1e-3);
            assertClose("bias gradient on views", k.ref.backwardBias(dyd), db.toArray(), RTOL, 1e-3);
        }
    }

    @Test
    void oneAndTwoThreadsAgree() {
        RandomGenerator rng = new SplittableRandom(9);
        int saved = Parallel.threads();
        try {
            for (Case k : new Case[] {
                Case.random(rng, 3, 2, 9, 9, 4, ConvSpec.of(3, 3), true),
                Case.random(rng, 3, 7, 9, 9, 4, ConvSpec.of(3, 3), true),
                Case.random(rng, 1, 7, 9, 9, 4, ConvSpec.of(3, 3), true),
            }) {
                float[][] one = allPasses(k, 1);
                float[][] two = allPasses(k, 2);
                for (int i = 0; i < one.length; i++) {
                    assertClose("pass " + i + " " + k, one[i], two[i], 1e-5, 1e-5);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void twoThreadsGiveTheSameBitsRunAfterRun() {
        // The images are cut into chunks that the threads claim as they become free, so which thread sums which
        // images changes from run to run; each chunk's partial is its own, added in image order, so the sums do not.
        RandomGenerator rng = new SplittableRandom(11);
        int saved = Parallel.threads();
        try {
            for (Case k : new Case[] {
                Case.random(rng, 37, 8, 9, 9, 16, ConvSpec.of(3, 3), true),
                Case.random(rng, 37, 1, 12, 20, 4, ConvSpec.same(3, 3), true),
            }) {
                float[][] first = allPasses(k, 2);
                for (int rep = 0; rep < 15; rep++) {
                    float[][] again = allPasses(k, 2);
                    for (int i = 0; i < first.length; i++) {
                        assertArrayEquals(first[i], again[i], "pass " + i + " run " + rep + " " + k);
                    }
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    private static float[][] allPasses(Case k, int threads) {
        Parallel.setThreads(threads);
        Tensor y = Conv2d.forward(k.xt(), k.wt(), k.bt(), k.ref.s);
        Tensor dx = Conv2d.backwardInput(k.dyt(), k.wt(), k.ref.s, k.xt().shape());
        Tensor dw = k.wt().zerosLike();
        Tensor db = Tensor.zeros(k.ref.oc);
        Conv2d.backwardWeights(k.xt(), k.dyt(), k.ref.s, dw, db, false);
        return new float[][] {y.toArray(), dx.toArray(), dw.toArray(), db.toArray()};
    }

    @Test
    void classExampleRuns() {
        RandomGenerator rng = new SplittableRandom(10);
        Tensor x = Tensor.normal(rng, 0, 1, 8, 3, 32, 32);
        Tensor w = Tensor.normal(rng, 0, 0.1f, 16, 3, 3, 3);
        Tensor y = Conv2d.forward(x, w, null, ConvSpec.same(3, 3));
        assertEquals(Shape.of(8, 16, 32, 32), y.shape());
        Tensor dy = Tensor.full(1f, 8, 16, 32, 32);
        Tensor dx = Conv2d.backwardInput(dy, w, ConvSpec.same(3, 3), x.shape());
        assertEquals(x.shape(), dx.shape());
        Tensor dw = w.zerosLike();
        Conv2d.backwardWeights(x, dy, ConvSpec.same(3, 3), dw, null, false);
        assertTrue(Math.abs(dw.get(0, 0, 1, 1)) > 0, "a centre tap sums over all positions");
    }

    @Test
    void rejectsBadInputNamingTheOpAndShapes() {
        ConvSpec s3 = ConvSpec.of(3, 3);
        Tensor x = Tensor.zeros(8, 3, 32, 32);
        Tensor w = Tensor.zeros(16, 3, 3, 3);
        Tensor dy = Tensor.zeros(8, 16, 30, 30);
        rejects("conv2d: input [8, 3, 32, 32] has 3 channels, weight [16, 4, 3, 3] expects 4",
                () -> Conv2d.forward(x, Tensor.zeros(16, 4, 3, 3), null, s3));
        rejects("conv2d: input [3, 32, 32] must have rank 4",
                () -> Conv2d.forward(Tensor.zeros(3, 32, 32), w, null, s3));
        rejects("conv2d: weight [16, 27] must have rank 4", () -> Conv2d.forward(x, Tensor.zeros(16, 27), null, s3));
        rejects("conv2d: weight [16, 3, 3, 3] has a 3×3 kernel, ConvSpec[5×5",
                () -> Conv2d.forward(x, w, null, ConvSpec.of(5, 5)));
        rejects("conv2d: input [8, 3, 0, 32] has a zero dimension",
                () -> Conv2d.forward(Tensor.zeros(8, 3, 0, 32), w, null, s3));
        rejects("conv2d: weight [0, 3, 3, 3] has a zero dimension",
                () -> Conv2d.forward(x, Tensor.zeros(0, 3, 3, 3), null, s3));
        rejects("conv2d: input [8, 3, 2, 32] with weight [16, 3, 3, 3] and ConvSpec[3×3",
                () -> Conv2d.forward(Tensor.zeros(8, 3, 2, 32), w, null, s3));
        rejects("input height 2 (padded 2) is smaller than the kernel's extent 3",
                () -> Conv2d.forward(Tensor.zeros(8, 3, 2, 32), w, null, s3));
        rejects("conv2d: bias [15] must be [16], one per output channel of weight [16, 3, 3, 3]",
                () -> Conv2d.forward(x, w, Tensor.zeros(15), s3));
        rejects("conv2d: out [8, 16, 32, 32] must be [8, 16, 30, 30] for input [8, 3, 32, 32] and weight",
                () -> Conv2d.forward(x, w, null, s3, Tensor.zeros(8, 16, 32, 32)));
        rejects("conv2d: out [8, 3, 32, 32] overlaps an input [8, 3, 32, 32]",
                () -> Conv2d.forward(x, Tensor.zeros(3, 3, 1, 1), null, ConvSpec.of(1, 1), x));
        rejects("conv2d backwardInput: dy [8, 16, 32, 32] must be [8, 16, 30, 30] for input [8, 3, 32, 32]",
                () -> Conv2d.backwardInput(Tensor.zeros(8, 16, 32, 32), w, s3, x.shape()));
        rejects("conv2d backwardInput: input [8, 4, 32, 32] has 4 channels, weight [16, 3, 3, 3] expects 3",
                () -> Conv2d.backwardInput(dy, w, s3, Shape.of(8, 4, 32, 32)));
        rejects("conv2d backwardWeights: dy [8, 15, 30, 30] must be [8, 16, 30, 30]",
                () -> Conv2d.backwardWeights(x, Tensor.zeros(8, 15, 30, 30), s3, w.zerosLike(), null, false));
        rejects("conv2d backwardWeights: bias [17] must be [16]",
                () -> Conv2d.backwardWeights(x, dy, s3, w.zerosLike(), Tensor.zeros(17), false));
        rejects("conv2d backwardWeights: input [8, 3, 32, 32] has 3 channels, weight [16, 2, 3, 3] expects 2",
                () -> Conv2d.backwardWeights(x, dy, s3, Tensor.zeros(16, 2, 3, 3), null, false));
        assertThrows(NullPointerException.class, () -> Conv2d.forward(null, w, null, s3));
        assertThrows(NullPointerException.class, () -> Conv2d.forward(x, w, null, null));
    }

    static void rejects(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment),
                () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }
}
