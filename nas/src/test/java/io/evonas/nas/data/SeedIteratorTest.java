package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.data;
import static io.evonas.nas.data.Fixtures.ids;
import static io.evonas.nas.data.Fixtures.list;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class SeedIteratorTest {
    private static final List<Integer> ZEROS = List.of(0, 0, 0, 0);

    @Test
    void elementIGetsTheGeneratorOfSeedAndI() {
        SeedIterator<Integer, Integer> draws = SeedIterator.of(ZEROS, 7, (e, rng) -> rng.nextInt(1000));
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            expected.add(SeedIterator.generator(7, i).nextInt(1000));
        }
        assertEquals(expected, list(draws));
        assertEquals(List.of(974, 149, 54, 431), list(draws)); // golden: the derivation must not drift
        assertNotEquals(list(draws), list(SeedIterator.of(ZEROS, 8, (e, rng) -> rng.nextInt(1000))));
    }

    @Test
    void everyPassAndEveryReplayGetsTheSameGenerators() {
        SeedIterator<Batch, List<Integer>> augmented = SeedIterator.of(BatchIterator.of(data(9), 2), 3,
                (b, rng) -> List.of(ids(b).get(0), rng.nextInt(100), rng.nextInt(100)));
        List<List<Integer>> first = list(augmented);
        assertEquals(first, list(augmented));
        ReplayableIterator<List<Integer>> it = Fixtures.replayable(augmented.iterator());
        it.next();
        ReplayableIterator<List<Integer>> copy = it.copy();
        assertEquals(first.get(1), copy.next());
        assertEquals(2, copy.skip(2));
        assertEquals(first.get(4), copy.next());
        assertEquals(first.get(1), it.next());
    }

    @Test
    void theGeneratorFollowsThePositionNotTheElement() {
        // Over a shuffled base, position i draws the same numbers whatever sample lands there.
        SeedIterator<Batch, Integer> draws = SeedIterator.of(BatchIterator.of(data(6), 1).withShuffle(1), 5,
                (b, rng) -> rng.nextInt(1_000_000));
        assertEquals(list(draws), list(draws));
    }

    @Test
    void reproducibleWhateverTheThreadScheduling() throws Exception {
        SeedIterator<Integer, Long> draws = SeedIterator.of(Fixtures.range(200), 99, (e, rng) -> rng.nextLong());
        List<Long> expected = list(draws);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<Long>>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                runs.add(pool.submit(() -> list(draws)));
            }
            for (Future<List<Long>> run : runs) {
                assertEquals(expected, run.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
