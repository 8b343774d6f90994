package io.evonas.nas.data;

import java.util.Iterator;

/**
 * An iterator whose position can be copied: {@link #copy} returns an independent iterator that yields the same
 * remaining elements as this one, so a stretch of a data stream can be replayed identically without buffering
 * it. This is what lets {@link RepeatPartitionIterator} show every candidate of a generation the same chunk of
 * data (NaiveGAflux marks and resets a stateful iterator for the same purpose).
 *
 * <p>The iterators of {@link BatchIterator} and {@link ShuffleIterator} are replayable; those of
 * {@link MapIterator}, {@link SeedIterator}, {@link CycleIterator} and {@link ReBatchingIterator} are replayable
 * when the iterator they wrap is. A replay recomputes the elements, so a function mapped over the stream must be
 * pure: random augmentation belongs in a {@link SeedIterator}, which gives element {@code i} the same generator
 * every time.
 */
public interface ReplayableIterator<T> extends Iterator<T> {
    /** An independent iterator at this one's position; advancing either leaves the other where it is. */
    ReplayableIterator<T> copy();

    /**
     * Advances past up to {@code n} elements without necessarily computing them, and returns how many were
     * skipped (fewer than {@code n} only at the end). Implementations skip in constant time where they can.
     */
    default int skip(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
        }
        int skipped = 0;
        while (skipped < n && hasNext()) {
            next();
            skipped++;
        }
        return skipped;
    }
}
