package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.ids;
import static io.evonas.nas.data.Fixtures.list;
import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class MapIteratorTest {
    @Test
    void appliesTheFunctionToEachElementOnEveryPass() {
        MapIterator<Integer, Integer> doubled = MapIterator.of(range(4), x -> 2 * x);
        assertEquals(List.of(0, 2, 4, 6), list(doubled));
        assertEquals(List.of(0, 2, 4, 6), list(doubled));
        assertFalse(MapIterator.of(List.<Integer>of(), x -> x).iterator().hasNext());
    }

    @Test
    void mapsBatchesLazilyAndStaysReplayable() {
        int[] calls = {0};
        MapIterator<Batch, Integer> firstIds = MapIterator.of(BatchIterator.of(data(7), 3), b -> {
            calls[0]++;
            return ids(b).get(0);
        });
        Iterator<Integer> it = firstIds.iterator();
        assertEquals(0, calls[0]);
        ReplayableIterator<Integer> r = Fixtures.replayable(it);
        assertEquals(0, r.next());
        assertEquals(1, r.skip(1)); // skipping does not call the function
        assertEquals(1, calls[0]);
        assertEquals(6, r.copy().next());
        assertEquals(6, r.next());
    }

    @Test
    void plainBaseGivesAPlainIterator() {
        Iterator<Integer> it = MapIterator.of(new Fixtures.Counting<>(range(3)), x -> x).iterator();
        assertFalse(it instanceof ReplayableIterator);
    }
}
