package io.evonas.nas.data;

import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Watches how long the consumer spends on each element (a training step, say) and calls a timeout action when
 * {@code patience} of them have taken longer than {@code timeLimit}: consecutive ones, or, with
 * {@link #withAccumulatedTimeouts}, any since the pass began. The action decides whether iteration
 * {@link Decision#STOP stops} (the pass then ends early) or {@link Decision#CONTINUE continues}; used to give up
 * on candidates that train far too slowly.
 *
 * <pre>{@code
 * var timed = TimedIterator.of(batches, Duration.ofSeconds(2), 5, () -> { tooSlow.set(true); return Decision.STOP; });
 * for (Batch b : timed) step(model, b);
 * }</pre>
 *
 * The time of an element is measured from when it is handed out by {@code next()} to the following
 * {@code hasNext()}, read from an injected nanosecond clock ({@code System::nanoTime} by default). The first
 * element of a pass is not timed (warm-up: JIT compilation, first allocations). As in NaiveGAflux, the count is
 * not reset by the action: while it stays at or above {@code patience}, every further element that is checked
 * calls the action again; without accumulation, an element within the limit resets the count to zero.
 */
public final class TimedIterator<T> implements Iterable<T> {
    /** What a timeout action wants. */
    public enum Decision {
        CONTINUE, STOP
    }

    /** Called on a timeout; returns whether to go on. */
    @FunctionalInterface
    public interface TimeoutAction {
        Decision onTimeout();

        /** An action that stops the iteration. */
        static TimeoutAction stop() {
            return () -> Decision.STOP;
        }

        /** An action that runs {@code effect} (logging, marking the candidate) and continues. */
        static TimeoutAction andContinue(Runnable effect) {
            Objects.requireNonNull(effect, "effect");
            return () -> {
                effect.run();
                return Decision.CONTINUE;
            };
        }
    }

    private final Iterable<T> base;
    private final long limitNanos;
    private final int patience;
    private final TimeoutAction action;
    private final boolean accumulate;
    private final LongSupplier nanoTime;

    private TimedIterator(Iterable<T> base, long limitNanos, int patience, TimeoutAction action, boolean accumulate,
            LongSupplier nanoTime) {
        this.base = Objects.requireNonNull(base, "base");
        if (limitNanos < 0) {
            throw new IllegalArgumentException("timed iterator: time limit " + Duration.ofNanos(limitNanos)
                    + " must not be negative");
        }
        if (patience < 1) {
            throw new IllegalArgumentException("timed iterator: patience " + patience + " must be at least 1");
        }
        this.limitNanos = limitNanos;
        this.patience = patience;
        this.action = Objects.requireNonNull(action, "action");
        this.accumulate = accumulate;
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    /** {@code base} timed against {@code timeLimit}, consecutive timeouts counted, on the system clock. */
    public static <T> TimedIterator<T> of(Iterable<T> base, Duration timeLimit, int patience,
            TimeoutAction action) {
        Objects.requireNonNull(timeLimit, "timeLimit");
        return new TimedIterator<>(base, timeLimit.toNanos(), patience, action, false, System::nanoTime);
    }

    /** This iterator counting every timeout of a pass ({@code true}) or only consecutive ones. */
    public TimedIterator<T> withAccumulatedTimeouts(boolean accumulateTimeouts) {
        return new TimedIterator<>(base, limitNanos, patience, action, accumulateTimeouts, nanoTime);
    }

    /** This iterator reading time from {@code nanoTime} (nanoseconds, any origin; a fake clock in tests). */
    public TimedIterator<T> withClock(LongSupplier clockNanos) {
        return new TimedIterator<>(base, limitNanos, patience, action, accumulate, clockNanos);
    }

    public Duration timeLimit() {
        return Duration.ofNanos(limitNanos);
    }

    public int patience() {
        return patience;
    }

    public boolean accumulatesTimeouts() {
        return accumulate;
    }

    /** A new pass, with no timeouts counted. */
    @Override
    public Iterator<T> iterator() {
        Iterator<T> it = base.iterator();
        return new Iterator<>() {
            private boolean handedOut; // an element has been handed out this pass
            private boolean timed; // the last element handed out is being timed
            private long stamp;
            private int timeouts;
            private boolean checked; // hasNext has decided for the coming element
            private boolean more;
            private boolean stopped;

            @Override
            public boolean hasNext() {
                if (stopped) {
                    return false;
                }
                if (!checked) {
                    checked = true;
                    if (timed) {
                        long elapsed = nanoTime.getAsLong() - stamp;
                        timed = false;
                        if (elapsed > limitNanos) {
                            timeouts++;
                        } else if (!accumulate) {
                            timeouts = 0;
                        }
                    }
                    if (timeouts >= patience
                            && Objects.requireNonNull(action.onTimeout(), "timeout action returned null")
                                    == Decision.STOP) {
                        stopped = true;
                        return false;
                    }
                    more = it.hasNext();
                }
                return more;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException("timed iterator: the pass is over");
                }
                checked = false;
                T element = it.next();
                timed = handedOut;
                handedOut = true;
                if (timed) {
                    stamp = nanoTime.getAsLong();
                }
                return element;
            }
        };
    }
}
