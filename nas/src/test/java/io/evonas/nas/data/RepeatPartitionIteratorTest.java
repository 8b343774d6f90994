package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.batchIds;
import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.flatIds;
import static io.evonas.nas.data.Fixtures.list;
import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepeatPartitionIteratorTest {
    @Test
    void yieldsConsecutiveChunksEachReIterableIdentically() {
        // The README example: models 1..3 each see the first chunk's elements.
        Fixtures.Counting<Integer> base = new Fixtures.Counting<>(range(10));
        RepeatPartitionIterator<Integer> rp = RepeatPartitionIterator.of(base, 4);
        List<List<Integer>> chunks = new ArrayList<>();
        for (RepeatPartitionIterator.Chunk<Integer> chunk : rp) {
            for (int model = 0; model < 3; model++) {
                assertEquals(list(chunk), list(chunk));
            }
            chunks.add(list(chunk));
        }
        assertEquals(List.of(List.of(0, 1, 2, 3), List.of(4, 5, 6, 7), List.of(8, 9)), chunks);
        assertEquals(1, base.passes);
        assertEquals(4, rp.iterator().next().size());
        assertEquals(2, base.passes);
        assertEquals(chunks, list(rp).stream().map(Fixtures::list).toList()); // re-iterable from the start
    }

    @Test
    void aReplayableBaseIsRecomputedNotBuffered() {
        BatchIterator shuffled = BatchIterator.of(data(12), 2).withShuffle(9);
        RepeatPartitionIterator<Batch> rp = RepeatPartitionIterator.of(shuffled, 4);
        RepeatPartitionIterator.Chunk<Batch> first = rp.chunk(0);
        List<Batch> once = list(first);
        List<Batch> twice = list(first);
        assertEquals(batchIds(once), batchIds(twice));
        assertNotSame(once.get(0), twice.get(0)); // batches are gathered anew on each replay
        List<Integer> pass = new ArrayList<>(flatIds(first));
        pass.addAll(flatIds(rp.chunk(1)));
        // The two chunks are one shuffled pass: the first pass of a twin iterable with the same seed.
        assertEquals(flatIds(BatchIterator.of(data(12), 2).withShuffle(9)), pass);
    }

    @Test
    void chunkCursorReturnsTheSameChunkAdvancesAndRestarts() {
        Fixtures.Counting<Integer> base = new Fixtures.Counting<>(range(10));
        RepeatPartitionIterator<Integer> rp = RepeatPartitionIterator.of(base, 4);
        RepeatPartitionIterator.Chunk<Integer> c0 = rp.chunk(0);
        assertSame(c0, rp.chunk(0));
        assertEquals(List.of(0, 1, 2, 3), list(c0));
        assertEquals(List.of(4, 5, 6, 7), list(rp.chunk(1)));
        assertEquals(List.of(8, 9), list(rp.chunk(2)));
        assertEquals(1, base.passes);
        assertEquals(List.of(0, 1, 2, 3), list(rp.chunk(3))); // exhausted: restarted
        assertEquals(2, base.passes);
        assertEquals(List.of(0, 1, 2, 3), list(c0)); // an old chunk still replays its own elements
        assertEquals(List.of(8, 9), list(rp.chunk(5)));
    }

    @Test
    void jumpingAheadGivesTheChunkThatStepsWouldReach() {
        // Resuming at generation 7 sees the data an uninterrupted run sees there.
        RepeatPartitionIterator<Batch> stepped = pipeline();
        for (int g = 0; g < 7; g++) {
            stepped.chunk(g);
        }
        RepeatPartitionIterator<Batch> jumped = pipeline();
        assertEquals(batchIds(stepped.chunk(7)), batchIds(jumped.chunk(7)));
        assertEquals(batchIds(stepped.chunk(9)), batchIds(jumped.chunk(9)));
    }

    private static RepeatPartitionIterator<Batch> pipeline() {
        BatchIterator shuffled = BatchIterator.of(data(10), 3).withShuffle(21);
        return RepeatPartitionIterator.of(CycleIterator.of(shuffled), 5);
    }

    @Test
    void overACycledAugmentedBaseEveryChunkIsFullAndReplaysItsAugmentation() {
        SeedIterator<Batch, List<Integer>> augmented = SeedIterator.of(
                CycleIterator.of(BatchIterator.of(data(10), 4).withShuffle(2)), 17,
                (b, rng) -> List.of(Fixtures.ids(b).get(0), rng.nextInt(1000)));
        RepeatPartitionIterator<List<Integer>> rp = RepeatPartitionIterator.of(augmented, 5);
        List<List<Integer>> seen = new ArrayList<>();
        for (int g = 0; g < 4; g++) {
            RepeatPartitionIterator.Chunk<List<Integer>> chunk = rp.chunk(g);
            assertEquals(5, chunk.size()); // chunks run across the 3-batch passes
            List<List<Integer>> first = list(chunk);
            assertEquals(first, list(chunk));
            assertEquals(first, list(chunk));
            seen.addAll(first);
        }
        List<Integer> firstSamples = seen.stream().map(e -> e.get(0)).toList();
        assertNotEquals(firstSamples.subList(0, 3), firstSamples.subList(3, 6)); // the second pass was reshuffled
    }

    @Test
    void rejectsBadArgumentsNamingThem() {
        var zero = assertThrows(IllegalArgumentException.class, () -> RepeatPartitionIterator.of(range(3), 0));
        assertTrue(zero.getMessage().contains("0"), zero.getMessage());
        RepeatPartitionIterator<Integer> rp = RepeatPartitionIterator.of(range(10), 2);
        rp.chunk(3);
        var back = assertThrows(IllegalArgumentException.class, () -> rp.chunk(2));
        assertTrue(back.getMessage().contains("chunk 2") && back.getMessage().contains("3"), back.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rp.chunk(-1));
    }

    @Test
    void anEmptyBaseGivesNoChunksAndEmptyCursorChunks() {
        RepeatPartitionIterator<Integer> rp = RepeatPartitionIterator.of(List.of(), 3);
        assertEquals(List.of(), list(rp));
        assertEquals(0, rp.chunk(0).size());
        assertEquals(List.of(), list(rp.chunk(4)));
    }
}
