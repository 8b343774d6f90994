package io.evonas.layers;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * How the elements of newly inserted neurons are filled when a parameter grows: zeros (new input slices, so the
 * network computes the same function), ones (BatchNorm scale and variance), or small random values (new output
 * neurons).
 */
@FunctionalInterface
public interface Fill {
    /** The next element. */
    float next(RandomGenerator rng);

    Fill ZEROS = rng -> 0f;
    Fill ONES = rng -> 1f;

    /** A constant. */
    static Fill constant(float value) {
        return rng -> value;
    }

    /** Normal samples with mean 0 and standard deviation {@code std}. */
    static Fill normal(float std) {
        if (!(std >= 0) || !Float.isFinite(std)) {
            throw new IllegalArgumentException("fill: standard deviation " + std + " must be finite and >= 0");
        }
        return rng -> (float) (Objects.requireNonNull(rng, "rng").nextGaussian() * std);
    }
}
