package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.dot;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static io.evonas.tensor.testing.Oracles.randomArray;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftmaxTest {
    @Test
    void forwardMatchesDoubleReferenceAlongEveryAxis() {
        SplittableRandom rng = new SplittableRandom(1);
        int[][] shapes = {{1}, {1, 1}, {3, 17}, {2, 5, 3}, {2, 33, 4, 1}, {4, 1000}, {200, 401}};
        for (int[] dims : shapes) {
            float[] x = randomArray(rng, Shape.of(dims).size());
            for (int i = 0; i < x.length; i++) {
                x[i] *= 8;
            }
            for (int axis = -dims.length; axis < dims.length; axis++) {
                int a = axis < 0 ? axis + dims.length : axis;
                String what = Shape.of(dims) + " axis " + axis;
                Tensor t = Tensor.of(x, dims);
                assertClose("softmax " + what, ref(false, toDouble(x), dims, a),
                        Softmax.softmax(t, axis).toArray(), 1e-5, 1e-7);
                assertClose("logSoftmax " + what, ref(true, toDouble(x), dims, a),
                        Softmax.logSoftmax(t, axis).toArray(), 1e-6, 1e-5);
                assertSame(t, Softmax.softmax(t, axis, t));
                assertClose("softmax in place " + what, ref(false, toDouble(x), dims, a), t.toArray(), 1e-5, 1e-7);
            }
        }
    }

    @Test
    void stableForHugeLogits() {
        Tensor x = Tensor.of(new float[] {1e4f, 1e4f - 1, -1e4f, /**/ 1e30f, 0f, -1e30f}, 2, 3);
        float[] p = Softmax.softmax(x, 1).toArray();
        double e = Math.exp(-1);
        assertClose("softmax 1e4", new double[] {1 / (1 + e), e / (1 + e), 0, 1, 0, 0}, p, 1e-6, 1e-7);
        float[] lp = Softmax.logSoftmax(x, 1).toArray();
        double l1 = Math.log1p(e);
        assertClose("logSoftmax 1e4", new double[] {-l1, -1 - l1, -2e4 - l1, 0, -1e30, -2e30}, lp, 1e-6, 1e-6);
        for (float v : p) {
            assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void nanSpoilsOnlyItsSlice() {
        Tensor x = Tensor.of(new float[] {1, Float.NaN, 2, /**/ 1, 2, 3}, 2, 3);
        float[] p = Softmax.softmax(x, 1).toArray();
        float[] lp = Softmax.logSoftmax(x, 1).toArray();
        for (int k = 0; k < 3; k++) {
            assertTrue(Float.isNaN(p[k]) && Float.isNaN(lp[k]), "row 0 element " + k);
            assertTrue(Float.isFinite(p[3 + k]) && Float.isFinite(lp[3 + k]), "row 1 element " + k);
        }
        // along axis 0 only the column with the NaN is spoilt
        float[] q = Softmax.softmax(x, 0).toArray();
        assertTrue(Float.isNaN(q[1]) && Float.isNaN(q[4]));
        assertTrue(Float.isFinite(q[0]) && Float.isFinite(q[2]) && Float.isFinite(q[3]) && Float.isFinite(q[5]));
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(2);
        int[][] shapes = {{1}, {5}, {3, 7}, {2, 4, 3}, {2, 3, 2, 2}};
        for (int[] dims : shapes) {
            for (int axis = -dims.length; axis < dims.length; axis++) {
                int a = axis < 0 ? axis + dims.length : axis;
                double[] x = toDouble(randomArray(rng, Shape.of(dims).size()));
                double[] g = toDouble(randomArray(rng, x.length));
                for (boolean log : new boolean[] {false, true}) {
                    String what = (log ? "logSoftmax " : "softmax ") + Shape.of(dims) + " axis " + axis;
                    double[] num = numericGradient(v -> dot(g, ref(log, v, dims, a)), x.clone(), 1e-6);
                    Tensor tx = tensor(x, dims);
                    Tensor y = log ? Softmax.logSoftmax(tx, axis) : Softmax.softmax(tx, axis);
                    Tensor dy = tensor(g, dims);
                    Tensor dx = log ? Softmax.logSoftmaxBackward(y, dy, axis) : Softmax.softmaxBackward(y, dy, axis);
                    assertClose(what, num, dx.toArray(), 1e-4, 1e-5);
                    // in place over dy, then over y
                    Tensor dy2 = tensor(g, dims);
                    if (log) {
                        Softmax.logSoftmaxBackward(y.copy(), dy2, axis, dy2);
                    } else {
                        Softmax.softmaxBackward(y.copy(), dy2, axis, dy2);
                    }
                    assertClose(what + " into dy", num, dy2.toArray(), 1e-4, 1e-5);
                    Tensor y2 = y.copy();
                    if (log) {
                        Softmax.logSoftmaxBackward(y2, dy, axis, y2);
                    } else {
                        Softmax.softmaxBackward(y2, dy, axis, y2);
                    }
                    assertClose(what + " into y", num, y2.toArray(), 1e-4, 1e-5);
                }
            }
        }
    }

    @Test
    void errorsNameTheOperation() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Softmax.softmax(Tensor.zeros(2, 3), 2));
        assertEquals("softmax: axis 2 is out of range for shape [2, 3] (rank 2)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Softmax.logSoftmax(Tensor.zeros(2, 3), -3));
        e = assertThrows(IllegalArgumentException.class,
                () -> Softmax.softmax(Tensor.zeros(2, 3), 1, Tensor.zeros(3, 2)));
        assertEquals("softmax: out [3, 2] must have the shape of x [2, 3]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Softmax.softmaxBackward(Tensor.zeros(2, 3), Tensor.zeros(2, 4), 1));
        assertEquals("softmaxBackward: y [2, 3], dy [2, 4] and dx [2, 3] must have the same shape", e.getMessage());
        Tensor buf = Tensor.zeros(8);
        assertThrows(IllegalArgumentException.class,
                () -> Softmax.softmax(buf.slice(0, 6).reshape(2, 3), 1, buf.slice(2, 8).reshape(2, 3)));
        assertArrayEquals(new int[] {0, 3}, Softmax.softmax(Tensor.zeros(0, 3), 1).shape().dims());
    }

    /** Softmax or log-softmax in double along {@code axis}, written directly from the definition. */
    static double[] ref(boolean log, double[] x, int[] dims, int axis) {
        Shape s = Shape.of(dims);
        int outer = s.sizeOf(0, axis);
        int n = dims[axis];
        int inner = s.sizeOf(axis + 1, dims.length);
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double m = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    m = Math.max(m, x[(o * n + k) * inner + i]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    sum += Math.exp(x[(o * n + k) * inner + i] - m);
                }
                for (int k = 0; k < n; k++) {
                    int j = (o * n + k) * inner + i;
                    y[j] = log ? x[j] - m - Math.log(sum) : Math.exp(x[j] - m) / sum;
                }
            }
        }
        return y;
    }

    private static Tensor tensor(double[] v, int[] dims) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.of(f, dims);
    }
}
