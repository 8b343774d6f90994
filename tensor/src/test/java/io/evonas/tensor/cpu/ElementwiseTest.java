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
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleBinaryOperator;
import org.junit.jupiter.api.Test;

class ElementwiseTest {
    private static final DoubleBinaryOperator[] REF = {Double::sum, (x, y) -> x - y, (x, y) -> x * y, (x, y) -> x / y};
    private static final String[] OPS = {"add", "sub", "mul", "div"};

    /** Pairs of broadcastable shapes: same shape, per-channel, per-feature, scalar, both sides broadcast, big. */
    private static final List<int[][]> PAIRS = List.of(
            new int[][] {{1}, {1}},
            new int[][] {{15}, {15}},
            new int[][] {{17}, {17}},
            new int[][] {{3, 11}, {3, 11}},
            new int[][] {{1031}, {1031}},
            new int[][] {{2, 3, 4, 5}, {1, 3, 1, 1}},
            new int[][] {{2, 3, 4, 5}, {3, 1, 1}},
            new int[][] {{2, 5, 33}, {5, 1}},
            new int[][] {{4, 17}, {17}},
            new int[][] {{4, 17}, {}},
            new int[][] {{3, 1}, {1, 33}},
            new int[][] {{2, 1, 5}, {3, 1}},
            new int[][] {{5, 33}, {5, 1}},
            new int[][] {{1}, {7}},
            new int[][] {{2, 3, 17, 17}, {2, 3, 1, 1}},
            new int[][] {{4, 16, 40, 40}, {1, 16, 1, 1}},
            new int[][] {{70001}, {70001}},
            new int[][] {{1, 70001}, {3, 1}},
            new int[][] {{300, 257}, {257}});

    @Test
    void binaryOpsMatchDoubleReferenceWithBroadcasting() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int[][] pair : PAIRS) {
            for (int swap = 0; swap < 2; swap++) {
                int[] ad = pair[swap];
                int[] bd = pair[1 - swap];
                float[] a = randomArray(rng, Shape.of(ad).size());
                float[] b = awayFromZero(randomArray(rng, Shape.of(bd).size()));
                for (int op = 0; op < 4; op++) {
                    Tensor y = apply(op, Tensor.of(a, ad), Tensor.of(b, bd));
                    double[] ref = refBinary(toDouble(a), ad, toDouble(b), bd, REF[op]);
                    assertArrayEquals(broadcastDims(ad, bd), y.shape().dims(), OPS[op] + " shape");
                    assertClose(OPS[op] + " " + Shape.of(ad) + " " + Shape.of(bd), ref, y.toArray(), 1e-6, 1e-7);
                }
            }
        }
    }

    @Test
    void writesIntoOutAndAllowsExactInPlace() {
        SplittableRandom rng = new SplittableRandom(2);
        float[] x = randomArray(rng, 2 * 3 * 17);
        float[] bias = randomArray(rng, 3);
        double[] ref = refBinary(toDouble(x), new int[] {2, 3, 17}, toDouble(bias), new int[] {3, 1}, Double::sum);
        Tensor t = Tensor.of(x, 2, 3, 17);
        assertSame(t, Elementwise.add(t, Tensor.of(bias, 3, 1), t));
        assertClose("in-place add", ref, t.toArray(), 1e-6, 1e-7);

        Tensor b = Tensor.of(bias, 3, 1);
        Tensor c = Tensor.of(randomArray(rng, 3), 3, 1);
        double[] prod = refBinary(toDouble(b.toArray()), new int[] {3, 1}, toDouble(c.toArray()), new int[] {3, 1},
                (p, q) -> p * q);
        Elementwise.mul(b, c, c);
        assertClose("in-place mul into b", prod, c.toArray(), 1e-6, 0);
    }

    @Test
    void rejectsUnsafeAliasing() {
        Tensor big = Tensor.zeros(4, 3);
        Tensor row = big.slice(0, 1).reshape(3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.add(big, row, big));
        assertTrue(e.getMessage().startsWith("add: out [4, 3] overlaps b [3]"), e.getMessage());
        Tensor shifted = big.slice(1, 4);
        Tensor first = big.slice(0, 3);
        assertThrows(IllegalArgumentException.class, () -> Elementwise.mul(first, first, shifted));
        assertThrows(IllegalArgumentException.class, () -> Elementwise.addScalar(first, 1f, shifted));
        Tensor g = Tensor.zeros(4, 3);
        assertThrows(IllegalArgumentException.class, () -> Elementwise.sumTo(g, Shape.of(3), g.slice(0, 1).reshape(3)));
    }

    @Test
    void scalarOpsMatchReference() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int n : new int[] {1, 15, 17, 33, 1000, 70001}) {
            float[] x = randomArray(rng, n);
            float s = 0.37f;
            double[] add = new double[n];
            double[] mul = new double[n];
            double[] div = new double[n];
            double[] neg = new double[n];
            for (int i = 0; i < n; i++) {
                add[i] = (double) x[i] + s;
                mul[i] = (double) x[i] * s;
                div[i] = (double) x[i] / s;
                neg[i] = -x[i];
            }
            Tensor t = Tensor.of(x, n);
            assertClose("addScalar", add, Elementwise.addScalar(t, s).toArray(), 1e-6, 1e-7);
            assertClose("mulScalar", mul, Elementwise.mulScalar(t, s).toArray(), 1e-6, 1e-7);
            assertClose("divScalar", div, Elementwise.divScalar(t, s).toArray(), 1e-6, 1e-7);
            assertClose("neg", neg, Elementwise.neg(t).toArray(), 0, 0);
            Elementwise.mulScalar(t, s, t);
            assertClose("mulScalar in place", mul, t.toArray(), 1e-6, 1e-7);
        }
    }

    @Test
    void addScaledInPlaceIsAFusedAxpy() {
        SplittableRandom rng = new SplittableRandom(4);
        for (int n : new int[] {1, 17, 1000, 70001}) {
            float[] acc = randomArray(rng, n);
            float[] x = randomArray(rng, n);
            double[] ref = new double[n];
            for (int i = 0; i < n; i++) {
                ref[i] = acc[i] + -0.5 * x[i];
            }
            Tensor a = Tensor.of(acc, n);
            Elementwise.addScaledInPlace(a, -0.5f, Tensor.of(x, n));
            assertClose("addScaledInPlace " + n, ref, a.toArray(), 1e-6, 1e-7);
        }
        assertThrows(IllegalArgumentException.class,
                () -> Elementwise.addScaledInPlace(Tensor.zeros(3), 1f, Tensor.zeros(4)));
    }

    @Test
    void sumToReducesBroadcastDimensions() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int[][] pair : PAIRS) {
            for (int side = 0; side < 2; side++) {
                int[] od = broadcastDims(pair[0], pair[1]);
                int[] td = pair[side];
                float[] g = randomArray(rng, Shape.of(od).size());
                double[] ref = refSumTo(toDouble(g), od, td);
                Tensor r = Elementwise.sumTo(Tensor.of(g, od), Shape.of(td));
                assertArrayEquals(td, r.shape().dims());
                int terms = Shape.of(od).size() / Math.max(1, Shape.of(td).size());
                assertClose("sumTo " + Shape.of(od) + " -> " + Shape.of(td), ref, r.toArray(), 1e-5, 1e-6 * terms);
            }
        }
        // a target with a leading 1 the gradient lacks is not a broadcast source of it
        assertThrows(IllegalArgumentException.class, () -> Elementwise.sumTo(Tensor.zeros(3), Shape.of(1, 3)));
        // an empty broadcast axis sums to zero
        Tensor z = Elementwise.sumTo(Tensor.zeros(0, 3), Shape.of(1, 3));
        assertArrayEquals(new float[3], z.toArray());
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(6);
        int[][][] cases = {{{2, 3, 4}, {3, 1}}, {{4, 5}, {5}}, {{2, 3}, {}}, {{3, 1}, {1, 4}}, {{17}, {17}},
                {{2, 3, 2, 2}, {1, 3, 1, 1}}};
        for (int[][] c : cases) {
            int[] ad = c[0];
            int[] bd = c[1];
            double[] a = toDouble(randomArray(rng, Shape.of(ad).size()));
            double[] b = toDouble(awayFromZero(randomArray(rng, Shape.of(bd).size())));
            int[] od = broadcastDims(ad, bd);
            double[] g = toDouble(randomArray(rng, Shape.of(od).size()));
            Tensor ta = tensor(a, ad);
            Tensor tb = tensor(b, bd);
            Tensor dy = tensor(g, od);
            for (int op = 0; op < 4; op++) {
                DoubleBinaryOperator f = REF[op];
                double[] numA = numericGradient(v -> dot(g, refBinary(v, ad, b, bd, f)), a.clone(), 1e-6);
                double[] numB = numericGradient(v -> dot(g, refBinary(a, ad, v, bd, f)), b.clone(), 1e-6);
                Tensor ga;
                Tensor gb;
                switch (op) {
                    case 0 -> {
                        ga = Elementwise.sumTo(dy, ta.shape());
                        gb = Elementwise.sumTo(dy, tb.shape());
                    }
                    case 1 -> {
                        ga = Elementwise.sumTo(dy, ta.shape());
                        gb = Elementwise.neg(Elementwise.sumTo(dy, tb.shape()));
                    }
                    case 2 -> {
                        ga = Elementwise.mulGradA(dy, ta, tb);
                        gb = Elementwise.mulGradB(dy, ta, tb);
                    }
                    default -> {
                        ga = Elementwise.divGradA(dy, ta, tb);
                        gb = Elementwise.divGradB(dy, ta, tb);
                    }
                }
                String what = OPS[op] + " " + Shape.of(ad) + " " + Shape.of(bd);
                assertArrayEquals(ad, ga.shape().dims(), what);
                assertArrayEquals(bd, gb.shape().dims(), what);
                assertClose(what + " d/da", numA, ga.toArray(), 1e-4, 1e-5);
                assertClose(what + " d/db", numB, gb.toArray(), 1e-4, 1e-5);
            }
        }
    }

    @Test
    void errorsNameTheOperationAndShapes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.add(Tensor.zeros(2, 3), Tensor.zeros(4)));
        assertEquals("add: shapes [2, 3] and [4] do not broadcast", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.div(Tensor.zeros(8, 16, 4, 4), Tensor.zeros(1, 8, 1, 1)));
        assertEquals("div: shapes [8, 16, 4, 4] and [1, 8, 1, 1] do not broadcast", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.mul(Tensor.zeros(2, 3), Tensor.zeros(3), Tensor.zeros(3)));
        assertEquals("mul: out [3] must have shape [2, 3], the broadcast of [2, 3] and [3]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.sumTo(Tensor.zeros(2, 3), Shape.of(2)));
        assertEquals("sumTo: shape [2] does not broadcast to gradient [2, 3]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.mulGradA(Tensor.zeros(3), Tensor.zeros(2, 3), Tensor.zeros(3)));
        assertTrue(e.getMessage().startsWith("mulGradA: gradient [3] must have shape [2, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Elementwise.addScalar(Tensor.zeros(2), 1f, Tensor.zeros(3)));
        assertEquals("addScalar: out [3] must have the shape of x [2]", e.getMessage());
    }

    @Test
    void divisionFollowsIeee() {
        Tensor y = Elementwise.div(Tensor.of(new float[] {1, -1, 0}, 3), Tensor.scalar(0f));
        assertArrayEquals(new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN}, y.toArray());
    }

    // ---------------------------------------------------------------- references

    private static Tensor apply(int op, Tensor a, Tensor b) {
        return switch (op) {
            case 0 -> Elementwise.add(a, b);
            case 1 -> Elementwise.sub(a, b);
            case 2 -> Elementwise.mul(a, b);
            default -> Elementwise.div(a, b);
        };
    }

    private static float[] awayFromZero(float[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.copySign(0.5f + Math.abs(v[i]), v[i]);
        }
        return v;
    }

    private static Tensor tensor(double[] v, int[] dims) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.of(f, dims);
    }

    static int[] broadcastDims(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] d = new int[r];
        for (int i = 0; i < r; i++) {
            int x = aligned(a, i, r);
            int y = aligned(b, i, r);
            d[i] = x == 1 ? y : x;
        }
        return d;
    }

    private static int aligned(int[] dims, int i, int r) {
        int j = i - (r - dims.length);
        return j < 0 ? 1 : dims[j];
    }

    /** Flat index into {@code dims} (broadcast to {@code od}) of output multi-index {@code idx}. */
    private static int source(int[] idx, int[] od, int[] dims) {
        int flat = 0;
        for (int i = 0; i < od.length; i++) {
            int d = aligned(dims, i, od.length);
            flat = flat * d + (d == 1 ? 0 : idx[i]);
        }
        return flat;
    }

    private static int[] unflatten(int flat, int[] od) {
        int[] idx = new int[od.length];
        for (int i = od.length - 1; i >= 0; i--) {
            idx[i] = flat % od[i];
            flat /= od[i];
        }
        return idx;
    }

    static double[] refBinary(double[] a, int[] ad, double[] b, int[] bd, DoubleBinaryOperator f) {
        int[] od = broadcastDims(ad, bd);
        double[] out = new double[Shape.of(od).size()];
        for (int i = 0; i < out.length; i++) {
            int[] idx = unflatten(i, od);
            out[i] = f.applyAsDouble(a[source(idx, od, ad)], b[source(idx, od, bd)]);
        }
        return out;
    }

    private static double[] refSumTo(double[] g, int[] od, int[] td) {
        double[] out = new double[Shape.of(td).size()];
        for (int i = 0; i < g.length; i++) {
            out[source(unflatten(i, od), od, td)] += g[i];
        }
        return out;
    }
}
