package io.evonas.tensor.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.ToDoubleFunction;
import java.util.random.RandomGenerator;

/**
 * Oracles for kernel tests: random data, central finite differences in double precision, and comparisons that
 * report the worst element.
 */
public final class Oracles {
    private Oracles() {
    }

    /** Uniform values in [-1, 1). */
    public static float[] randomArray(RandomGenerator rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextFloat() * 2 - 1;
        }
        return x;
    }

    public static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }

    /**
     * The gradient of the scalar function {@code f} at {@code x} by central differences with step {@code eps}:
     * {@code (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)}. {@code x} is restored after each probe.
     */
    public static double[] numericGradient(ToDoubleFunction<double[]> f, double[] x, double eps) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double saved = x[i];
            x[i] = saved + eps;
            double plus = f.applyAsDouble(x);
            x[i] = saved - eps;
            double minus = f.applyAsDouble(x);
            x[i] = saved;
            g[i] = (plus - minus) / (2 * eps);
        }
        return g;
    }

    /** {@code sum_i a[i] * b[i]} in double: contracting an output with a random upstream gradient. */
    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /**
     * Fails unless {@code |actual[i] - expected[i]| <= atol + rtol * |expected[i]|} for every i, naming the worst
     * element.
     */
    public static void assertClose(String what, double[] expected, float[] actual, double rtol, double atol) {
        if (expected.length != actual.length) {
            fail(what + ": expected " + expected.length + " values, got " + actual.length);
        }
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            double excess = err - (atol + rtol * Math.abs(expected[i]));
            if (Double.isNaN(actual[i]) != Double.isNaN(expected[i]) || excess > worstExcess) {
                worst = i;
                worstExcess = Double.isNaN(excess) ? Double.POSITIVE_INFINITY : excess;
            }
        }
        if (worst >= 0) {
            fail(what + ": element " + worst + " is " + actual[worst] + ", expected " + expected[worst]
                    + " (rtol " + rtol + ", atol " + atol + ")");
        }
    }

    /** As {@link #assertClose(String, double[], float[], double, double)} with a float expectation. */
    public static void assertClose(String what, float[] expected, float[] actual, double rtol, double atol) {
        assertClose(what, toDouble(expected), actual, rtol, atol);
    }
}
