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
import org.junit.jupiter.api.function.Executable;

class Pool2dTest {

    /** A random geometry and an input shape it fits; windows 1–4, strides 1–3, asymmetric padding. */
    private record Case(PoolSpec spec, int n, int c, int h, int w) {
        static Case random(SplittableRandom rng) {
            int kh = rng.nextInt(1, 5);
            int kw = rng.nextInt(1, 5);
            PoolSpec spec = new PoolSpec(kh, kw, rng.nextInt(1, 4), rng.nextInt(1, 4),
                    rng.nextInt(0, kh / 2 + 1), rng.nextInt(0, kh / 2 + 1),
                    rng.nextInt(0, kw / 2 + 1), rng.nextInt(0, kw / 2 + 1));
            int h = Math.max(1, kh - spec.padTop() - spec.padBottom()) + rng.nextInt(0, 12);
            int w = Math.max(1, kw - spec.padLeft() - spec.padRight()) + rng.nextInt(0, 20);
            return new Case(spec, rng.nextInt(1, 3), rng.nextInt(1, 4), h, w);
        }

        Shape shape() {
            return Shape.of(n, c, h, w);
        }

        int oh() {
            return spec.outHeight(h);
        }

        int ow() {
            return spec.outWidth(w);
        }
    }

    // ------------------------------------------------------------ references in double

    private static double[] maxRef(double[] x, Case k) {
        return poolRef(x, k, true);
    }

    private static double[] meanRef(double[] x, Case k) {
        return poolRef(x, k, false);
    }

    /** Straight from the definition: padded positions are -inf for max and 0 for mean (divisor kh*kw). */
    private static double[] poolRef(double[] x, Case k, boolean max) {
        PoolSpec s = k.spec;
        int oh = k.oh();
        int ow = k.ow();
        double[] y = new double[k.n * k.c * oh * ow];
        for (int p = 0; p < k.n * k.c; p++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    for (int dy = 0; dy < s.kh(); dy++) {
                        for (int dx = 0; dx < s.kw(); dx++) {
                            int iy = oy * s.sh() - s.padTop() + dy;
                            int ix = ox * s.sw() - s.padLeft() + dx;
                            boolean real = iy >= 0 && iy < k.h && ix >= 0 && ix < k.w;
                            double v = real ? x[(p * k.h + iy) * k.w + ix] : (max ? Double.NEGATIVE_INFINITY : 0);
                            acc = max ? Math.max(acc, v) : acc + v;
                        }
                    }
                    y[(p * oh + oy) * ow + ox] = max ? acc : acc / s.windowSize();
                }
            }
        }
        return y;
    }

    /** Distinct values (a shuffled ladder with step 0.01), so max pooling is differentiable at x. */
    private static float[] distinct(SplittableRandom rng, int n) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (perm[i] - n / 2) * 0.01f;
        }
        return x;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    // ------------------------------------------------------------ max pooling

    @Test
    void maxPoolMatchesTheReferenceAndItsGradientOnRandomGeometry() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int t = 0; t < 60; t++) {
            Case k = Case.random(rng);
            float[] xv = distinct(rng, k.shape().size());
            Tensor x = Tensor.of(xv, k.shape().dims());
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, k.spec);
            double[] expected = maxRef(toDouble(xv), k);
            assertClose("maxPool " + k, expected, p.output().toArray(), 0, 0);
            assertArrayEquals(p.output().toArray(), Pool2d.maxPool(x, k.spec).toArray(), "maxPool without indices");
            for (int o = 0; o < p.argmax().length; o++) {
                int plane = o / (k.oh() * k.ow());
                assertEquals(p.output().toArray()[o], xv[plane * k.h * k.w + p.argmax()[o]], "argmax " + o);
            }

            double[] g = toDouble(randomArray(rng, expected.length));
            double[] numeric = numericGradient(v -> dot(g, maxRef(v, k)), toDouble(xv), 1e-3);
            Tensor dy = Tensor.of(toFloat(g), p.output().shape().dims());
            Tensor dx = Pool2d.maxPoolBackward(dy, p.argmax(), k.spec, x.shape());
            assertClose("maxPoolBackward " + k, numeric, dx.toArray(), 1e-4, 1e-5);
        }
    }

    @Test
    void twoByTwoFastPathOnOddSizes() {
        SplittableRandom rng = new SplittableRandom(12);
        // Widths 26, 23 and 40 end their rows in an overlapping full step; 11 and 9 in a partial step.
        for (int[] hw : new int[][] {{7, 9}, {2, 2}, {3, 33}, {16, 17}, {6, 26}, {5, 11}, {4, 23}, {3, 40}}) {
            Case k = new Case(PoolSpec.of(2), 2, 3, hw[0], hw[1]);
            float[] xv = distinct(rng, k.shape().size());
            Tensor x = Tensor.of(xv, k.shape().dims());
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, k.spec);
            assertClose("maxPool 2x2 " + k, maxRef(toDouble(xv), k), p.output().toArray(), 0, 0);
            assertArrayEquals(p.output().toArray(), Pool2d.maxPool(x, k.spec).toArray());
            double[] g = toDouble(randomArray(rng, p.argmax().length));
            double[] numeric = numericGradient(v -> dot(g, maxRef(v, k)), toDouble(xv), 1e-3);
            Tensor dx = Pool2d.maxPoolBackward(Tensor.of(toFloat(g), p.output().shape().dims()), p.argmax(),
                    k.spec, x.shape());
            assertClose("maxPoolBackward 2x2 " + k, numeric, dx.toArray(), 1e-4, 1e-5);
        }
    }

    /** The winner's plane index by the row-major scan {@code v > best || isNaN(v)}, padding skipped. */
    private static int[] argmaxRef(float[] x, Case k) {
        PoolSpec s = k.spec;
        int oh = k.oh();
        int ow = k.ow();
        int[] arg = new int[k.n * k.c * oh * ow];
        for (int p = 0; p < k.n * k.c; p++) {
            for (int o = 0; o < oh * ow; o++) {
                float best = Float.NEGATIVE_INFINITY;
                int bi = -1;
                for (int dy = 0; dy < s.kh(); dy++) {
                    for (int dx = 0; dx < s.kw(); dx++) {
                        int iy = o / ow * s.sh() - s.padTop() + dy;
                        int ix = o % ow * s.sw() - s.padLeft() + dx;
                        if (iy >= 0 && iy < k.h && ix >= 0 && ix < k.w) {
                            float v = x[(p * k.h + iy) * k.w + ix];
                            if (bi < 0 || v > best || Float.isNaN(v)) {
                                best = v;
                                bi = iy * k.w + ix;
                            }
                        }
                    }
                }
                arg[p * oh * ow + o] = bi;
            }
        }
        return arg;
    }

    @Test
    void vectorStepsOnWideRowsKeepTiesAndNaNsOfTheScalarScan() {
        SplittableRandom rng = new SplittableRandom(18);
        for (int t = 0; t < 40; t++) {
            int kh = rng.nextInt(1, 5);
            int kw = rng.nextInt(1, 5);
            int sw = t < 4 ? 2 : rng.nextInt(1, 3);
            PoolSpec spec = t < 4 ? PoolSpec.of(2)
                    : new PoolSpec(kh, kw, rng.nextInt(1, 4), sw, rng.nextInt(0, kh / 2 + 1),
                            rng.nextInt(0, kh / 2 + 1), rng.nextInt(0, kw / 2 + 1), rng.nextInt(0, kw / 2 + 1));
            Case k = new Case(spec, 1, 2, rng.nextInt(4, 9), rng.nextInt(36, 80));
            float[] xv = new float[k.shape().size()];
            for (int i = 0; i < xv.length; i++) {
                xv[i] = rng.nextInt(4) - (rng.nextInt(50) == 0 ? Float.NaN : 0);   // ties everywhere, a few NaNs
            }
            Tensor x = Tensor.of(xv, k.shape().dims());
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
            int[] expected = argmaxRef(xv, k);
            assertArrayEquals(expected, p.argmax(), "argmax " + k);
            float[] y = p.output().toArray();
            float[] yNoIndex = Pool2d.maxPool(x, spec).toArray();
            for (int o = 0; o < y.length; o++) {
                float want = xv[o / (k.oh() * k.ow()) * k.h * k.w + expected[o]];
                assertEquals(want, y[o], "maxPool " + k + " output " + o);
                assertEquals(want, yNoIndex[o], "maxPool without indices " + k + " output " + o);
            }
            float[] clean = randomArray(rng, xv.length);
            assertClose("meanPool wide " + k, meanRef(toDouble(clean), k),
                    Pool2d.meanPool(Tensor.of(clean, k.shape().dims()), spec).toArray(), 1e-5, 1e-6);
        }
    }

    @Test
    void overlappingWindowsAccumulateInBackward() {
        // 3×3 stride 1 over a 3×4 plane whose maximum sits in the middle: both windows pick it.
        Tensor x = Tensor.of(new float[] {0, 1, 2, 0, 3, 9, 4, 1, 0, 2, 1, 0}, 1, 1, 3, 4);
        PoolSpec spec = PoolSpec.of(3, 3, 1, 1);
        Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
        assertArrayEquals(new float[] {9, 9}, p.output().toArray());
        Tensor dx = Pool2d.maxPoolBackward(Tensor.of(new float[] {0.5f, 2f}, 1, 1, 1, 2), p.argmax(), spec,
                x.shape());
        assertEquals(2.5f, dx.get(0, 0, 1, 1));
        assertEquals(2.5f, sum(dx.toArray()));
    }

    @Test
    void paddingNeverWinsAndTiesGoToTheFirstMaximum() {
        Tensor neg = Tensor.full(-3f, 1, 2, 5, 4);
        PoolSpec spec = PoolSpec.of(3, 3, 2, 2).withPadding(1);
        Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(neg, spec);
        for (float v : p.output().toArray()) {
            assertEquals(-3f, v);
        }
        // Every value ties: the winner is the first real element of each window in row-major order.
        assertArrayEquals(new int[] {0, 1, 4, 5, 12, 13, 0, 1, 4, 5, 12, 13}, p.argmax());
    }

    @Test
    void nanPropagates() {
        float[] v = new float[16];
        v[5] = Float.NaN;
        v[6] = 7;
        v[10] = Float.NaN;
        for (PoolSpec spec : new PoolSpec[] {PoolSpec.of(2), PoolSpec.of(2, 2, 1, 1), PoolSpec.of(3, 3, 1, 1)}) {
            Tensor x = Tensor.of(v, 1, 1, 4, 4);
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
            float[] y = p.output().toArray();
            assertArrayEquals(y, Pool2d.maxPool(x, spec).toArray(), spec.toString());
            int ow = spec.outWidth(4);
            for (int o = 0; o < y.length; o++) {
                int oy = o / ow * spec.sh();
                int ox = o % ow * spec.sw();
                boolean hasNan = (oy <= 1 && oy + spec.kh() > 1 && ox <= 1 && ox + spec.kw() > 1)
                        || (oy <= 2 && oy + spec.kh() > 2 && ox <= 2 && ox + spec.kw() > 2);
                assertEquals(hasNan, Float.isNaN(y[o]), spec + " output " + o);
                if (hasNan) {
                    assertTrue(p.argmax()[o] == 5 || p.argmax()[o] == 10, "argmax points at a NaN");
                }
            }
        }
    }

    // ------------------------------------------------------------ mean pooling

    @Test
    void meanPoolMatchesTheReferenceAndItsGradientOnRandomGeometry() {
        SplittableRandom rng = new SplittableRandom(13);
        for (int t = 0; t < 60; t++) {
            Case k = Case.random(rng);
            float[] xv = randomArray(rng, k.shape().size());
            Tensor x = Tensor.of(xv, k.shape().dims());
            Tensor y = Pool2d.meanPool(x, k.spec);
            double[] expected = meanRef(toDouble(xv), k);
            assertClose("meanPool " + k, expected, y.toArray(), 1e-5, 1e-6);

            double[] g = toDouble(randomArray(rng, expected.length));
            double[] numeric = numericGradient(v -> dot(g, meanRef(v, k)), toDouble(xv), 1e-3);
            Tensor dx = Pool2d.meanPoolBackward(Tensor.of(toFloat(g), y.shape().dims()), k.spec, x.shape());
            assertClose("meanPoolBackward " + k, numeric, dx.toArray(), 1e-4, 1e-6);
        }
    }

    @Test
    void meanPoolCountsPaddingInTheDivisor() {
        Tensor x = Tensor.full(1f, 1, 1, 2, 2);
        Tensor y = Pool2d.meanPool(x, PoolSpec.of(2, 2, 1, 1).withPadding(1));
        // corners see 1 real element of 4, edges 2, the centre 4
        assertArrayEquals(new float[] {0.25f, 0.5f, 0.25f, 0.5f, 1f, 0.5f, 0.25f, 0.5f, 0.25f}, y.toArray());
    }

    @Test
    void largeTensorsAgreeWhenSplitOverThreads() {
        SplittableRandom rng = new SplittableRandom(14);
        for (PoolSpec spec : new PoolSpec[] {PoolSpec.of(2), PoolSpec.of(3, 3, 2, 2).withPadding(1, 0, 1, 1)}) {
            Case k = new Case(spec, 3, 8, 65, 67);
            float[] xv = randomArray(rng, k.shape().size());
            Tensor x = Tensor.of(xv, k.shape().dims());
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
            assertClose("maxPool large " + spec, maxRef(toDouble(xv), k), p.output().toArray(), 0, 0);
            assertClose("meanPool large " + spec, meanRef(toDouble(xv), k), Pool2d.meanPool(x, spec).toArray(),
                    1e-5, 1e-6);
            Tensor ones = Tensor.full(1f, p.output().shape().dims());
            float[] dx = Pool2d.maxPoolBackward(ones, p.argmax(), spec, x.shape()).toArray();
            assertEquals(p.argmax().length, sum(dx), 1e-3, "every output sends its gradient somewhere");
        }
    }

    // ------------------------------------------------------------ global pooling

    @Test
    void globalPoolsMatchTheReferenceAndTheirGradients() {
        SplittableRandom rng = new SplittableRandom(15);
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 5, 7}, {2, 2, 17, 19}, {1, 4, 4, 4}, {3, 1, 1, 37}};
        for (int[] s : shapes) {
            int planes = s[0] * s[1];
            int hw = s[2] * s[3];
            float[] xv = distinct(rng, planes * hw);
            Tensor x = Tensor.of(xv, s);

            Pool2d.MaxPooled p = Pool2d.globalMaxPoolWithIndices(x);
            assertEquals(Shape.of(s[0], s[1], 1, 1), p.output().shape());
            double[] maxExpected = globalRef(toDouble(xv), planes, hw, true);
            assertClose("globalMaxPool", maxExpected, p.output().toArray(), 0, 0);
            assertClose("globalMaxPool without indices", maxExpected, Pool2d.globalMaxPool(x).toArray(), 0, 0);

            Tensor y = Pool2d.globalMeanPool(x);
            double[] meanExpected = globalRef(toDouble(xv), planes, hw, false);
            assertClose("globalMeanPool", meanExpected, y.toArray(), 1e-5, 1e-6);

            double[] g = toDouble(randomArray(rng, planes));
            Tensor dy = Tensor.of(toFloat(g), s[0], s[1]);
            double[] numMax = numericGradient(v -> dot(g, globalRef(v, planes, hw, true)), toDouble(xv), 1e-3);
            assertClose("globalMaxPoolBackward", numMax,
                    Pool2d.globalMaxPoolBackward(dy, p.argmax(), x.shape()).toArray(), 1e-4, 1e-6);
            double[] numMean = numericGradient(v -> dot(g, globalRef(v, planes, hw, false)), toDouble(xv), 1e-3);
            assertClose("globalMeanPoolBackward", numMean,
                    Pool2d.globalMeanPoolBackward(dy.reshape(s[0], s[1], 1, 1), x.shape()).toArray(), 1e-4, 1e-6);
        }
    }

    @Test
    void globalPoolsOnALargeTensor() {
        SplittableRandom rng = new SplittableRandom(16);
        int[] s = {8, 32, 15, 15};
        float[] xv = randomArray(rng, 8 * 32 * 225);
        Tensor x = Tensor.of(xv, s);
        assertClose("globalMaxPool large", globalRef(toDouble(xv), 256, 225, true),
                Pool2d.globalMaxPool(x, Tensor.zeros(8, 32)).toArray(), 0, 0);
        assertClose("globalMeanPool large", globalRef(toDouble(xv), 256, 225, false),
                Pool2d.globalMeanPool(x).toArray(), 1e-5, 1e-6);
    }

    private static double[] globalRef(double[] x, int planes, int hw, boolean max) {
        double[] y = new double[planes];
        for (int p = 0; p < planes; p++) {
            double acc = max ? Double.NEGATIVE_INFINITY : 0;
            for (int i = 0; i < hw; i++) {
                acc = max ? Math.max(acc, x[p * hw + i]) : acc + x[p * hw + i];
            }
            y[p] = max ? acc : acc / hw;
        }
        return y;
    }

    @Test
    void kernelsWritingIntoAGivenTensorOverwriteIt() {
        SplittableRandom rng = new SplittableRandom(17);
        int[] s = {2, 3, 7, 6};
        Tensor x = Tensor.of(randomArray(rng, 2 * 3 * 42), s);
        for (PoolSpec spec : new PoolSpec[] {PoolSpec.of(2), PoolSpec.of(3, 2, 1, 2).withPadding(1, 1, 0, 1)}) {
            Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
            Tensor dy = Tensor.of(randomArray(rng, p.argmax().length), p.output().shape().dims());
            Tensor dirty = Tensor.full(Float.NaN, p.output().shape().dims());
            assertArrayEquals(p.output().toArray(), Pool2d.maxPool(x, spec, dirty.copy()).toArray());
            assertArrayEquals(Pool2d.meanPool(x, spec).toArray(), Pool2d.meanPool(x, spec, dirty.copy()).toArray());
            assertArrayEquals(Pool2d.maxPoolBackward(dy, p.argmax(), spec, x.shape()).toArray(),
                    Pool2d.maxPoolBackward(dy, p.argmax(), spec, Tensor.full(Float.NaN, s)).toArray());
            assertArrayEquals(Pool2d.meanPoolBackward(dy, spec, x.shape()).toArray(),
                    Pool2d.meanPoolBackward(dy, spec, Tensor.full(Float.NaN, s)).toArray());
        }
        Pool2d.MaxPooled g = Pool2d.globalMaxPoolWithIndices(x);
        Tensor gy = Tensor.of(randomArray(rng, 6), 2, 3, 1, 1);
        assertArrayEquals(Pool2d.globalMaxPoolBackward(gy, g.argmax(), x.shape()).toArray(),
                Pool2d.globalMaxPoolBackward(gy, g.argmax(), Tensor.full(Float.NaN, s)).toArray());
        assertArrayEquals(Pool2d.globalMeanPoolBackward(gy, x.shape()).toArray(),
                Pool2d.globalMeanPoolBackward(gy, Tensor.full(Float.NaN, s)).toArray());
    }

    // ------------------------------------------------------------ errors

    @Test
    void badInputIsRefusedNamingOpAndShapes() {
        Tensor x = Tensor.zeros(2, 3, 6, 6);
        PoolSpec spec = PoolSpec.of(2);
        expect("maxPool", "[2, 3, 6]", () -> Pool2d.maxPool(Tensor.zeros(2, 3, 6), spec));
        expect("meanPool", "[2, 3, 6, 6]", () -> Pool2d.meanPool(x, spec, Tensor.zeros(2, 3, 2, 3)));
        expect("maxPool", "[1, 1, 2, 5]", () -> Pool2d.maxPool(Tensor.zeros(1, 1, 2, 5), PoolSpec.of(3)));
        expect("maxPool", "argmax has 5", () -> Pool2d.maxPool(x, spec, Tensor.zeros(2, 3, 3, 3), new int[5]));
        expect("maxPool", "share storage", () -> Pool2d.maxPool(x, spec, x.reshape(-1).slice(0, 54)
                .reshape(2, 3, 3, 3)));
        int[] bad = new int[54];
        bad[7] = 36;
        expect("maxPoolBackward", "argmax[7] = 36",
                () -> Pool2d.maxPoolBackward(Tensor.zeros(2, 3, 3, 3), bad, spec, x.shape()));
        expect("meanPoolBackward", "dy [2, 3, 3, 4]",
                () -> Pool2d.meanPoolBackward(Tensor.zeros(2, 3, 3, 4), spec, x.shape()));
        expect("globalMeanPool", "[2, 3]", () -> Pool2d.globalMeanPool(x, Tensor.zeros(3, 2)));
        expect("globalMaxPoolBackward", "argmax has 2",
                () -> Pool2d.globalMaxPoolBackward(Tensor.zeros(2, 3), new int[2], x.shape()));
    }

    private static void expect(String op, String detail, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(op + ":") && e.getMessage().contains(detail), e.getMessage());
    }

    private static double sum(float[] v) {
        double s = 0;
        for (float f : v) {
            s += f;
        }
        return s;
    }
}
