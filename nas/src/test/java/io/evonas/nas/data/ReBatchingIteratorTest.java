package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.batchIds;
import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.flatIds;
import static io.evonas.nas.data.Fixtures.ids;
import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReBatchingIteratorTest {
    private static List<List<Integer>> rebatched(int samples, int from, int to) {
        return batchIds(ReBatchingIterator.of(BatchIterator.of(data(samples), from), to));
    }

    @Test
    void splitsAndJoinsBaseBatchesKeepingTheOrder() {
        assertEquals(List.of(List.of(0, 1, 2), List.of(3, 4, 5), List.of(6, 7, 8), List.of(9)), rebatched(10, 4, 3));
        assertEquals(List.of(List.of(0, 1, 2, 3, 4, 5, 6, 7), List.of(8, 9)), rebatched(10, 4, 8));
        assertEquals(List.of(List.of(0, 1, 2, 3, 4), List.of(5, 6, 7, 8, 9)), rebatched(10, 2, 5));
        assertEquals(List.of(range(10)), rebatched(10, 3, 100));
    }

    @Test
    void everySizeSeesTheSameSamplesInTheSameOrder() {
        for (int from = 1; from <= 7; from++) {
            for (int to = 1; to <= 11; to++) {
                List<List<Integer>> batches = rebatched(23, from, to);
                assertEquals(range(23), batches.stream().flatMap(List::stream).toList(), from + " -> " + to);
                for (int i = 0; i < batches.size() - 1; i++) {
                    assertEquals(to, batches.get(i).size(), from + " -> " + to + ", batch " + i);
                }
                assertEquals((23 + to - 1) / to, batches.size());
            }
        }
    }

    @Test
    void candidatesWithDifferentBatchSizesSeeTheSameShuffledChunk() {
        var chunk = RepeatPartitionIterator.of(BatchIterator.of(data(40), 8).withShuffle(6), 3).chunk(0);
        List<Integer> expected = flatIds(chunk);
        for (int bs : new int[] {1, 5, 7, 8, 13, 24, 64}) {
            assertEquals(expected, flatIds(ReBatchingIterator.of(chunk, bs)), "batch size " + bs);
        }
    }

    @Test
    void batchesWithinOneBaseBatchAreViewsOthersAreCopies() {
        LabelledData d = data(10);
        Iterator<Batch> it = ReBatchingIterator.of(BatchIterator.of(d, 4), 3).iterator();
        Batch first = it.next();
        assertSame(d.features().data(), first.features().data());
        Batch spanning = it.next(); // samples 3 | 4 5
        assertNotSame(d.features().data(), spanning.features().data());
        assertEquals(List.of(3, 4, 5), ids(spanning));
    }

    @Test
    void targetsFollowTheirSamples() {
        assertEquals(List.of(List.of(0, 1, 2, 3, 4), List.of(5, 6)),
                batchIds(ReBatchingIterator.of(BatchIterator.of(Fixtures.regression(7), 3), 5)));
    }

    @Test
    void isReplayableOverAReplayableBase() {
        Iterator<Batch> plain = ReBatchingIterator.of(BatchIterator.of(data(10), 4), 3).iterator();
        ReplayableIterator<Batch> it = Fixtures.replayable(plain);
        it.next();
        ReplayableIterator<Batch> copy = it.copy();
        assertEquals(List.of(3, 4, 5), ids(copy.next()));
        assertEquals(1, copy.skip(1));
        assertEquals(List.of(9), ids(copy.next()));
        assertFalse(copy.hasNext());
        assertEquals(List.of(3, 4, 5), ids(it.next()));
    }

    @Test
    void skipsEmptyBaseBatchesAndHandlesAnEmptyBase() {
        Batch all = Batch.of(data(5));
        List<Batch> base = List.of(all.slice(0, 0), all.slice(0, 2), all.slice(2, 2), all.slice(2, 5));
        assertEquals(List.of(List.of(0, 1, 2, 3), List.of(4)), batchIds(ReBatchingIterator.of(base, 4)));
        assertEquals(List.of(), batchIds(ReBatchingIterator.of(List.of(), 4)));
    }

    @Test
    void nonPositiveBatchSizeIsRejectedNamingTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> ReBatchingIterator.of(List.of(), 0));
        assertTrue(e.getMessage().contains("batch size 0"), e.getMessage());
        var neg = assertThrows(IllegalArgumentException.class,
                () -> ReBatchingIterator.of(List.of(), 4).withBatchSize(-2));
        assertTrue(neg.getMessage().contains("-2"), neg.getMessage());
    }
}
