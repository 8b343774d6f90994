package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Inverted dropout: each element is dropped with probability {@code p} and the survivors are scaled by
 * {@code 1 / (1 - p)}, so the expectation is unchanged and inference needs no rescaling:
 * <pre>
 *   mask[i] = u[i] &gt;= ceil(p · 2³²) ? 1 / (1 - p) : 0,   u[i] uniform on the integers [0, 2³²)
 *   y[i]    = x[i] · mask[i]
 *   dx[i]   = dy[i] · mask[i]
 * </pre>
 * so an element is kept with probability {@code 1 - p} (to within 2⁻³²). The mask is recorded as the kept scale
 * per element ({@code 0} or {@code 1 / (1 - p)}), a tensor of {@code x}'s shape, and the backward pass multiplies
 * by it. The draws use {@code rng} alone, in row-major order: one {@code nextLong()} per two elements, its low
 * 32 bits for the first, its high 32 bits for the second (and the low bits of one more for an odd last
 * element), so the same seed gives the same mask whatever the thread count. {@code p == 0} is the identity and
 * draws nothing. {@code p} must lie in {@code [0, 1)}.
 *
 * <p>{@code out} (and {@code dx}) may be the input itself for an in-place update but must not overlap it
 * otherwise; the forward pass's {@code mask} must not overlap {@code x} or {@code out}.
 *
 * <pre>{@code
 * Dropout.Dropped d = Dropout.forward(x, 0.5, new SplittableRandom(42));   // same seed, same mask
 * Tensor dx = Dropout.backward(dy, d.mask());
 * }</pre>
 */
public final class Dropout {
    /** The output and the mask (kept scale per element, {@code x}'s shape) the backward pass needs. */
    public record Dropped(Tensor output, Tensor mask) {
        public Dropped {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(mask, "mask");
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int PARALLEL_WORK = 1 << 16;

    private Dropout() {
    }

    /** Dropout of {@code x} with probability {@code p} into new tensors. */
    public static Dropped forward(Tensor x, double p, RandomGenerator rng) {
        Objects.requireNonNull(x, "x");
        Dropped d = new Dropped(x.zerosLike(), x.zerosLike());
        forward(x, p, rng, d.output(), d.mask());
        return d;
    }

    /**
     * Dropout of {@code x} with probability {@code p}: writes the kept scale per element into {@code mask} and
     * {@code x · mask} into {@code out}; returns {@code out}.
     *
     * @throws IllegalArgumentException if {@code p} is outside {@code [0, 1)} or the shapes differ
     */
    public static Tensor forward(Tensor x, double p, RandomGenerator rng, Tensor out, Tensor mask) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(rng, "rng");
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: probability " + p + " must be in [0, 1) for input "
                    + x.shape());
        }
        checkLike("dropout", "out", out, x);
        checkLike("dropout", "mask", mask, x);
        if (shares(mask, x) || shares(mask, out)) {
            throw new IllegalArgumentException("dropout: mask " + mask.shape() + " shares storage with the input or"
                    + " the output");
        }
        float[] xd = x.data();
        float[] yd = out.data();
        float[] md = mask.data();
        int xo = x.offset();
        int yo = out.offset();
        int mo = mask.offset();
        int n = x.size();
        if (p == 0) {
            Arrays.fill(md, mo, mo + n, 1f);
            System.arraycopy(xd, xo, yd, yo, n);
            return out;
        }
        int scaleBits = Float.floatToRawIntBits((float) (1 / (1 - p)));
        // kept iff u >= threshold, i.e. iff last = threshold - 1 - u < 0: the sign of `last`, spread over 32 bits,
        // masks the scale's bits (no branch to mispredict)
        long last = (long) Math.ceil(p * 0x1p32) - 1;
        int i = 0;
        for (; i + 1 < n; i += 2) {
            long bits = rng.nextLong();
            float k0 = Float.intBitsToFloat(scaleBits & (int) ((last - (bits & 0xFFFF_FFFFL)) >> 63));
            float k1 = Float.intBitsToFloat(scaleBits & (int) ((last - (bits >>> 32)) >> 63));
            md[mo + i] = k0;
            md[mo + i + 1] = k1;
        }
        if (i < n) {
            md[mo + i] = Float.intBitsToFloat(scaleBits & (int) ((last - (rng.nextLong() & 0xFFFF_FFFFL)) >> 63));
        }
        multiply(xd, xo, md, mo, yd, yo, 0, n);
        return out;
    }

    /** Gradient {@code dy · mask} into a new tensor. */
    public static Tensor backward(Tensor dy, Tensor mask) {
        Objects.requireNonNull(dy, "dy");
        return backward(dy, mask, dy.zerosLike());
    }

    /** Gradient {@code dx = dy · mask}, overwriting {@code dx}; returns {@code dx}. */
    public static Tensor backward(Tensor dy, Tensor mask, Tensor dx) {
        Objects.requireNonNull(dy, "dy");
        checkLike("dropoutBackward", "mask", mask, dy);
        checkLike("dropoutBackward", "dx", dx, dy);
        checkLike("dropoutBackward", "dx", dx, mask);
        float[] gy = dy.data();
        float[] md = mask.data();
        float[] gx = dx.data();
        int yo = dy.offset();
        int mo = mask.offset();
        int xo = dx.offset();
        Parallel.forRange(dy.size(), PARALLEL_WORK, (from, to) -> multiply(gy, yo, md, mo, gx, xo, from, to));
        return dx;
    }

    /** {@code c[i] = a[i] · b[i]} for {@code i} in {@code [from, to)} (relative to each offset). */
    private static void multiply(float[] a, int ao, float[] b, int bo, float[] c, int co, int from, int to) {
        int i = from;
        int vecEnd = from + (to - from) / F.length() * F.length();
        for (; i < vecEnd; i += F.length()) {
            FloatVector.fromArray(F, a, ao + i).mul(FloatVector.fromArray(F, b, bo + i)).intoArray(c, co + i);
        }
        for (; i < to; i++) {
            c[co + i] = a[ao + i] * b[bo + i];
        }
    }

    private static boolean shares(Tensor a, Tensor b) {
        return a.data() == b.data() && a.offset() < b.offset() + b.size() && b.offset() < a.offset() + a.size();
    }

    /** {@code t} must have {@code ref}'s shape and be {@code ref} exactly or not overlap it. */
    private static void checkLike(String op, String name, Tensor t, Tensor ref) {
        Objects.requireNonNull(t, name);
        if (!t.shape().equals(ref.shape())) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must match input "
                    + ref.shape());
        }
        if (t.offset() != ref.offset() && shares(t, ref)) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " partly overlaps "
                    + ref.shape());
        }
    }
}
