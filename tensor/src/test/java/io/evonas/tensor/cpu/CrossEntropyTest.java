package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static io.evonas.tensor.testing.Oracles.randomArray;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.CrossEntropy.Reduction;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CrossEntropyTest {
    private static final int[][] SIZES = {{1, 1}, {1, 10}, {4, 10}, {33, 17}, {700, 100}};

    @Test
    void forwardWithLabelsMatchesDoubleReference() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int[] nc : SIZES) {
            int n = nc[0];
            int c = nc[1];
            float[] x = scaled(randomArray(rng, n * c), 5);
            int[] labels = labels(rng, n, c);
            double sum = refLoss(toDouble(x), n, c, labels, null);
            Tensor t = Tensor.of(x, n, c);
            assertEquals(sum / n, CrossEntropy.forward(t, labels), 1e-6 * (1 + sum / n), "mean " + n + "x" + c);
            assertEquals(sum, CrossEntropy.forward(t, labels, Reduction.SUM), 1e-6 * (1 + sum), "sum " + n + "x" + c);
        }
    }

    @Test
    void forwardWithTargetsMatchesDoubleReference() {
        SplittableRandom rng = new SplittableRandom(2);
        for (int[] nc : SIZES) {
            int n = nc[0];
            int c = nc[1];
            float[] x = scaled(randomArray(rng, n * c), 5);
            float[] t = distributions(rng, n, c, true);
            double sum = refLoss(toDouble(x), n, c, null, toDouble(t));
            assertEquals(sum / n, CrossEntropy.forward(Tensor.of(x, n, c), Tensor.of(t, n, c)),
                    1e-6 * (1 + sum / n), "mean " + n + "x" + c);
            assertEquals(sum, CrossEntropy.forward(Tensor.of(x, n, c), Tensor.of(t, n, c), Reduction.SUM),
                    1e-6 * (1 + sum), "sum " + n + "x" + c);
        }
        // one-hot targets give the label loss
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 0, -1}, 2, 3);
        Tensor oneHot = Tensor.of(new float[] {0, 0, 1, 1, 0, 0}, 2, 3);
        assertEquals(CrossEntropy.forward(x, new int[] {2, 0}), CrossEntropy.forward(x, oneHot), 1e-6);
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int[] nc : new int[][] {{1, 1}, {1, 5}, {4, 7}, {3, 17}}) {
            int n = nc[0];
            int c = nc[1];
            double[] x = toDouble(scaled(randomArray(rng, n * c), 3));
            int[] labels = labels(rng, n, c);
            for (boolean normalised : new boolean[] {true, false}) {
                double[] t = toDouble(distributions(rng, n, c, normalised));
                for (Reduction r : Reduction.values()) {
                    float dLoss = 0.7f;
                    double scale = dLoss / (r == Reduction.MEAN ? n : 1.0);
                    String what = n + "x" + c + " " + r + (normalised ? "" : " unnormalised");
                    double[] numL = numericGradient(v -> scale * refLoss(v, n, c, labels, null), x.clone(), 1e-6);
                    Tensor tx = tensor(x, n, c);
                    Tensor gL = CrossEntropy.backward(tx, labels, r, dLoss, Tensor.zeros(n, c));
                    assertClose("labels " + what, numL, gL.toArray(), 1e-4, 1e-6);
                    double[] numT = numericGradient(v -> scale * refLoss(v, n, c, null, t), x.clone(), 1e-6);
                    Tensor gT = CrossEntropy.backward(tx, tensor(t, n, c), r, dLoss, Tensor.zeros(n, c));
                    assertClose("targets " + what, numT, gT.toArray(), 1e-4, 1e-6);
                }
            }
        }
    }

    @Test
    void backwardIsSoftmaxMinusOneHotOverN() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = 700;
        int c = 100;
        float[] x = scaled(randomArray(rng, n * c), 5);
        int[] labels = labels(rng, n, c);
        double[] p = SoftmaxTest.ref(false, toDouble(x), new int[] {n, c}, 1);
        for (int r = 0; r < n; r++) {
            p[r * c + labels[r]] -= 1;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= n;
        }
        Tensor t = Tensor.of(x, n, c);
        assertClose("(softmax - onehot) / N", p, CrossEntropy.backward(t, labels).toArray(), 1e-5, 1e-9);
        // into the logits themselves
        assertSame(t, CrossEntropy.backward(t, labels, Reduction.MEAN, 1f, t));
        assertClose("in place", p, t.toArray(), 1e-5, 1e-9);
    }

    @Test
    void stableForLogitsOfMagnitude1e4() {
        Tensor x = Tensor.of(new float[] {1e4f, -1e4f, 0f, /**/ -1e4f, 1e4f, 1e4f}, 2, 3);
        assertEquals(Math.log(2), CrossEntropy.forward(x, new int[] {0, 1}, Reduction.SUM), 1e-6);
        assertEquals(4e4 + Math.log(2), CrossEntropy.forward(x, new int[] {1, 0}, Reduction.SUM), 1e-2);
        assertEquals((float) Math.log(2) / 2, CrossEntropy.forward(x, new int[] {0, 2}), 1e-6);
        float[] g = CrossEntropy.backward(x, new int[] {1, 1}).toArray();
        assertClose("gradient at 1e4", new double[] {0.5, -0.5, 0, 0, -0.25, 0.25}, g, 1e-6, 1e-7);
        // random logits scaled to 1e4 against the reference
        SplittableRandom rng = new SplittableRandom(5);
        float[] big = scaled(randomArray(rng, 8 * 12), 1e4f);
        int[] labels = labels(rng, 8, 12);
        double ref = refLoss(toDouble(big), 8, 12, labels, null) / 8;
        assertEquals(ref, CrossEntropy.forward(Tensor.of(big, 8, 12), labels), 1e-6 * (1 + ref));
        for (float v : CrossEntropy.backward(Tensor.of(big, 8, 12), labels).toArray()) {
            assertTrue(Float.isFinite(v));
        }
        // a class at -Inf with zero target costs nothing
        Tensor inf = Tensor.of(new float[] {0f, Float.NEGATIVE_INFINITY}, 1, 2);
        assertEquals(0f, CrossEntropy.forward(inf, Tensor.of(new float[] {1, 0}, 1, 2)));
    }

    @Test
    void nanInLogitsGivesNaN() {
        Tensor x = Tensor.of(new float[] {1, 2, Float.NaN, /**/ 0, 1, 2}, 2, 3);
        assertTrue(Float.isNaN(CrossEntropy.forward(x, new int[] {0, 1})));
        assertTrue(Float.isNaN(CrossEntropy.forward(x, Tensor.of(new float[] {1, 0, 0, 0, 0, 1}, 2, 3))));
        float[] g = CrossEntropy.backward(x, new int[] {0, 1}).toArray();
        assertTrue(Float.isNaN(g[0]) && Float.isNaN(g[1]) && Float.isNaN(g[2]));
        assertTrue(Float.isFinite(g[3]) && Float.isFinite(g[4]) && Float.isFinite(g[5]));
    }

    @Test
    void validatesLabelsAndShapes() {
        Tensor x = Tensor.zeros(4, 10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.forward(x, new int[] {0, 1, 2, 10}));
        assertEquals("crossEntropy: label 10 at row 3 is out of range [0, 10)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.backward(x, new int[] {0, -1, 2, 3}));
        assertEquals("crossEntropyBackward: label -1 at row 1 is out of range [0, 10)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(x, new int[] {0, 1}));
        assertEquals("crossEntropy: 2 labels for logits [4, 10] (4 rows)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(Tensor.zeros(10), new int[1]));
        assertEquals("crossEntropy: logits [10] must be [N, C]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.forward(x, Tensor.zeros(4, 9)));
        assertEquals("crossEntropy: targets [4, 9] must have the shape of logits [4, 10]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CrossEntropy.backward(x, new int[4], Reduction.MEAN, 1f, Tensor.zeros(4, 9)));
        assertEquals("crossEntropyBackward: dLogits [4, 9] must have the shape of logits [4, 10]", e.getMessage());
        assertTrue(Float.isNaN(CrossEntropy.forward(Tensor.zeros(0, 10), new int[0])));
        assertEquals(0f, CrossEntropy.forward(Tensor.zeros(0, 10), new int[0], Reduction.SUM));
    }

    // ---------------------------------------------------------------- references

    /** Σ_n of the per-row loss, in double, from log-softmax written directly. */
    private static double refLoss(double[] x, int n, int c, int[] labels, double[] t) {
        double[] lp = SoftmaxTest.ref(true, x, new int[] {n, c}, 1);
        double s = 0;
        for (int r = 0; r < n; r++) {
            if (labels != null) {
                s -= lp[r * c + labels[r]];
            } else {
                for (int k = 0; k < c; k++) {
                    s -= t[r * c + k] * lp[r * c + k];
                }
            }
        }
        return s;
    }

    private static int[] labels(SplittableRandom rng, int n, int c) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) {
            l[i] = rng.nextInt(c);
        }
        return l;
    }

    /** Rows of non-negative weights, summing to 1 when {@code normalised}, some entries exactly 0. */
    private static float[] distributions(SplittableRandom rng, int n, int c, boolean normalised) {
        float[] t = new float[n * c];
        for (int r = 0; r < n; r++) {
            double s = 0;
            for (int k = 0; k < c; k++) {
                t[r * c + k] = rng.nextInt(4) == 0 ? 0 : (float) rng.nextDouble();
                s += t[r * c + k];
            }
            if (normalised && s > 0) {
                for (int k = 0; k < c; k++) {
                    t[r * c + k] = (float) (t[r * c + k] / s);
                }
            }
        }
        return t;
    }

    private static float[] scaled(float[] v, float s) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return v;
    }

    private static Tensor tensor(double[] v, int... dims) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.of(f, dims);
    }
}
