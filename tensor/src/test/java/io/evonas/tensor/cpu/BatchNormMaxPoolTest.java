package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Batch norm, ReLU and 2×2 max pooling as one primitive ({@link BatchNormMaxPool} through
 * {@link CpuBackend#batchNormReluMaxPool}) against the three primitives composed: the same output and running
 * statistics, bit for bit, and the same gradients up to the order of summation, in training and inference mode,
 * on shapes with odd sides (the pool drops the last row and column), rows narrower and wider than a vector, and
 * channels whose scale is negative or zero (where the pool cannot run on the raw input).
 */
class BatchNormMaxPoolTest {
    private static final CpuBackend CPU = CpuBackend.instance();
    private static final PoolSpec TWO = PoolSpec.of(2);

    /** Agreement to {@code tol} relative to the largest magnitude of the expected values. */
    static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        double scale = 1e-6;
        for (float v : e) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(e[i] - a[i]);
            if (!(err <= tol * scale)) {
                throw new AssertionError(what + "[" + i + "]: expected " + e[i] + ", got " + a[i] + " (scale "
                        + scale + ")");
            }
        }
    }

    private static Tensor channels(SplittableRandom rng, int c, float lo, float hi) {
        return Tensor.uniform(rng, lo, hi, c);
    }

    private static void check(boolean training, boolean negativeScales, int... dims) {
        check(training, negativeScales, 2, 0.5f, dims);
    }

    /**
     * Inputs uniform in {@code [-spread, spread]}; with {@code tiny} below 0.5, channel 0's γ is {@code tiny}
     * instead of at least 0.5.
     */
    private static void check(boolean training, boolean negativeScales, float spread, float tiny, int... dims) {
        SplittableRandom rng = new SplittableRandom(31L * dims[2] + dims[3] + (training ? 7 : 0));
        Tensor x = Tensor.uniform(rng, -spread, spread, dims);
        int c = dims[1];
        Tensor gamma = channels(rng, c, 0.5f, 1.5f);
        if (tiny < 0.5f) {
            gamma.data()[gamma.offset()] = tiny;
        }
        if (negativeScales) {
            float[] g = gamma.data();
            for (int k = 0; k < c; k += 2) {
                g[gamma.offset() + k] = -g[gamma.offset() + k];
            }
            if (c > 1) {
                g[gamma.offset() + 1] = 0f;
            }
        }
        Tensor beta = channels(rng, c, -0.5f, 0.5f);
        Tensor rm1 = channels(rng, c, -0.1f, 0.1f);
        Tensor rv1 = channels(rng, c, 0.9f, 1.1f);
        Tensor rm2 = rm1.copy();
        Tensor rv2 = rv1.copy();
        Shape pooled = Shape.of(dims[0], c, dims[2] / 2, dims[3] / 2);
        Tensor dy = Tensor.uniform(rng, -1, 1, pooled.dims());

        // The three primitives, composed.
        Tensor out;
        Backend.BatchNormGradients g;
        if (training) {
            Backend.BatchNormTraining t = CPU.batchNormTraining(x, gamma, beta, rm1, rv1, 0.1f, 1e-5f, true);
            Backend.MaxPooled p = CPU.maxPool2d(t.output(), TWO);
            out = p.output();
            g = CPU.batchNormBackward(x, CPU.maxPool2dBackward(dy, p.argmax(), TWO, x.shape()), gamma, t.mean(),
                    t.invStd(), t.output());
        } else {
            Tensor y = CPU.batchNormInference(x, gamma, beta, rm1, rv1, 1e-5f, true);
            Backend.MaxPooled p = CPU.maxPool2d(y, TWO);
            out = p.output();
            g = CPU.batchNormInferenceBackward(x, CPU.maxPool2dBackward(dy, p.argmax(), TWO, x.shape()), gamma,
                    rm1, rv1, 1e-5f, y);
        }

        Tensor rm3 = rm2.copy();
        Tensor rv3 = rv2.copy();
        Backend.PooledBatchNorm fused = CPU.batchNormReluMaxPool(x, gamma, beta, rm2, rv2, 0.1f, 1e-5f, training,
                true);
        Backend.BatchNormGradients f = fused.backward().apply(dy);
        // Without a backward pass in view: the same output, no winners kept, and a backward pass refused.
        Backend.PooledBatchNorm bare = CPU.batchNormReluMaxPool(x, gamma, beta, rm3, rv3, 0.1f, 1e-5f, training,
                false);
        BatchNormReluTest.assertSameBits(fused.output(), bare.output(), "output without a backward pass");
        BatchNormReluTest.assertSameBits(rm2, rm3, "running mean without a backward pass");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> bare.backward().apply(dy));
        assertTrue(refused.getMessage().contains("kept no winners"), refused.getMessage());

        String where = (training ? "training " : "inference ") + Shape.of(dims);
        BatchNormReluTest.assertSameBits(out, fused.output(), where + " output");
        BatchNormReluTest.assertSameBits(rm1, rm2, where + " running mean");
        BatchNormReluTest.assertSameBits(rv1, rv2, where + " running var");
        assertClose(g.dx(), f.dx(), 1e-5, where + " dx");
        assertClose(g.dgamma(), f.dgamma(), 1e-5, where + " dgamma");
        assertClose(g.dbeta(), f.dbeta(), 1e-5, where + " dbeta");
    }

    @Test
    void trainingAgreesWithTheComposedPrimitives() {
        check(true, false, 3, 4, 6, 8);
        check(true, false, 2, 3, 7, 9);       // odd sides: the last row and column are in no window
        check(true, false, 4, 3, 26, 26);     // conv1's planes
        check(true, false, 5, 2, 11, 11);     // conv2's planes: rows of 5 outputs
        check(true, false, 2, 2, 2, 40);      // a row wider than two vectors
        check(true, false, 3, 2, 3, 3);
    }

    @Test
    void negativeAndZeroScalesAgree() {
        check(true, true, 3, 4, 6, 8);
        check(true, true, 2, 5, 11, 13);
        check(false, true, 2, 5, 11, 13);
    }

    @Test
    void aPositiveGammaWhoseScaleRoundsToZeroAgrees() {
        // γ = the least float and σ ≈ 58: γ/σ rounds to zero, so the raw pool taken for γ > 0 must be redone the
        // way a zero scale is pooled (every window a tie).
        check(true, false, 100, Float.MIN_VALUE, 3, 2, 6, 8);
        check(true, false, 100, Float.MIN_VALUE, 5, 2, 11, 11);
    }

    @Test
    void inferenceAgreesWithTheComposedPrimitives() {
        check(false, false, 3, 4, 6, 8);
        check(false, false, 2, 3, 7, 9);
        check(false, false, 4, 3, 26, 26);
    }

    /** Output, statistics and gradients of one pass with {@code threads} threads. */
    private static float[][] run(int threads, Tensor x, Tensor gamma, Tensor beta, Tensor dy, boolean training) {
        Parallel.setThreads(threads);
        int c = x.dim(1);
        Tensor rm = Tensor.zeros(c);
        Tensor rv = Tensor.full(1f, c);
        Backend.PooledBatchNorm r = CPU.batchNormReluMaxPool(x, gamma, beta, rm, rv, 0.1f, 1e-5f, training, true);
        Backend.BatchNormGradients g = r.backward().apply(dy);
        return new float[][] {r.output().toArray(), rm.toArray(), rv.toArray(), g.dx().toArray(),
            g.dgamma().toArray(), g.dbeta().toArray()};
    }

    @Test
    void oneAndTwoThreadsGiveTheSameBits() {
        // Large enough that channels (training) and planes (inference) are split between two threads.
        SplittableRandom rng = new SplittableRandom(12);
        Tensor x = Tensor.uniform(rng, -2, 2, 16, 8, 26, 26);
        Tensor gamma = Tensor.uniform(rng, -1.5f, 1.5f, 8); // some channels take the negative-scale path
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, 8);
        Tensor dy = Tensor.uniform(rng, -1, 1, 16, 8, 13, 13);
        int saved = Parallel.threads();
        try {
            for (boolean training : new boolean[] {true, false}) {
                float[][] one = run(1, x, gamma, beta, dy, training);
                float[][] two = run(2, x, gamma, beta, dy, training);
                for (int i = 0; i < one.length; i++) {
                    assertArrayEquals(one[i], two[i], (training ? "training" : "inference") + " result " + i);
                }
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void nanInAWindowGivesNanOutput() {
        SplittableRandom rng = new SplittableRandom(5);
        Tensor x = Tensor.uniform(rng, -2, 2, 2, 2, 4, 4);
        x.data()[x.offset() + 5] = Float.NaN; // image 0, channel 0, row 1, column 1: window (0, 0)
        Tensor gamma = Tensor.full(1f, 2);
        Tensor beta = Tensor.zeros(2);
        Backend.PooledBatchNorm r = CPU.batchNormReluMaxPool(x, gamma, beta, Tensor.zeros(2), Tensor.full(1f, 2),
                0.1f, 1e-5f, false, true);
        float[] y = r.output().toArray();
        assertTrue(Float.isNaN(y[0]), "the window holding NaN");
        assertTrue(!Float.isNaN(y[1]), "a window without NaN");
    }

    @Test
    void badShapesNameTheOpAndShapes() {
        Tensor gamma = Tensor.full(1f, 3);
        Tensor beta = Tensor.zeros(3);
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> CPU.batchNormReluMaxPool(
                Tensor.zeros(4, 3), gamma, beta, Tensor.zeros(3), Tensor.full(1f, 3), 0.1f, 1e-5f, true, true));
        assertTrue(rank.getMessage().contains("batchNorm+relu+maxPool") && rank.getMessage().contains("[4, 3]"),
                rank.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> CPU.batchNormReluMaxPool(Tensor.zeros(2, 3, 1, 5), gamma, beta, Tensor.zeros(3),
                        Tensor.full(1f, 3), 0.1f, 1e-5f, true, true));
        assertTrue(small.getMessage().contains("[2, 3, 1, 5]"), small.getMessage());
        IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                () -> CPU.batchNormReluMaxPool(Tensor.zeros(2, 4, 4, 4), gamma, beta, Tensor.zeros(3),
                        Tensor.full(1f, 3), 0.1f, 1e-5f, true, true));
        assertTrue(channels.getMessage().contains("gamma"), channels.getMessage());
        Backend.PooledBatchNorm r = CPU.batchNormReluMaxPool(Tensor.full(1f, 2, 3, 4, 4), gamma, beta,
                Tensor.zeros(3), Tensor.full(1f, 3), 0.1f, 1e-5f, false, true);
        IllegalArgumentException dy = assertThrows(IllegalArgumentException.class,
                () -> r.backward().apply(Tensor.zeros(2, 3, 4, 4)));
        assertTrue(dy.getMessage().contains("dy [2, 3, 4, 4]") && dy.getMessage().contains("[2, 3, 2, 2]"),
                dy.getMessage());
    }
}
