package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.batchIds;
import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.flatIds;
import static io.evonas.nas.data.Fixtures.ids;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

class BatchIteratorTest {
    private static List<List<Integer>> lists(int[]... batches) {
        List<List<Integer>> out = new ArrayList<>();
        for (int[] b : batches) {
            List<Integer> l = new ArrayList<>();
            for (int v : b) {
                l.add(v);
            }
            out.add(l);
        }
        return out;
    }

    @Test
    void inOrderKeepsTheLastPartialBatchAndIsReIterable() {
        BatchIterator it = BatchIterator.of(data(10), 4);
        List<List<Integer>> expected = lists(new int[] {0, 1, 2, 3}, new int[] {4, 5, 6, 7}, new int[] {8, 9});
        assertEquals(expected, batchIds(it));
        assertEquals(expected, batchIds(it));
        assertEquals(3, it.batches());
        assertEquals(10, it.samples());
        assertArrayEquals(new int[] {0, 1, 2, 0}, it.iterator().next().labels());
    }

    @Test
    void inOrderBatchesAreViewsOfTheData() {
        LabelledData d = data(10);
        Iterator<Batch> it = BatchIterator.of(d, 4).iterator();
        it.next();
        Batch second = it.next();
        assertSame(d.features().data(), second.features().data());
        assertEquals(d.features().offset() + 4 * 2, second.features().offset());
        assertEquals(Shape.of(4, 2), second.features().shape());
    }

    @Test
    void dropLastDropsOnlyAPartialBatch() {
        assertEquals(lists(new int[] {0, 1, 2, 3}, new int[] {4, 5, 6, 7}),
                batchIds(BatchIterator.of(data(10), 4).withDropLast(true)));
        assertEquals(2, BatchIterator.of(data(10), 4).withDropLast(true).batches());
        assertEquals(lists(new int[] {0, 1, 2, 3, 4}, new int[] {5, 6, 7, 8, 9}),
                batchIds(BatchIterator.of(data(10), 5).withDropLast(true)));
    }

    @Test
    void batchSizeLargerThanTheDataGivesOnePartialBatch() {
        assertEquals(List.of(List.of(0, 1, 2)), batchIds(BatchIterator.of(data(3), 100)));
        assertEquals(List.of(), batchIds(BatchIterator.of(data(3), 100).withDropLast(true)));
        assertEquals(1, BatchIterator.of(data(3), 100).batches());
    }

    @Test
    void nonPositiveBatchSizeIsRejectedNamingTheValue() {
        var zero = assertThrows(IllegalArgumentException.class, () -> BatchIterator.of(data(3), 0));
        assertTrue(zero.getMessage().contains("batch size 0"), zero.getMessage());
        var negative = assertThrows(IllegalArgumentException.class, () -> BatchIterator.of(data(3), -7));
        assertTrue(negative.getMessage().contains("-7"), negative.getMessage());
        var changed = assertThrows(IllegalArgumentException.class,
                () -> BatchIterator.of(data(3), 2).withBatchSize(-1));
        assertTrue(changed.getMessage().contains("-1"), changed.getMessage());
    }

    @Test
    void emptyDataGivesNoBatches() {
        LabelledData empty = new LabelledData(Tensor.zeros(0, 2), new int[0], 3);
        for (BatchIterator it : List.of(BatchIterator.of(empty, 4), BatchIterator.of(empty, 4).withShuffle(1))) {
            Iterator<Batch> pass = it.iterator();
            assertFalse(pass.hasNext());
            assertThrows(NoSuchElementException.class, pass::next);
            assertEquals(0, it.batches());
        }
    }

    @Test
    void shuffleGivesTheExpectedPassesAndANewOrderOnEveryPass() {
        BatchIterator it = BatchIterator.of(data(10), 4).withShuffle(42);
        // Fisher–Yates with L64X128MixRandom seeded from the generator made from 42: a golden regression value.
        assertEquals(lists(new int[] {4, 6, 2, 3}, new int[] {8, 0, 5, 7}, new int[] {1, 9}), batchIds(it));
        assertEquals(lists(new int[] {0, 3, 4, 9}, new int[] {7, 6, 2, 1}, new int[] {5, 8}), batchIds(it));
    }

    @Test
    void shuffleIsReproducibleFromTheSeedAndEveryPassIsAPermutation() {
        BatchIterator a = BatchIterator.of(data(50), 8).withShuffle(7);
        BatchIterator b = BatchIterator.of(data(50), 8).withShuffle(7);
        List<Integer> previous = null;
        for (int pass = 0; pass < 5; pass++) {
            List<Integer> pa = flatIds(a);
            assertEquals(pa, flatIds(b));
            assertEquals(Fixtures.range(50), pa.stream().sorted().toList());
            assertNotEquals(previous, pa);
            previous = pa;
        }
        assertNotEquals(flatIds(BatchIterator.of(data(50), 8).withShuffle(7)),
                flatIds(BatchIterator.of(data(50), 8).withShuffle(8)));
    }

    @Test
    void shuffledBatchesAreCopiesWithLabelsAndTargetsFollowingTheirSamples() {
        LabelledData d = data(10);
        Batch first = BatchIterator.of(d, 4).withShuffle(3).iterator().next();
        assertNotSame(d.features().data(), first.features().data());
        ids(first); // checks that the labels follow
        List<Integer> all = flatIds(BatchIterator.of(Fixtures.regression(9), 2).withShuffle(3)); // checks targets
        assertEquals(Fixtures.range(9), all.stream().sorted().toList());
    }

    @Test
    void changingTheBatchSizeKeepsTheShuffleAndDropLast() {
        BatchIterator it = BatchIterator.of(data(10), 4).withShuffle(42).withDropLast(true).withBatchSize(3);
        assertTrue(it.shuffles());
        assertTrue(it.dropsLast());
        assertEquals(3, it.batches());
        assertFalse(it.withoutShuffle().shuffles());
    }

    @Test
    void passCopiesAndSkipsWithoutDisturbingEachOther() {
        ReplayableIterator<Batch> pass = BatchIterator.of(data(10), 3).withShuffle(5).iterator();
        pass.next();
        ReplayableIterator<Batch> copy = pass.copy();
        assertEquals(ids(pass.next()), ids(copy.next()));
        assertEquals(1, copy.skip(1)); // the copy jumps over batch 2, the original reads it
        pass.next();
        assertEquals(ids(pass.next()), ids(copy.next()));
        assertFalse(copy.hasNext());
        assertEquals(0, copy.skip(3));
        assertEquals(4, BatchIterator.of(data(10), 3).iterator().skip(10));
    }

    @Test
    void batchSlicesSelectsAndConcatenates() {
        Batch all = Batch.of(data(6));
        Batch picked = all.select(5, 0, 3);
        assertEquals(List.of(5, 0, 3), ids(picked));
        assertEquals(List.of(1, 2), ids(all.slice(1, 3)));
        assertSame(all, all.slice(0, 6));
        Batch joined = Batch.concat(List.of(all.slice(4, 6), picked, all.slice(0, 1)));
        assertEquals(List.of(4, 5, 5, 0, 3, 0), ids(joined));
        assertEquals(List.of(2, 7, 1), ids(Batch.concat(List.of(
                Fixtures.regression(8).select(2, 7), Fixtures.regression(8).slice(1, 2)))));
        assertThrows(IllegalArgumentException.class, () -> all.slice(2, 7));
        assertThrows(IndexOutOfBoundsException.class, () -> all.select(6));
    }

    @Test
    void batchRejectsDisagreeingPartsAndSaysWhatIsMissing() {
        assertThrows(IllegalArgumentException.class, () -> Batch.of(Tensor.zeros(3, 2), new int[2]));
        assertThrows(IllegalArgumentException.class, () -> Batch.ofTargets(Tensor.zeros(3, 2), Tensor.zeros(4, 1)));
        var mismatch = assertThrows(IllegalArgumentException.class, () -> Batch.concat(
                List.of(Batch.of(data(2)), Fixtures.regression(2))));
        assertTrue(mismatch.getMessage().contains("batch 1"), mismatch.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Batch.concat(
                List.of(Batch.ofFeatures(Tensor.zeros(2, 2)), Batch.ofFeatures(Tensor.zeros(2, 3)))));
        var noLabels = assertThrows(IllegalStateException.class, () -> Fixtures.regression(2).labels());
        assertTrue(noLabels.getMessage().contains("no labels"), noLabels.getMessage());
        assertThrows(IllegalStateException.class, () -> Batch.of(data(2)).targets());
        assertEquals("Batch[2 samples, features [2, 2], targets [2, 1]]", Fixtures.regression(2).toString());
    }
}
