package io.evonas.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Deterministic horizontal sums. {@code reduceLanes(ADD)} on floats may add the lanes in a different order
 * before and after the JIT compiles it (a sequential loop in the interpreter, a tree in compiled code), so the
 * same computation could give different bits within one run; training must reproduce exactly from its seed.
 * This sum always adds in the same order: the upper half onto the lower half, repeatedly — in registers, by
 * shuffles that bring lane {@code i + width} down to lane {@code i}.
 */
public final class Lanes {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** {@code HALVES[k]} moves lane {@code i + (VL >> (k + 1))} to lane {@code i}. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] HALVES = new VectorShuffle[Integer.numberOfTrailingZeros(F.length())];

    static {
        for (int k = 0, width = F.length() / 2; width >= 1; k++, width /= 2) {
            int w = width;
            HALVES[k] = VectorShuffle.fromOp(F, i -> (i + w) % F.length());
        }
    }

    private Lanes() {
    }

    /** The sum of the lanes of {@code v}, in a fixed order whatever the compilation state. */
    public static float sum(FloatVector v) {
        if (v.species() != F) {
            return sumInOrder(v.toArray());
        }
        FloatVector s = v;
        for (VectorShuffle<Float> half : HALVES) {
            s = s.add(s.rearrange(half));
        }
        return s.lane(0);
    }

    /** The same order on an array of lanes: {@code lanes[i] += lanes[i + width]} for halving widths. */
    static float sumInOrder(float[] lanes) {
        for (int width = lanes.length / 2; width >= 1; width /= 2) {
            for (int i = 0; i < width; i++) {
                lanes[i] += lanes[i + width];
            }
        }
        return lanes[0];
    }
}
