package io.evonas.nas.graph;

import java.util.random.RandomGenerator;

/**
 * The parameter-free vertices that join several inputs: concatenation along the feature or channel axis, and
 * elementwise sum and product of equally sized inputs.
 */
public enum Merge implements Computation {
    /** Inputs one after the other along the feature/channel axis. */
    CONCAT(SizeKind.STACK),
    /** Elementwise sum. */
    ADD(SizeKind.INVARIANT),
    /** Elementwise product. */
    MUL(SizeKind.INVARIANT);

    private final SizeKind kind;

    Merge(SizeKind kind) {
        this.kind = kind;
    }

    @Override
    public SizeKind kind() {
        return kind;
    }

    @Override
    public int nout() {
        return -1;
    }

    @Override
    public int nin() {
        return -1;
    }

    @Override
    public void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng) {
        // Nothing of its own: its neurons are its inputs'.
    }

    @Override
    public Merge copy() {
        return this;
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
