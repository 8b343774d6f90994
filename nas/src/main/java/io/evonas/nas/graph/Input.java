package io.evonas.nas.graph;

import java.util.Objects;
import java.util.random.RandomGenerator;

/** The computation of an input vertex: a fixed size and a shape hint; nothing to resize. */
public record Input(int size, InputShape shape) implements Computation {
    public Input {
        Objects.requireNonNull(shape, "shape");
        if (size < 1) {
            throw new IllegalArgumentException("input: size " + size + " must be at least 1");
        }
    }

    @Override
    public SizeKind kind() {
        return SizeKind.IMMUTABLE;
    }

    @Override
    public int nout() {
        return size;
    }

    @Override
    public int nin() {
        return -1;
    }

    @Override
    public void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng) {
        throw new UnsupportedOperationException("input: size " + size + " is fixed");
    }

    @Override
    public Input copy() {
        return this;
    }

    @Override
    public String toString() {
        return "input(" + size + ", " + shape.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }
}
