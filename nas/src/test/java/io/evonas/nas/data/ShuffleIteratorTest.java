package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.list;
import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class ShuffleIteratorTest {
    @Test
    void givesTheExpectedOrdersAndANewOneOnEveryPass() {
        ShuffleIterator<Integer> it = ShuffleIterator.of(range(10), 42);
        // Golden values; the same permutations as BatchIterator.withShuffle(42) draws.
        assertEquals(List.of(4, 6, 2, 3, 8, 0, 5, 7, 1, 9), list(it));
        assertEquals(List.of(0, 3, 4, 9, 7, 6, 2, 1, 5, 8), list(it));
    }

    @Test
    void sameSeedSameOrdersDifferentSeedDifferentOrders() {
        ShuffleIterator<Integer> a = ShuffleIterator.of(range(30), 11);
        ShuffleIterator<Integer> b = ShuffleIterator.of(range(30), 11);
        for (int pass = 0; pass < 4; pass++) {
            List<Integer> pa = list(a);
            assertEquals(pa, list(b));
            assertEquals(range(30), pa.stream().sorted().toList());
        }
        assertNotEquals(list(ShuffleIterator.of(range(30), 11)), list(ShuffleIterator.of(range(30), 12)));
    }

    @Test
    void aSharedGeneratorIsDrawnOncePerPassInCallOrder() {
        RandomGenerator shared = RandomGenerator.of("L64X128MixRandom");
        ShuffleIterator<Integer> a = ShuffleIterator.of(range(10), shared);
        ShuffleIterator<Integer> b = ShuffleIterator.of(range(10), shared);
        List<Integer> first = list(a);
        List<Integer> second = list(b);
        assertNotEquals(first, second); // b's pass drew the generator's second seed, not its first
    }

    @Test
    void readsTheBaseOncePerPassAndHandlesAnEmptyBase() {
        Fixtures.Counting<Integer> base = new Fixtures.Counting<>(range(5));
        ShuffleIterator<Integer> it = ShuffleIterator.of(base, 1);
        list(it);
        list(it);
        assertEquals(2, base.passes);
        assertFalse(ShuffleIterator.of(List.<Integer>of(), 1).iterator().hasNext());
    }
}
