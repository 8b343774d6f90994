package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.flatIds;
import static io.evonas.nas.data.Fixtures.ids;
import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

class CycleIteratorTest {
    private static <T> List<T> take(Iterator<T> it, int n) {
        List<T> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(it.next());
        }
        return out;
    }

    private static List<Integer> takeIds(Iterator<Batch> it, int batches) {
        List<Integer> out = new ArrayList<>();
        for (Batch b : take(it, batches)) {
            out.addAll(ids(b));
        }
        return out;
    }

    @Test
    void repeatsTheBaseWithoutEnd() {
        assertEquals(List.of(0, 1, 2, 0, 1, 2, 0, 1), take(CycleIterator.of(range(3)).iterator(), 8));
        Fixtures.Counting<Integer> base = new Fixtures.Counting<>(range(2));
        Iterator<Integer> plain = CycleIterator.of(base).iterator();
        assertEquals(List.of(0, 1, 0, 1, 0), take(plain, 5));
        assertEquals(3, base.passes);
    }

    @Test
    void anEmptyBaseEnds() {
        Iterator<Integer> it = CycleIterator.of(List.<Integer>of()).iterator();
        assertFalse(it.hasNext());
        assertThrows(NoSuchElementException.class, it::next);
        assertFalse(CycleIterator.of(BatchIterator.of(data(0), 2)).iterator().hasNext());
    }

    @Test
    void aShufflingBaseIsReshuffledEachTimeRound() {
        BatchIterator shuffled = BatchIterator.of(data(6), 2).withShuffle(4);
        List<Integer> cycled = takeIds(CycleIterator.of(shuffled).iterator(), 6);
        BatchIterator same = BatchIterator.of(data(6), 2).withShuffle(4);
        List<Integer> twoPasses = new ArrayList<>(flatIds(same));
        twoPasses.addAll(flatIds(same));
        assertEquals(twoPasses, cycled);
        assertNotEquals(cycled.subList(0, 6), cycled.subList(6, 12));
    }

    @Test
    void copiesShareThePassesStartedAfterThem() {
        Iterator<Batch> it = CycleIterator.of(BatchIterator.of(data(6), 2).withShuffle(4)).iterator();
        ReplayableIterator<Batch> cursor = Fixtures.replayable(it);
        cursor.next();
        ReplayableIterator<Batch> copy = cursor.copy();
        List<Integer> ahead = takeIds(cursor, 5); // runs into the second pass, which it starts
        assertEquals(ahead, takeIds(copy, 5)); // the copy sees that same second pass
        ReplayableIterator<Batch> skipper = cursor.copy();
        assertEquals(4, skipper.skip(4));
        List<Integer> afterSkip = takeIds(skipper, 1);
        takeIds(cursor, 4);
        assertEquals(takeIds(cursor, 1), afterSkip);
    }
}
