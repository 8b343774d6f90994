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

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ReductionsTest {
    private static final int[][] SHAPES = {{1}, {17}, {3, 33}, {2, 5, 17}, {4, 1, 15}, {2, 3, 4, 5}, {300, 301},
        {1, 100003}, {100003, 1}, {3, 40000}};

    private enum Kind { SUM, MEAN, MAX }

    @Test
    void reductionsMatchDoubleReferenceAlongEveryAxis() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int[] dims : SHAPES) {
            float[] x = randomArray(rng, Shape.of(dims).size());
            Tensor t = Tensor.of(x, dims);
            for (int axis = -dims.length; axis < dims.length; axis++) {
                int a = axis < 0 ? axis + dims.length : axis;
                int n = dims[a];
                String what = Shape.of(dims) + " axis " + axis;
                double tol = 1e-6 * n;
                assertClose("sum " + what, ref(Kind.SUM, toDouble(x), dims, a), Reductions.sum(t, axis).toArray(),
                        1e-5, tol);
                assertClose("mean " + what, ref(Kind.MEAN, toDouble(x), dims, a),
                        Reductions.mean(t, axis).toArray(), 1e-5, tol / n);
                assertClose("max " + what, ref(Kind.MAX, toDouble(x), dims, a), Reductions.max(t, axis).toArray(),
                        0, 0);
                int[] am = Reductions.argmax(t, axis);
                double[] mx = ref(Kind.MAX, toDouble(x), dims, a);
                int inner = Shape.of(dims).sizeOf(a + 1, dims.length);
                for (int r = 0; r < am.length; r++) {
                    int o = r / inner;
                    int i = r % inner;
                    assertEquals(mx[r], x[(o * n + am[r]) * inner + i], "argmax " + what + " row " + r);
                }
            }
        }
    }

    @Test
    void keepDimsAndOutShapes() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new int[] {2, 1}, Reductions.sum(x, -1, true).shape().dims());
        assertArrayEquals(new int[] {2}, Reductions.sum(x, 1).shape().dims());
        assertArrayEquals(new int[] {1, 3}, Reductions.max(x, 0, true).shape().dims());
        assertArrayEquals(new float[] {6, 15}, Reductions.sum(x, 1, Tensor.zeros(2, 1)).toArray());
        assertArrayEquals(new float[] {2.5f, 3.5f, 4.5f}, Reductions.mean(x, 0, Tensor.zeros(3)).toArray());
        assertArrayEquals(new float[] {3, 6}, Reductions.max(x, 1).toArray());
        assertArrayEquals(new int[] {2, 2}, Reductions.argmax(x, 1));
        assertEquals(0, Reductions.sum(Tensor.of(new float[] {21}, 1), 0).rank());
    }

    @Test
    void argmaxTakesFirstOfTiesAndFirstNaN() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, /**/ 2, Float.NaN, 5, Float.NaN, /**/ 7, 7, 7, 7}, 3, 4);
        assertArrayEquals(new int[] {1, 1, 0}, Reductions.argmax(x, 1));
        float[] m = Reductions.max(x, 1).toArray();
        assertEquals(3f, m[0]);
        assertTrue(Float.isNaN(m[1]));
        Tensor first = Tensor.of(new float[] {Float.NaN, 9, 1}, 3);
        assertArrayEquals(new int[] {0}, Reductions.argmax(first, 0));
        assertTrue(Float.isNaN(Reductions.max(first, 0).item()));
        assertTrue(Float.isNaN(Reductions.sumAll(first)));
    }

    @Test
    void sumAllAndMeanAll() {
        SplittableRandom rng = new SplittableRandom(2);
        for (int n : new int[] {1, 17, 1000, 200003}) {
            float[] x = randomArray(rng, n);
            double s = 0;
            for (float v : x) {
                s += v;
            }
            Tensor t = Tensor.of(x, n);
            assertEquals(s, Reductions.sumAll(t), 1e-6 * Math.sqrt(n) + 1e-5 * Math.abs(s), "sumAll " + n);
            assertEquals(s / n, Reductions.meanAll(t), 1e-6, "meanAll " + n);
        }
        assertEquals(0f, Reductions.sumAll(Tensor.zeros(0)));
        assertTrue(Float.isNaN(Reductions.meanAll(Tensor.zeros(0))));
    }

    @Test
    void emptyAxes() {
        assertArrayEquals(new float[3], Reductions.sum(Tensor.zeros(0, 3), 0).toArray());
        float[] m = Reductions.mean(Tensor.zeros(0, 3), 0).toArray();
        assertTrue(Float.isNaN(m[0]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Reductions.max(Tensor.zeros(2, 0), 1));
        assertEquals("max: axis 1 of [2, 0] is empty", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Reductions.argmax(Tensor.zeros(2, 0), -1));
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(3);
        int[][] shapes = {{5}, {3, 17}, {2, 3, 4}, {2, 1, 3}};
        for (int[] dims : shapes) {
            for (int axis = -dims.length; axis < dims.length; axis++) {
                int a = axis < 0 ? axis + dims.length : axis;
                double[] x = distinct(rng, Shape.of(dims).size());
                Tensor tx = tensor(x, dims);
                for (boolean keep : new boolean[] {false, true}) {
                    Shape rs = Reductions.sum(tx, axis, keep).shape();
                    double[] g = toDouble(randomArray(rng, rs.size()));
                    Tensor dy = tensor(g, rs.dims());
                    for (Kind k : Kind.values()) {
                        double[] num = numericGradient(v -> dot(g, ref(k, v, dims, a)), x.clone(), 1e-6);
                        Tensor dx = switch (k) {
                            case SUM -> Reductions.sumBackward(dy, tx.shape(), axis);
                            case MEAN -> Reductions.meanBackward(dy, tx.shape(), axis);
                            case MAX -> Reductions.maxBackward(tx, dy, axis);
                        };
                        String what = k + " " + Shape.of(dims) + " axis " + axis + " keepDims " + keep;
                        assertArrayEquals(dims, dx.shape().dims(), what);
                        assertClose(what, num, dx.toArray(), 1e-4, 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void errorsNameTheOperationAxisAndShape() {
        Tensor x = Tensor.zeros(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reductions.sum(x, 2));
        assertEquals("sum: axis 2 is out of range for shape [2, 3] (rank 2)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Reductions.mean(x, -3));
        assertEquals("mean: axis -3 is out of range for shape [2, 3] (rank 2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Reductions.max(x, 5));
        assertThrows(IllegalArgumentException.class, () -> Reductions.argmax(x, -4));
        assertThrows(IllegalArgumentException.class, () -> Reductions.sum(Tensor.scalar(1f), 0));
        e = assertThrows(IllegalArgumentException.class, () -> Reductions.sum(x, 0, Tensor.zeros(2)));
        assertEquals("sum: out [2] must be [3] or [1, 3] for [2, 3] reduced along axis 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Reductions.sumBackward(Tensor.zeros(3), Shape.of(2, 3), 1));
        assertEquals("sumBackward: dy [3] must be [2] or [2, 1] for [2, 3] reduced along axis 1", e.getMessage());
        Tensor buf = Tensor.zeros(9);
        assertThrows(IllegalArgumentException.class,
                () -> Reductions.sum(buf.slice(0, 6).reshape(2, 3), 1, buf.slice(5, 7)));
    }

    // ---------------------------------------------------------------- references

    private static double[] ref(Kind k, double[] x, int[] dims, int axis) {
        Shape s = Shape.of(dims);
        int outer = s.sizeOf(0, axis);
        int n = dims[axis];
        int inner = s.sizeOf(axis + 1, dims.length);
        double[] y = new double[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double acc = k == Kind.MAX ? Double.NEGATIVE_INFINITY : 0;
                for (int j = 0; j < n; j++) {
                    double v = x[(o * n + j) * inner + i];
                    acc = k == Kind.MAX ? Math.max(acc, v) : acc + v;
                }
                y[o * inner + i] = k == Kind.MEAN ? acc / n : acc;
            }
        }
        return y;
    }

    /** Values at least 0.01 apart, so a finite-difference step never changes which one is the maximum. */
    private static double[] distinct(SplittableRandom rng, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (i * 0.01 - 0.5 * n * 0.01 + rng.nextDouble() * 0.001);
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            double t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
        return x;
    }

    private static Tensor tensor(double[] v, int[] dims) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.of(f, dims);
    }
}
