package io.evonas.layers;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Creates a weight tensor of a given shape: {@code [out, in]} for dense layers, {@code [out, in, k...]} for
 * convolutions, {@code [n]} for vectors. Fans: {@code fanIn = in · Πk}, {@code fanOut = out · Πk}.
 *
 * <pre>
 * glorotUniform  U(-a, a),  a = √(6 / (fanIn + fanOut))      glorotNormal  N(0, 2 / (fanIn + fanOut))
 * heUniform      U(-a, a),  a = √(6 / fanIn)                 heNormal      N(0, 2 / fanIn)
 * identity       W[i, i] = 1 (conv: the centre tap), else 0
 * partialIdentity(offset)  W[i, i + offset] = 1: one path of a fork whose concatenation is the identity
 * </pre>
 */
@FunctionalInterface
public interface Initialiser {
    Tensor create(Shape shape, RandomGenerator rng);

    /** {@code fanIn} of a weight shape. */
    static int fanIn(Shape s) {
        return s.rank() == 1 ? s.dim(0) : s.dim(1) * s.sizeOf(2, s.rank());
    }

    /** {@code fanOut} of a weight shape. */
    static int fanOut(Shape s) {
        return s.rank() == 1 ? s.dim(0) : s.dim(0) * s.sizeOf(2, s.rank());
    }

    static Initialiser glorotUniform() {
        return (s, rng) -> uniform(s, rng, Math.sqrt(6.0 / (fanIn(s) + fanOut(s))));
    }

    static Initialiser glorotNormal() {
        return (s, rng) -> normal(s, rng, Math.sqrt(2.0 / (fanIn(s) + fanOut(s))));
    }

    static Initialiser heUniform() {
        return (s, rng) -> uniform(s, rng, Math.sqrt(6.0 / fanIn(s)));
    }

    static Initialiser heNormal() {
        return (s, rng) -> normal(s, rng, Math.sqrt(2.0 / fanIn(s)));
    }

    static Initialiser zeros() {
        return (s, rng) -> Tensor.zeros(s);
    }

    /** The identity: dense {@code W[i, i] = 1}; convolution the centre tap {@code W[i, i, kh/2, kw/2] = 1}. */
    static Initialiser identity() {
        return partialIdentity(0);
    }

    /**
     * Output {@code i} copies input {@code i + offset}: for the paths of a fork joined by concatenation, path
     * {@code p} takes offset = the sizes of the paths before it, so the concatenation is the identity.
     */
    static Initialiser partialIdentity(int offset) {
        if (offset < 0) {
            throw new IllegalArgumentException("partialIdentity: offset " + offset + " must be >= 0");
        }
        return (s, rng) -> {
            if (s.rank() < 2) {
                throw new IllegalArgumentException("identity: weight " + s + " needs rank >= 2 [out, in, k...]");
            }
            Tensor w = Tensor.zeros(s);
            int out = s.dim(0);
            int in = s.dim(1);
            int taps = s.sizeOf(2, s.rank());
            int centre = 0;
            for (int d = 2; d < s.rank(); d++) {
                centre = centre * s.dim(d) + (s.dim(d) - 1) / 2;
            }
            float[] data = w.data();
            for (int o = 0; o < out && o + offset < in; o++) {
                data[(o * in + o + offset) * taps + centre] = 1f;
            }
            return w;
        };
    }

    private static Tensor uniform(Shape s, RandomGenerator rng, double limit) {
        Objects.requireNonNull(rng, "rng");
        Tensor t = Tensor.zeros(s);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) ((rng.nextDouble() * 2 - 1) * limit);
        }
        return t;
    }

    private static Tensor normal(Shape s, RandomGenerator rng, double std) {
        Objects.requireNonNull(rng, "rng");
        Tensor t = Tensor.zeros(s);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (rng.nextGaussian() * std);
        }
        return t;
    }
}
