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

import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class BatchNormTest {
    private static final float EPS = 1e-5f;
    /** [N, C], [N, C, L], [N, C, H, W]; runs shorter and longer than a vector, with tails. */
    private static final int[][] SHAPES = {{5, 3}, {2, 4}, {4, 3, 7}, {3, 2, 5, 7}, {2, 5, 17, 3}, {3, 2, 1, 1}};

    // ------------------------------------------------------------ references in double

    /** Per channel {mean, biased variance}. */
    private static double[][] stats(double[] x, int n, int c, int s) {
        double[][] r = new double[c][2];
        double m = (double) n * s;
        for (int k = 0; k < c; k++) {
            double sum = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    sum += x[(i * c + k) * s + j];
                }
            }
            double mean = sum / m;
            double sq = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    double d = x[(i * c + k) * s + j] - mean;
                    sq += d * d;
                }
            }
            r[k][0] = mean;
            r[k][1] = sq / m;
        }
        return r;
    }

    /** {@code γ (x - mean) / sqrt(var + eps) + β} with the given per-channel statistics. */
    private static double[] normalised(double[] x, double[] gamma, double[] beta, double[][] st, int n, int c,
                                       int s) {
        double[] y = new double[x.length];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < c; k++) {
                double inv = 1 / Math.sqrt(st[k][1] + EPS);
                for (int j = 0; j < s; j++) {
                    int at = (i * c + k) * s + j;
                    y[at] = gamma[k] * (x[at] - st[k][0]) * inv + beta[k];
                }
            }
        }
        return y;
    }

    private static double[] trainRef(double[] x, double[] gamma, double[] beta, int n, int c, int s) {
        return normalised(x, gamma, beta, stats(x, n, c, s), n, c, s);
    }

    private static int runLength(int[] shape) {
        int s = 1;
        for (int i = 2; i < shape.length; i++) {
            s *= shape[i];
        }
        return s;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    // ------------------------------------------------------------ training

    @Test
    void trainingForwardMatchesTheReference() {
        SplittableRandom rng = new SplittableRandom(21);
        for (int[] shape : SHAPES) {
            int n = shape[0];
            int c = shape[1];
            int s = runLength(shape);
            float[] xv = randomArray(rng, n * c * s);
            for (int i = 0; i < xv.length; i++) {
                xv[i] = 3 * xv[i] + 0.5f;
            }
            float[] gv = randomArray(rng, c);
            float[] bv = randomArray(rng, c);
            BatchNorm.Training t = BatchNorm.forwardTraining(Tensor.of(xv, shape), Tensor.of(gv, c),
                    Tensor.of(bv, c), Tensor.zeros(c), Tensor.full(1f, c));
            double[][] st = stats(toDouble(xv), n, c, s);
            String what = java.util.Arrays.toString(shape);
            assertClose("output " + what, trainRef(toDouble(xv), toDouble(gv), toDouble(bv), n, c, s),
                    t.output().toArray(), 1e-5, 1e-5);
            double[] mean = new double[c];
            double[] inv = new double[c];
            for (int k = 0; k < c; k++) {
                mean[k] = st[k][0];
                inv[k] = 1 / Math.sqrt(st[k][1] + EPS);
            }
            assertClose("mean " + what, mean, t.mean().toArray(), 1e-6, 1e-6);
            assertClose("invStd " + what, inv, t.invStd().toArray(), 1e-5, 0);
        }
    }

    @Test
    void runningAveragesFollowTheHandComputation() {
        // [N=2, C=2, L=2]: channel 0 holds {1, 2, 10, 10}, channel 1 holds {3, 4, 10, 14}
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 10, 10, 10, 14}, 2, 2, 2);
        Tensor rm = Tensor.of(new float[] {0.5f, -1f}, 2);
        Tensor rv = Tensor.of(new float[] {2f, 1f}, 2);
        BatchNorm.Training t = BatchNorm.forwardTraining(x, Tensor.full(1f, 2), Tensor.zeros(2), rm, rv, 0.25f,
                EPS);
        // channel 0: mean 23/4 = 5.75, deviations -4.75 -3.75 4.25 4.25 -> Σd² = 72.75, biased 72.75 / 4,
        // unbiased 72.75 / 3; channel 1: mean 31/4 = 7.75, deviations -4.75 -3.75 2.25 6.25 -> Σd² = 80.75
        assertArrayEquals(new float[] {5.75f, 7.75f}, t.mean().toArray(), 1e-6f);
        float inv0 = (float) (1 / Math.sqrt(72.75 / 4 + EPS));
        float inv1 = (float) (1 / Math.sqrt(80.75 / 4 + EPS));
        assertArrayEquals(new float[] {inv0, inv1}, t.invStd().toArray(), 1e-7f);
        assertArrayEquals(new float[] {0.75f * 0.5f + 0.25f * 5.75f, 0.75f * -1f + 0.25f * 7.75f}, rm.toArray(),
                1e-6f);
        assertArrayEquals(new float[] {(float) (0.75 * 2 + 0.25 * 72.75 / 3), (float) (0.75 * 1 + 0.25 * 80.75 / 3)},
                rv.toArray(), 1e-5f);

        BatchNorm.forwardTraining(Tensor.of(new float[] {1, 2, 3, 4}, 4, 1), Tensor.full(1f, 1), Tensor.zeros(1),
                rm.slice(0, 1), rv.slice(0, 1));
        // default momentum 0.1: mean 2.5, unbiased variance 5/3
        assertEquals(0.9f * (0.75f * 0.5f + 0.25f * 5.75f) + 0.1f * 2.5f, rm.get(0), 1e-6f);
        assertEquals((float) (0.9 * (0.75 * 2 + 0.25 * 72.75 / 3) + 0.1 * 5.0 / 3), rv.get(0), 1e-5f);
        assertEquals(0.75f * -1f + 0.25f * 7.75f, rm.get(1), 0f, "other channel untouched");
    }

    @Test
    void trainingBackwardMatchesFiniteDifferencesThroughTheBatchStatistics() {
        SplittableRandom rng = new SplittableRandom(22);
        for (int[] shape : SHAPES) {
            int n = shape[0];
            int c = shape[1];
            int s = runLength(shape);
            float[] xv = randomArray(rng, n * c * s);
            float[] gv = randomArray(rng, c);
            float[] bv = randomArray(rng, c);
            double[] g = toDouble(randomArray(rng, xv.length));
            Tensor x = Tensor.of(xv, shape);
            BatchNorm.Training t = BatchNorm.forwardTraining(x, Tensor.of(gv, c), Tensor.of(bv, c), Tensor.zeros(c),
                    Tensor.full(1f, c));
            BatchNorm.Gradients grads = BatchNorm.backward(x, Tensor.of(toFloat(g), shape), Tensor.of(gv, c),
                    t.mean(), t.invStd());

            double[] x0 = toDouble(xv);
            double[] g0 = toDouble(gv);
            double[] b0 = toDouble(bv);
            String what = java.util.Arrays.toString(shape);
            assertClose("dx " + what, grad(v -> dot(g, trainRef(v, g0, b0, n, c, s)), x0), grads.dx().toArray(),
                    1e-3, 1e-4);
            assertClose("dgamma " + what, grad(v -> dot(g, trainRef(x0, v, b0, n, c, s)), g0),
                    grads.dgamma().toArray(), 1e-4, 1e-5);
            assertClose("dbeta " + what, grad(v -> dot(g, trainRef(x0, g0, v, n, c, s)), b0),
                    grads.dbeta().toArray(), 1e-4, 1e-5);
        }
    }

    private static double[] grad(ToDoubleFunction<double[]> f, double[] at) {
        return numericGradient(f, at.clone(), 1e-4);
    }

    // ------------------------------------------------------------ inference

    @Test
    void inferenceUsesRunningStatisticsAndItsBackwardMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(23);
        for (int[] shape : SHAPES) {
            int n = shape[0];
            int c = shape[1];
            int s = runLength(shape);
            float[] xv = randomArray(rng, n * c * s);
            float[] gv = randomArray(rng, c);
            float[] bv = randomArray(rng, c);
            float[] rmv = randomArray(rng, c);
            float[] rvv = new float[c];
            double[][] st = new double[c][];
            for (int k = 0; k < c; k++) {
                rvv[k] = 0.2f + rng.nextFloat();
                st[k] = new double[] {rmv[k], rvv[k]};
            }
            Tensor x = Tensor.of(xv, shape);
            Tensor rm = Tensor.of(rmv, c);
            Tensor rv = Tensor.of(rvv, c);
            Tensor y = BatchNorm.forwardInference(x, Tensor.of(gv, c), Tensor.of(bv, c), rm, rv, EPS);
            double[] x0 = toDouble(xv);
            double[] g0 = toDouble(gv);
            double[] b0 = toDouble(bv);
            String what = java.util.Arrays.toString(shape);
            assertClose("inference " + what, normalised(x0, g0, b0, st, n, c, s), y.toArray(), 1e-5, 1e-5);
            assertArrayEquals(rmv, rm.toArray(), "running mean unchanged");
            assertArrayEquals(rvv, rv.toArray(), "running variance unchanged");

            double[] g = toDouble(randomArray(rng, xv.length));
            BatchNorm.Gradients grads = BatchNorm.backwardInference(x, Tensor.of(toFloat(g), shape),
                    Tensor.of(gv, c), rm, rv, EPS);
            assertClose("dx inference " + what, grad(v -> dot(g, normalised(v, g0, b0, st, n, c, s)), x0),
                    grads.dx().toArray(), 1e-4, 1e-5);
            assertClose("dgamma inference " + what, grad(v -> dot(g, normalised(x0, v, b0, st, n, c, s)), g0),
                    grads.dgamma().toArray(), 1e-4, 1e-5);
            assertClose("dbeta inference " + what, grad(v -> dot(g, normalised(x0, g0, v, st, n, c, s)), b0),
                    grads.dbeta().toArray(), 1e-4, 1e-5);
        }
    }

    // ------------------------------------------------------------ accuracy, size, aliasing

    @Test
    void largeOffsetDataNormalisesToFloatPrecision() {
        SplittableRandom rng = new SplittableRandom(24);
        int[] shape = {64, 2, 8, 8};
        float[] xv = new float[64 * 2 * 64];
        for (int i = 0; i < xv.length; i++) {
            xv[i] = (float) (1000 + 0.01 * rng.nextGaussian());
        }
        BatchNorm.Training t = BatchNorm.forwardTraining(Tensor.of(xv, shape), Tensor.full(1f, 2), Tensor.zeros(2),
                Tensor.zeros(2), Tensor.full(1f, 2));
        double[] ref = trainRef(toDouble(xv), new double[] {1, 1}, new double[] {0, 0}, 64, 2, 64);
        // a float E[x²] - E[x]² gives garbage here; y = x·scale + shift loses ~1e-2 to cancellation
        assertClose("large offset", ref, t.output().toArray(), 1e-4, 1e-4);
    }

    @Test
    void largeTensorsAgreeWhenSplitOverThreads() {
        checkLarge(16, 32, 12, 12);
    }

    /** Planes of 40,000 values: each channel is a block of its own (passes kept in L2 channel by channel). */
    @Test
    void largePlanesAgreeChannelByChannel() {
        checkLarge(4, 5, 200, 200);
    }

    private static void checkLarge(int n, int c, int h, int w) {
        SplittableRandom rng = new SplittableRandom(25);
        int s = h * w;
        int[] shape = {n, c, h, w};
        float[] xv = randomArray(rng, n * c * s);
        float[] gv = randomArray(rng, c);
        float[] bv = randomArray(rng, c);
        float[] dyv = randomArray(rng, xv.length);
        Tensor x = Tensor.of(xv, shape);
        BatchNorm.Training t = BatchNorm.forwardTraining(x, Tensor.of(gv, c), Tensor.of(bv, c), Tensor.zeros(c),
                Tensor.full(1f, c));
        assertClose("large forward", trainRef(toDouble(xv), toDouble(gv), toDouble(bv), n, c, s),
                t.output().toArray(), 1e-5, 1e-5);
        BatchNorm.Gradients grads = BatchNorm.backward(x, Tensor.of(dyv, shape), Tensor.of(gv, c), t.mean(),
                t.invStd());
        // closed form in double
        double[][] st = stats(toDouble(xv), n, c, s);
        double m = n * s;
        double[] dx = new double[xv.length];
        for (int k = 0; k < c; k++) {
            double inv = 1 / Math.sqrt(st[k][1] + EPS);
            double sumDy = 0;
            double sumDyXhat = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int at = (i * c + k) * s + j;
                    sumDy += dyv[at];
                    sumDyXhat += dyv[at] * (xv[at] - st[k][0]) * inv;
                }
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int at = (i * c + k) * s + j;
                    double xhat = (xv[at] - st[k][0]) * inv;
                    dx[at] = inv * gv[k] * (m * dyv[at] - sumDy - xhat * sumDyXhat) / m;
                }
            }
        }
        assertClose("large backward", dx, grads.dx().toArray(), 1e-3, 1e-5);
    }

    @Test
    void inPlaceForwardGivesTheSameResult() {
        SplittableRandom rng = new SplittableRandom(26);
        float[] xv = randomArray(rng, 3 * 4 * 21);
        Tensor gamma = Tensor.of(randomArray(rng, 4), 4);
        Tensor beta = Tensor.of(randomArray(rng, 4), 4);
        Tensor expected = BatchNorm.forwardTraining(Tensor.of(xv, 3, 4, 21), gamma, beta, Tensor.zeros(4),
                Tensor.full(1f, 4)).output();
        Tensor x = Tensor.of(xv, 3, 4, 21);
        BatchNorm.forwardTraining(x, gamma, beta, Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, EPS, x,
                Tensor.zeros(4), Tensor.zeros(4));
        assertArrayEquals(expected.toArray(), x.toArray());
    }

    @Test
    void backwardIntoGivenTensorsOverwritesThem() {
        SplittableRandom rng = new SplittableRandom(27);
        Tensor x = Tensor.of(randomArray(rng, 2 * 3 * 20), 2, 3, 20);
        Tensor dy = Tensor.of(randomArray(rng, 2 * 3 * 20), 2, 3, 20);
        Tensor gamma = Tensor.of(randomArray(rng, 3), 3);
        BatchNorm.Training t = BatchNorm.forwardTraining(x, gamma, Tensor.zeros(3), Tensor.zeros(3),
                Tensor.full(1f, 3));
        BatchNorm.Gradients expected = BatchNorm.backward(x, dy, gamma, t.mean(), t.invStd());
        Tensor dx = Tensor.full(Float.NaN, 2, 3, 20);
        Tensor dgamma = Tensor.full(Float.NaN, 3);
        Tensor dbeta = Tensor.full(Float.NaN, 3);
        BatchNorm.backward(x, dy, gamma, t.mean(), t.invStd(), dx, dgamma, dbeta);
        assertArrayEquals(expected.dx().toArray(), dx.toArray());
        assertArrayEquals(expected.dgamma().toArray(), dgamma.toArray());
        assertArrayEquals(expected.dbeta().toArray(), dbeta.toArray());
        BatchNorm.backward(x, dy, gamma, t.mean(), t.invStd(), dy, dgamma, dbeta);
        assertArrayEquals(expected.dx().toArray(), dy.toArray(), "dx written over dy");
    }

    // ------------------------------------------------------------ errors

    @Test
    void badInputIsRefusedNamingOpAndShapes() {
        Tensor x = Tensor.zeros(2, 3, 4, 4);
        Tensor ones = Tensor.full(1f, 3);
        Tensor zeros = Tensor.zeros(3);
        expect("batchNorm", "gamma [4] must be [3]", () -> BatchNorm.forwardTraining(x, Tensor.zeros(4), zeros,
                zeros.copy(), ones.copy()));
        expect("batchNorm", "[1, 3, 1, 1]", () -> BatchNorm.forwardTraining(Tensor.zeros(1, 3, 1, 1), ones, zeros,
                zeros.copy(), ones.copy()));
        expect("batchNorm", "more than one value", () -> BatchNorm.forwardTraining(Tensor.zeros(1, 3), ones,
                zeros, zeros.copy(), ones.copy()));
        expect("batchNorm", "[6]", () -> BatchNorm.forwardTraining(Tensor.zeros(6), ones, zeros, zeros.copy(),
                ones.copy()));
        expect("batchNorm", "momentum 1.5", () -> BatchNorm.forwardTraining(x, ones, zeros, zeros.copy(),
                ones.copy(), 1.5f, EPS));
        expect("batchNorm", "eps 0.0", () -> BatchNorm.forwardTraining(x, ones, zeros, zeros.copy(), ones.copy(),
                0.1f, 0f));
        expect("batchNormInference", "runningVar [3, 1]", () -> BatchNorm.forwardInference(x, ones, zeros, zeros,
                Tensor.zeros(3, 1), EPS));
        expect("batchNormInference", "out [2, 3, 4, 3]", () -> BatchNorm.forwardInference(x, ones, zeros, zeros,
                ones, EPS, Tensor.zeros(2, 3, 4, 3)));
        expect("batchNormBackward", "dy [2, 3, 16]", () -> BatchNorm.backward(x, Tensor.zeros(2, 3, 16), ones,
                zeros, ones));
        expect("batchNormBackward", "invStd [2]", () -> BatchNorm.backward(x, x.copy(), ones, zeros,
                Tensor.zeros(2)));
    }

    @Test
    void inferenceAcceptsASingleValuePerChannel() {
        Tensor y = BatchNorm.forwardInference(Tensor.of(new float[] {3, 5}, 1, 2), Tensor.full(2f, 2),
                Tensor.full(1f, 2), Tensor.of(new float[] {1, 1}, 2), Tensor.of(new float[] {4, 16}, 2), 0f + EPS);
        assertArrayEquals(new float[] {2f * 2 / (float) Math.sqrt(4 + EPS) + 1, 2f * 4 / (float) Math.sqrt(16 + EPS)
                + 1}, y.toArray(), 1e-6f);
    }

    private static void expect(String op, String detail, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(op + ":") && e.getMessage().contains(detail), e.getMessage());
    }
}
