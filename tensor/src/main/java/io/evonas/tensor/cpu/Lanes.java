package io.evonas.tensor.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Deterministic horizontal sums. {@code reduceLanes(ADD)} on floats may add the lanes in a different order
 * before and after the JIT compiles it (a sequential loop in the interpreter, a tree in compiled code), so the
 * same computation could give different bits within one run; training must reproduce exactly from its seed.
 * This sum always adds in the same order: the upper half onto the lower half, repeatedly.
 */
public final class Lanes {
    private Lanes() {
    }

    /** The sum of the lanes of {@code v}, in a fixed order whatever the compilation state. */
    public static float sum(FloatVector v) {
        float[] lanes = v.toArray();
        for (int width = lanes.length / 2; width >= 1; width /= 2) {
            for (int i = 0; i < width; i++) {
                lanes[i] += lanes[i + width];
            }
        }
        return lanes[0];
    }
}
