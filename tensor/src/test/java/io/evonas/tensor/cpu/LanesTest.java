package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The in-register lane sum adds in exactly the order of the array form, so its bits never change. */
class LanesTest {
    @Test
    void registerSumHasTheBitsOfTheFixedOrder() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = FloatVector.SPECIES_PREFERRED.length();
        for (int trial = 0; trial < 20_000; trial++) {
            float[] lanes = new float[n];
            for (int i = 0; i < n; i++) {
                // Wide exponents make the order of additions visible in the last bits.
                lanes[i] = (float) ((rng.nextDouble() - 0.5) * Math.pow(10, rng.nextInt(-6, 7)));
            }
            if (trial % 97 == 0) {
                lanes[rng.nextInt(n)] = trial % 2 == 0 ? Float.NaN : Float.POSITIVE_INFINITY;
            }
            float expected = Lanes.sumInOrder(lanes.clone());
            float actual = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                    "lanes " + java.util.Arrays.toString(lanes));
        }
    }
}
