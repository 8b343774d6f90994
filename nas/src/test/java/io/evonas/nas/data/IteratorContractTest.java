package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract every iterable of this package keeps, checked on each of them. */
class IteratorContractTest {
    /** A factory that builds the same iterable (same seeds) on every call; {@code fixed}: every pass is alike. */
    record Case(String name, Supplier<Iterable<?>> factory, boolean fixed) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                new Case("BatchIterator in order", () -> BatchIterator.of(data(10), 3), true),
                new Case("BatchIterator shuffled, dropping the last", () -> BatchIterator.of(data(10), 3)
                        .withShuffle(1).withDropLast(true), false),
                new Case("BatchIterator of targets", () -> BatchIterator.of(Fixtures.regression(7), 2), true),
                new Case("ShuffleIterator", () -> ShuffleIterator.of(Fixtures.range(9), 2), false),
                new Case("MapIterator", () -> MapIterator.of(BatchIterator.of(data(8), 3),
                        b -> Fixtures.ids(b).get(0)), true),
                new Case("SeedIterator over shuffled batches", () -> SeedIterator.of(
                        BatchIterator.of(data(8), 3).withShuffle(3), 4,
                        (b, rng) -> List.of(Fixtures.ids(b), rng.nextInt(100))), false),
                new Case("ReBatchingIterator", () -> ReBatchingIterator.of(
                        BatchIterator.of(data(11), 4).withShuffle(5), 3), false),
                new Case("RepeatPartitionIterator", () -> RepeatPartitionIterator.of(Fixtures.range(7), 3), true),
                new Case("RepeatPartitionIterator chunk over a cycle", () -> RepeatPartitionIterator.of(
                        CycleIterator.of(BatchIterator.of(data(5), 2).withShuffle(6)), 4).chunk(1), true),
                new Case("RepeatPartitionIterator buffered chunk", () -> RepeatPartitionIterator.of(
                        new Fixtures.Counting<>(Fixtures.range(7)), 3).chunk(1), true),
                new Case("TimedIterator", () -> TimedIterator.of(Fixtures.range(5), Duration.ofHours(1), 1,
                        TimedIterator.TimeoutAction.stop()), true))
                .map(Arguments::of);
    }

    /** A comparable picture of an element: sample ids for batches, element pictures for chunks. */
    private static Object key(Object element) {
        if (element instanceof Batch b) {
            return Fixtures.ids(b);
        }
        if (element instanceof RepeatPartitionIterator.Chunk<?> c) {
            return pass(c);
        }
        return element;
    }

    private static List<Object> pass(Iterable<?> it) {
        List<Object> out = new ArrayList<>();
        for (Object e : it) {
            out.add(key(e));
        }
        return out;
    }

    private static List<Object> rest(Iterator<?> it) {
        List<Object> out = new ArrayList<>();
        while (it.hasNext()) {
            out.add(key(it.next()));
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void passesAreReproducibleAndReIterable(Case c) {
        Iterable<?> a = c.factory().get();
        Iterable<?> b = c.factory().get();
        List<Object> first = pass(a);
        assertFalse(first.isEmpty());
        assertEquals(first, pass(b));
        List<Object> second = pass(a);
        assertEquals(second, pass(b));
        if (c.fixed()) {
            assertEquals(first, second);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void hasNextIsIdempotentAndAnExhaustedIteratorThrows(Case c) {
        List<Object> expected = pass(c.factory().get());
        Iterator<?> it = c.factory().get().iterator();
        List<Object> seen = new ArrayList<>();
        while (it.hasNext()) {
            assertTrue(it.hasNext());
            seen.add(key(it.next()));
        }
        assertEquals(expected, seen);
        assertFalse(it.hasNext());
        assertThrows(NoSuchElementException.class, it::next);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void copiesReplayAndSkipsSkip(Case c) {
        List<Object> expected = pass(c.factory().get());
        Iterator<?> it = c.factory().get().iterator();
        if (!(it instanceof ReplayableIterator<?> r)) {
            return; // nothing to replay: a plain iterator
        }
        for (int k = 0; k <= expected.size(); k++) {
            List<Object> remaining = expected.subList(k, expected.size());
            assertEquals(remaining, rest(r.copy()), "copy at " + k);
            for (int j = 0; j <= remaining.size() + 1; j++) {
                ReplayableIterator<?> skipper = r.copy();
                assertEquals(Math.min(j, remaining.size()), skipper.skip(j), "skip " + j + " at " + k);
                assertEquals(remaining.subList(Math.min(j, remaining.size()), remaining.size()), rest(skipper),
                        "after skipping " + j + " at " + k);
            }
            if (r.hasNext()) {
                assertEquals(expected.get(k), key(r.next()));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> r.copy().skip(-1));
    }
}
