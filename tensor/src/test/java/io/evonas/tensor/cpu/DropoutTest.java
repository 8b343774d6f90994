package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.dot;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static io.evonas.tensor.testing.Oracles.randomArray;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class DropoutTest {

    @Test
    void sameSeedGivesTheSameMaskAndAnotherSeedAnother() {
        Tensor x = Tensor.of(randomArray(new SplittableRandom(1), 3 * 5 * 7), 3, 5, 7);
        Dropout.Dropped a = Dropout.forward(x, 0.4, new SplittableRandom(42));
        Dropout.Dropped b = Dropout.forward(x, 0.4, new SplittableRandom(42));
        Dropout.Dropped c = Dropout.forward(x, 0.4, new SplittableRandom(43));
        assertArrayEquals(a.mask().toArray(), b.mask().toArray());
        assertArrayEquals(a.output().toArray(), b.output().toArray());
        assertFalse(java.util.Arrays.equals(a.mask().toArray(), c.mask().toArray()));
    }

    @Test
    void outputIsInputTimesTheKeptScale() {
        float[] xv = randomArray(new SplittableRandom(2), 101);
        Dropout.Dropped d = Dropout.forward(Tensor.of(xv, 101), 0.25, new SplittableRandom(3));
        float[] mask = d.mask().toArray();
        float[] y = d.output().toArray();
        for (int i = 0; i < xv.length; i++) {
            assertTrue(mask[i] == 0f || mask[i] == 1f / 0.75f, "mask " + mask[i]);
            assertEquals(xv[i] * mask[i], y[i], 0f);
        }
    }

    @Test
    void keptFractionAndExpectationHoldWithinTolerance() {
        int n = 200_000;
        SplittableRandom data = new SplittableRandom(4);
        float[] xv = new float[n];
        double xSum = 0;
        double xSq = 0;
        for (int i = 0; i < n; i++) {
            xv[i] = 0.5f + data.nextFloat();
            xSum += xv[i];
            xSq += (double) xv[i] * xv[i];
        }
        Tensor x = Tensor.of(xv, 400, 500);
        for (double p : new double[] {0.1, 0.5, 0.8}) {
            Dropout.Dropped d = Dropout.forward(x, p, new SplittableRandom(5));
            float[] mask = d.mask().toArray();
            float[] y = d.output().toArray();
            int kept = 0;
            double ySum = 0;
            for (int i = 0; i < n; i++) {
                kept += mask[i] != 0 ? 1 : 0;
                ySum += y[i];
            }
            // five standard deviations of a binomial fraction and of the mean of y
            double keptBand = 5 * Math.sqrt(p * (1 - p) / n);
            assertEquals(1 - p, (double) kept / n, keptBand, "kept fraction at p = " + p);
            double meanBand = 5 * Math.sqrt(xSq / n * p / (1 - p) / n);
            assertEquals(xSum / n, ySum / n, meanBand, "expectation at p = " + p);
        }
    }

    @Test
    void zeroProbabilityIsTheIdentityAndDrawsNothing() {
        float[] xv = randomArray(new SplittableRandom(6), 37);
        SplittableRandom rng = new SplittableRandom(7);
        Dropout.Dropped d = Dropout.forward(Tensor.of(xv, 37), 0, rng);
        assertArrayEquals(xv, d.output().toArray());
        float[] ones = new float[37];
        java.util.Arrays.fill(ones, 1f);
        assertArrayEquals(ones, d.mask().toArray());
        assertEquals(new SplittableRandom(7).nextLong(), rng.nextLong(), "rng untouched");
    }

    @Test
    void backwardAppliesTheMaskAndMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(8);
        int[] shape = {3, 4, 17};
        float[] xv = randomArray(rng, 3 * 4 * 17);
        double[] g = toDouble(randomArray(rng, xv.length));
        float[] gf = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            gf[i] = (float) g[i];
        }
        double p = 0.3;
        Dropout.Dropped d = Dropout.forward(Tensor.of(xv, shape), p, new SplittableRandom(9));
        Tensor dx = Dropout.backward(Tensor.of(gf, shape), d.mask());
        float[] mask = d.mask().toArray();
        float[] dxv = dx.toArray();
        for (int i = 0; i < gf.length; i++) {
            assertEquals(gf[i] * mask[i], dxv[i], 0f);
        }
        // the function x -> <g, dropout(x)> with the generator reseeded each time, so the mask stays fixed
        double[] numeric = numericGradient(v -> {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            return dot(g, toDouble(Dropout.forward(Tensor.of(f, shape), p, new SplittableRandom(9)).output()
                    .toArray()));
        }, toDouble(xv), 0.25);
        assertClose("dropoutBackward", numeric, dx.toArray(), 1e-4, 1e-5);
    }

    @Test
    void largeBackwardAndInPlaceUpdates() {
        SplittableRandom rng = new SplittableRandom(10);
        float[] gv = randomArray(rng, 300_001);
        Dropout.Dropped d = Dropout.forward(Tensor.of(gv, 300_001), 0.5, new SplittableRandom(11));
        Tensor dy = Tensor.of(gv, 300_001);
        Dropout.backward(dy, d.mask(), dy);
        assertArrayEquals(d.output().toArray(), dy.toArray(), "backward of the same values equals forward");
        Tensor x = Tensor.of(gv, 300_001);
        Dropout.forward(x, 0.5, new SplittableRandom(11), x, Tensor.zeros(300_001));
        assertArrayEquals(d.output().toArray(), x.toArray(), "in-place forward");
    }

    @Test
    void badInputIsRefusedNamingOpAndShapes() {
        Tensor x = Tensor.zeros(2, 3);
        SplittableRandom rng = new SplittableRandom(12);
        expect("dropout", "probability 1.0", () -> Dropout.forward(x, 1.0, rng));
        expect("dropout", "[2, 3]", () -> Dropout.forward(x, -0.1, rng));
        expect("dropout", "NaN", () -> Dropout.forward(x, Double.NaN, rng));
        expect("dropout", "out [3, 2]", () -> Dropout.forward(x, 0.5, rng, Tensor.zeros(3, 2), Tensor.zeros(2, 3)));
        expect("dropout", "mask [2, 3]", () -> Dropout.forward(x, 0.5, rng, Tensor.zeros(2, 3), x));
        expect("dropoutBackward", "mask [6]", () -> Dropout.backward(x, Tensor.zeros(6)));
    }

    private static void expect(String op, String detail, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(op + ":") && e.getMessage().contains(detail), e.getMessage());
    }
}
