package io.evonas.nas.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;
import org.junit.jupiter.api.Test;

class SplitTest {
    private static RandomGenerator rng(long seed) {
        return RandomGeneratorFactory.of("L64X128MixRandom").create(seed);
    }

    /** 20 samples, feature row {@code (i, -i)}: ten of class 0, six of class 1, four of class 2, interleaved. */
    private static LabelledData unbalanced() {
        int[] labels = {0, 1, 0, 2, 0, 1, 0, 0, 1, 2, 0, 1, 0, 0, 2, 1, 0, 1, 0, 2};
        float[] f = new float[40];
        for (int i = 0; i < 20; i++) {
            f[2 * i] = i;
            f[2 * i + 1] = -i;
        }
        return new LabelledData(Tensor.wrap(f, 20, 2), labels, 3);
    }

    private static List<Integer> ids(LabelledData d) {
        List<Integer> ids = new ArrayList<>();
        for (int r = 0; r < d.size(); r++) {
            ids.add((int) d.features().get(r, 0));
        }
        return ids;
    }

    private static void assertPartition(LabelledData all, Split s) {
        List<Integer> union = new ArrayList<>(ids(s.train()));
        union.addAll(ids(s.validation()));
        assertEquals(Fixtures.range(all.size()), union.stream().sorted().toList());
        assertEquals(ids(s.train()).stream().sorted().toList(), ids(s.train()));
        assertEquals(ids(s.validation()).stream().sorted().toList(), ids(s.validation()));
        for (LabelledData part : List.of(s.train(), s.validation())) {
            for (int r = 0; r < part.size(); r++) {
                int id = (int) part.features().get(r, 0);
                assertEquals(all.labels()[id], part.labels()[r], "label of sample " + id);
                assertEquals(-id, part.features().get(r, 1));
            }
        }
    }

    @Test
    void stratifiedSplitGivesEachClassItsShare() {
        LabelledData d = unbalanced();
        Split s = Split.trainValidation(d, 0.25, rng(1));
        // 5 validation samples: shares 2.5, 1.5, 1.0 -> 2, 1, 1 plus one to the lower of the tied remainders.
        assertArrayEquals(new int[] {3, 1, 1}, s.validation().classCounts());
        assertArrayEquals(new int[] {7, 5, 3}, s.train().classCounts());
        assertPartition(d, s);
        assertEquals(3, s.train().classes());
    }

    @Test
    void sameSeedSameSplitOtherSeedOtherSplit() {
        LabelledData d = unbalanced();
        assertEquals(ids(Split.trainValidation(d, 0.3, rng(5)).validation()),
                ids(Split.trainValidation(d, 0.3, rng(5)).validation()));
        assertNotEquals(ids(Split.trainValidation(d, 0.3, rng(5)).validation()),
                ids(Split.trainValidation(d, 0.3, rng(6)).validation()));
    }

    @Test
    void unstratifiedSplitHasTheRightSizeAndIsReproducible() {
        LabelledData d = Fixtures.data(30);
        Split s = Split.trainValidationUnstratified(d, 0.2, rng(3));
        assertEquals(6, s.validation().size());
        assertEquals(24, s.train().size());
        assertPartition(d, s);
        assertEquals(ids(s.validation()), ids(Split.trainValidationUnstratified(d, 0.2, rng(3)).validation()));
    }

    @Test
    void tailSplitTakesTheLastSamplesAsViews() {
        LabelledData d = Fixtures.data(10);
        Split s = Split.tail(d, 0.25); // ceil(2.5) = 3
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), ids(s.train()));
        assertEquals(List.of(7, 8, 9), ids(s.validation()));
        assertArrayEquals(new int[] {1, 2, 0}, s.validation().labels());
        assertSame(d.features().data(), s.validation().features().data());
    }

    @Test
    void validationCountIsTheCeilingForgivingRoundingError() {
        assertEquals(7, Split.validationCount(10, 0.7)); // 0.7 * 10 = 7.000000000000001 in double
        assertEquals(3, Split.validationCount(10, 0.3)); // 0.3 * 10 = 3.0000000000000004
        assertEquals(1, Split.validationCount(10, 0.01));
        assertEquals(5, Split.validationCount(45, 0.1)); // ceil(4.5)
        assertEquals(3, Split.trainValidation(Fixtures.data(10), 0.3, rng(1)).validation().size());
    }

    @Test
    void rejectsFractionsOutsideTheOpenIntervalNamingThem() {
        LabelledData d = Fixtures.data(10);
        for (double f : new double[] {0, 1, -0.5, 1.5, Double.NaN}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Split.trainValidation(d, f, rng(1)));
            assertTrue(e.getMessage().contains("fraction " + f), e.getMessage());
        }
    }

    @Test
    void rejectsSplitsThatLeaveAPartEmpty() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Split.trainValidation(Fixtures.data(10), 0.95, rng(1)));
        assertTrue(e.getMessage().contains("0 training samples"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Split.tail(Fixtures.data(1), 0.5));
        LabelledData empty = new LabelledData(Tensor.zeros(0, 2), new int[0], 3);
        var none = assertThrows(IllegalArgumentException.class,
                () -> Split.trainValidationUnstratified(empty, 0.5, rng(1)));
        assertTrue(none.getMessage().contains("of 0 samples"), none.getMessage());
    }
}
