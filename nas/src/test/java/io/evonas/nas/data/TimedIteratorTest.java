package io.evonas.nas.data;

import static io.evonas.nas.data.Fixtures.range;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.data.TimedIterator.Decision;
import io.evonas.nas.data.TimedIterator.TimeoutAction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimedIteratorTest {
    /** A fake clock and a consumer that spends {@code durations[e]} nanoseconds on element {@code e}. */
    private static final class Run {
        long now;
        final List<Integer> consumed = new ArrayList<>();
        final List<Integer> timeoutsAfter = new ArrayList<>(); // elements consumed when the action ran

        TimeoutAction action(Decision decision) {
            return () -> {
                timeoutsAfter.add(consumed.size());
                return decision;
            };
        }

        void consume(Iterable<Integer> it, long... durations) {
            for (int e : it) {
                consumed.add(e);
                now += durations[e];
            }
        }
    }

    private static TimedIterator<Integer> timed(Run run, int n, int patience, Decision decision) {
        return TimedIterator.of(range(n), Duration.ofNanos(10), patience, run.action(decision))
                .withClock(() -> run.now);
    }

    @Test
    void callsTheActionAfterPatienceConsecutiveTimeouts() {
        Run run = new Run();
        run.consume(timed(run, 8, 2, Decision.CONTINUE), 100, 20, 20, 1, 20, 20, 20, 20);
        // 0: not timed; 1, 2: slow -> action; 3: fast, count reset; 4, 5: slow -> action; 6, 7: still over.
        assertEquals(List.of(3, 6, 7, 8), run.timeoutsAfter);
        assertEquals(range(8), run.consumed);
    }

    @Test
    void accumulatedTimeoutsAreNotResetByFastElements() {
        long[] durations = {100, 20, 1, 20, 1, 1};
        Run consecutive = new Run();
        consecutive.consume(timed(consecutive, 6, 2, Decision.CONTINUE), durations);
        assertEquals(List.of(), consecutive.timeoutsAfter);
        Run accumulated = new Run();
        accumulated.consume(timed(accumulated, 6, 2, Decision.CONTINUE).withAccumulatedTimeouts(true), durations);
        assertEquals(List.of(4, 5, 6), accumulated.timeoutsAfter);
    }

    @Test
    void stopEndsTheIteration() {
        Run run = new Run();
        run.consume(timed(run, 8, 2, Decision.STOP), 20, 20, 20, 20, 20, 20, 20, 20);
        assertEquals(List.of(0, 1, 2), run.consumed);
        assertEquals(List.of(3), run.timeoutsAfter);
    }

    @Test
    void theFirstElementIsNotTimedAndANewPassStartsAfresh() {
        Run run = new Run();
        TimedIterator<Integer> it = timed(run, 3, 1, Decision.STOP);
        run.consume(it, 1_000_000, 1, 1);
        assertEquals(List.of(0, 1, 2), run.consumed);
        run.consume(it, 1, 50, 1); // element 1 is slow: the pass stops before element 2
        assertEquals(List.of(0, 1, 2, 0, 1), run.consumed);
        run.consume(it, 1, 1, 1);
        assertEquals(8, run.consumed.size());
    }

    @Test
    void exactlyTheLimitIsNotATimeout() {
        Run run = new Run();
        run.consume(timed(run, 4, 1, Decision.STOP), 10, 10, 10, 10);
        assertEquals(range(4), run.consumed);
    }

    @Test
    void hasNextIsIdempotent() {
        Run run = new Run();
        var it = timed(run, 3, 1, Decision.CONTINUE).iterator();
        it.next();
        it.next();
        run.now += 50;
        assertTrue(it.hasNext());
        assertTrue(it.hasNext());
        assertEquals(1, run.timeoutsAfter.size());
    }

    @Test
    void rejectsBadSettingsNamingThem() {
        var patience = assertThrows(IllegalArgumentException.class,
                () -> TimedIterator.of(range(1), Duration.ofSeconds(1), 0, TimeoutAction.stop()));
        assertTrue(patience.getMessage().contains("patience 0"), patience.getMessage());
        var limit = assertThrows(IllegalArgumentException.class,
                () -> TimedIterator.of(range(1), Duration.ofSeconds(-2), 1, TimeoutAction.stop()));
        assertTrue(limit.getMessage().contains("PT-2S"), limit.getMessage());
        Run run = new Run();
        var nullDecision = TimedIterator.<Integer>of(range(3), Duration.ZERO, 1, () -> null).withClock(() -> run.now++);
        assertThrows(NullPointerException.class, () -> run.consume(nullDecision, 0, 0, 0));
    }

    @Test
    void andContinueRunsItsEffect() {
        int[] calls = {0};
        long[] now = {0};
        var it = TimedIterator.of(range(4), Duration.ZERO, 1, TimeoutAction.andContinue(() -> calls[0]++))
                .withClock(() -> now[0]++);
        assertEquals(range(4), Fixtures.list(it));
        assertEquals(3, calls[0]);
    }
}
