package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.dot;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

class ActivationTest {
    private static final double LAMBDA = 1.0507009873554804934193349852946;
    private static final double ALPHA = 1.6732632423543772848170429916717;

    private static List<Activation> all() {
        List<Activation> a = new ArrayList<>(Activation.values());
        a.add(Activation.leakyRelu(0.2f));
        a.add(Activation.leakyRelu(0f));
        return a;
    }

    /** Plain double-precision definitions, written independently of the kernels' stable forms. */
    private static DoubleUnaryOperator reference(Activation f) {
        if (f instanceof Activation.LeakyRelu(float slope)) {
            return x -> x > 0 ? x : slope * x;
        }
        return switch ((Activation.Fixed) f) {
            case IDENTITY -> x -> x;
            case RELU -> x -> Math.max(x, 0);
            case ELU -> x -> x > 0 ? x : Math.exp(x) - 1;
            case SELU -> x -> LAMBDA * (x > 0 ? x : ALPHA * (Math.exp(x) - 1));
            case TANH -> x -> (Math.exp(x) - Math.exp(-x)) / (Math.exp(x) + Math.exp(-x));
            case SIGMOID -> x -> 1 / (1 + Math.exp(-x));
            case SOFTPLUS -> x -> Math.log(1 + Math.exp(x));
            case SWISH -> x -> x / (1 + Math.exp(-x));
        };
    }

    @Test
    void forwardMatchesDoubleReference() {
        SplittableRandom rng = new SplittableRandom(1);
        for (Activation f : all()) {
            DoubleUnaryOperator ref = reference(f);
            for (int n : new int[] {1, 15, 16, 17, 33, 1000, 70001}) {
                float[] x = new float[n];
                double[] expected = new double[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (float) (rng.nextDouble() * 12 - 6);
                    expected[i] = ref.applyAsDouble(x[i]);
                }
                Tensor y = f.forward(Tensor.of(x, n));
                assertClose(f + " n=" + n, expected, y.toArray(), 1e-6, 1e-7);
                Tensor inPlace = Tensor.of(x, n);
                assertSame(inPlace, f.forward(inPlace, inPlace));
                assertClose(f + " in place n=" + n, expected, inPlace.toArray(), 1e-6, 1e-7);
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(2);
        for (Activation f : all()) {
            DoubleUnaryOperator ref = reference(f);
            for (int n : new int[] {1, 17, 33}) {
                double[] x = new double[n];
                double[] g = new double[n];
                for (int i = 0; i < n; i++) {
                    double v = rng.nextDouble() * 8 - 4;
                    x[i] = (float) (Math.abs(v) < 1e-2 ? v + 0.1 : v); // keep away from the kink at 0
                    g[i] = (float) (rng.nextDouble() * 2 - 1);
                }
                double[] num = numericGradient(v -> {
                    double s = 0;
                    for (int i = 0; i < n; i++) {
                        s += g[i] * ref.applyAsDouble(v[i]);
                    }
                    return s;
                }, x.clone(), 1e-6);
                Tensor tx = tensor(x);
                Tensor ty = f.forward(tx);
                Tensor dx = f.backward(tx, ty, tensor(g));
                assertClose(f + " backward n=" + n, num, dx.toArray(), 1e-4, 1e-5);
                // with only the argument it needs, and in place over dy
                Tensor dy = tensor(g);
                f.backward(f.backwardNeedsInput() ? tx : null, f.backwardNeedsInput() ? null : ty, dy, dy);
                assertClose(f + " backward in place n=" + n, num, dy.toArray(), 1e-4, 1e-5);
            }
        }
    }

    @Test
    void backwardCoversVectorBodyAndTail() {
        // the vector paths of relu / leaky relu against the scalar definition, on sizes around the lane count
        SplittableRandom rng = new SplittableRandom(3);
        for (Activation f : List.of(Activation.RELU, Activation.LEAKY_RELU, Activation.IDENTITY)) {
            for (int n : new int[] {1, 15, 17, 33, 1000, 70001}) {
                float[] x = new float[n];
                float[] g = new float[n];
                double[] expected = new double[n];
                float slope = f instanceof Activation.LeakyRelu l ? l.slope() : f == Activation.RELU ? 0 : 1;
                for (int i = 0; i < n; i++) {
                    x[i] = (float) (rng.nextDouble() * 2 - 1);
                    g[i] = (float) (rng.nextDouble() * 2 - 1);
                    expected[i] = x[i] > 0 ? g[i] : (double) slope * g[i];
                }
                Tensor tx = Tensor.of(x, n);
                Tensor dx = f.backward(tx, f.forward(tx), Tensor.of(g, n));
                assertClose(f + " backward n=" + n, expected, dx.toArray(), 1e-6, 0);
            }
        }
    }

    @Test
    void stableAtLargeMagnitudesAndZero() {
        float[] x = {0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 50f, -50f, 100f, -100f, 1e4f, -1e4f, 1e30f, -1e30f,
            Float.MAX_VALUE, -Float.MAX_VALUE};
        float big = 1e4f;
        for (Activation f : all()) {
            Tensor tx = Tensor.of(x, x.length);
            Tensor y = f.forward(tx);
            Tensor dx = f.backward(tx, y, Tensor.full(1f, x.length));
            for (int i = 0; i < x.length; i++) {
                assertTrue(!Float.isNaN(y.toArray()[i]), f + "(" + x[i] + ") is NaN");
                assertTrue(Float.isFinite(dx.toArray()[i]), f + "'(" + x[i] + ") = " + dx.toArray()[i]);
            }
        }
        assertEquals(1f, value(Activation.SIGMOID, big));
        assertEquals(0f, value(Activation.SIGMOID, -big), 0f);
        assertEquals(1.9287498e-22, value(Activation.SIGMOID, -50f), 1e-28);
        assertEquals(0.5f, value(Activation.SIGMOID, 0f));
        assertEquals(big, value(Activation.SOFTPLUS, big));
        assertEquals(100f, value(Activation.SOFTPLUS, 100f));
        assertEquals(0f, value(Activation.SOFTPLUS, -big), 0f);
        assertEquals(1.9287498e-22, value(Activation.SOFTPLUS, -50f), 1e-28); // naive log(1 + e^x) gives 0
        assertEquals((float) Math.log(2), value(Activation.SOFTPLUS, 0f));
        assertEquals(1e30f, value(Activation.SOFTPLUS, 1e30f));
        assertEquals(1f, value(Activation.TANH, big));
        assertEquals(-1f, value(Activation.TANH, -big));
        assertEquals(big, value(Activation.SWISH, big));
        assertEquals(0f, value(Activation.SWISH, -big), 0f);
        assertEquals(-1f, value(Activation.ELU, -big));
        assertEquals((float) (-LAMBDA * ALPHA), value(Activation.SELU, -big));
        assertEquals((float) (LAMBDA * big), value(Activation.SELU, big));
        assertEquals(-100f, value(Activation.LEAKY_RELU, -big));
        // derivatives at the extremes and at 0
        assertEquals(0f, slope(Activation.SIGMOID, big), 0f);
        assertEquals(0f, slope(Activation.SIGMOID, -big), 0f);
        assertEquals(0.25f, slope(Activation.SIGMOID, 0f));
        assertEquals(1f, slope(Activation.SOFTPLUS, big));
        assertEquals(0f, slope(Activation.SOFTPLUS, -big), 0f);
        assertEquals(0f, slope(Activation.TANH, big), 0f);
        assertEquals(1f, slope(Activation.TANH, 0f));
        assertEquals(1f, slope(Activation.SWISH, big));
        assertEquals(0f, slope(Activation.SWISH, -big), 0f);
        assertEquals(0.5f, slope(Activation.SWISH, 0f));
        assertEquals(0f, slope(Activation.RELU, 0f), 0f);
        assertEquals(0.01f, slope(Activation.LEAKY_RELU, 0f));
        assertEquals(1f, slope(Activation.ELU, 0f));
        assertEquals(0f, slope(Activation.ELU, -big), 0f);
    }

    @Test
    void nanPropagatesThroughForward() {
        for (Activation f : all()) {
            float y = value(f, Float.NaN);
            assertTrue(Float.isNaN(y), f + "(NaN) = " + y);
        }
        // also inside the vector body, without spilling onto neighbours
        float[] x = new float[40];
        x[3] = Float.NaN;
        for (Activation f : all()) {
            float[] y = f.forward(Tensor.of(x, 40)).toArray();
            assertTrue(Float.isNaN(y[3]), f + " vector body");
            assertTrue(!Float.isNaN(y[2]) && !Float.isNaN(y[4]), f + " neighbours");
        }
    }

    @Test
    void checksShapesAliasingAndArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Activation.RELU.forward(Tensor.zeros(2), Tensor.zeros(3)));
        assertEquals("relu: out [3] must have the shape of x [2]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Activation.TANH.backward(null, Tensor.zeros(2, 3), Tensor.zeros(3, 2)));
        assertTrue(e.getMessage().startsWith("tanhBackward: y [2, 3] and dx [3, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Activation.SOFTPLUS.backward(null, Tensor.zeros(2), Tensor.zeros(2)));
        assertEquals("softplusBackward: x is needed but null", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Activation.LEAKY_RELU.forward(Tensor.zeros(2), Tensor.zeros(2, 1)));
        assertEquals("leakyRelu: out [2, 1] must have the shape of x [2]", e.getMessage());
        Tensor buf = Tensor.zeros(10);
        assertThrows(IllegalArgumentException.class,
                () -> Activation.RELU.forward(buf.slice(0, 5), buf.slice(2, 7)));
        assertThrows(IllegalArgumentException.class, () -> Activation.leakyRelu(-0.1f));
        assertThrows(IllegalArgumentException.class, () -> Activation.leakyRelu(Float.NaN));
        assertEquals(0.01f, Activation.LEAKY_RELU.slope());
        assertEquals(Activation.LEAKY_RELU, Activation.leakyRelu(0.01f));
        assertEquals("LEAKY_RELU", Activation.leakyRelu(0.3f).name());
        assertEquals(9, Activation.values().size());
    }

    private static float value(Activation f, float x) {
        return f.forward(Tensor.of(new float[] {x}, 1)).item();
    }

    private static float slope(Activation f, float x) {
        Tensor tx = Tensor.of(new float[] {x}, 1);
        return f.backward(tx, f.forward(tx), Tensor.full(1f, 1)).item();
    }

    private static Tensor tensor(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensor.of(f, v.length);
    }

    /**
     * The transcendental activations are their scalar double-precision definitions rounded to float, bit for bit:
     * the Vector API's SVML functions give other last bits once the JIT compiles them, which would make runs with
     * the same seed differ.
     */
    @Test
    void transcendentalForwardsAreTheirScalarDefinitionsBitForBit() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(4);
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 20 - 10);
        }
        io.evonas.tensor.Tensor t = io.evonas.tensor.Tensor.of(x, x.length);
        float[] tanh = Activation.TANH.forward(t).toArray();
        float[] softplus = Activation.SOFTPLUS.forward(t).toArray();
        float[] elu = Activation.ELU.forward(t).toArray();
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            assertEquals((float) Math.tanh(v), tanh[i], 0f, "tanh(" + v + ")");
            assertEquals((float) (Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))), softplus[i], 0f,
                    "softplus(" + v + ")");
            assertEquals(v > 0 ? x[i] : (float) Math.expm1(x[i]), elu[i], 0f, "elu(" + v + ")");
        }
    }
}
