package io.evonas.nas.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * Consecutive chunks of {@code nrep} elements of a base iterable, each chunk re-iterable identically, so that
 * every candidate of a generation trains on the same data before the population moves on to the next chunk:
 *
 * <pre>{@code
 * var chunks = RepeatPartitionIterator.of(CycleIterator.of(SeedIterator.of(shuffledBatches, 7, augment)), 400);
 * for (long generation = 0; ...; generation++) {
 *     Iterable<Batch> data = chunks.chunk(generation);      // the same for every candidate
 *     for (Candidate c : population) train(c, data);
 * }
 * }</pre>
 *
 * Two ways in. {@link #iterator()} walks one pass of the base and yields its chunks (the last may be shorter),
 * like NaiveGAflux's {@code RepeatPartitionIterator}. {@link #chunk(long)} is a forward-only cursor over the
 * endless sequence of chunks in which the base is restarted whenever it is exhausted (NaiveGAflux's
 * {@code StatefulGenerationIter}): the same index gives the same chunk, a later index advances to it.
 *
 * <p>When the base's iterator is a {@link ReplayableIterator} a chunk holds only a copy of the position where it
 * starts and recomputes its elements on every pass, with nothing buffered; otherwise the chunk's elements are
 * read once into a list, which costs the memory of {@code nrep} elements. Either way a chunk may be iterated
 * from several threads at once; {@link #chunk(long)} is synchronised.
 */
public final class RepeatPartitionIterator<T> implements Iterable<RepeatPartitionIterator.Chunk<T>> {
    /** A stretch of consecutive elements of the base: every iteration yields the same elements. */
    public interface Chunk<T> extends Iterable<T> {
        /** Number of elements, {@code nrep} except for a last chunk of a pass. */
        int size();
    }

    private final Iterable<T> base;
    private final int nrep;
    private Iterator<T> cursor; // the chunk(long) cursor, guarded by this
    private long current = -1;
    private Chunk<T> currentChunk;

    private RepeatPartitionIterator(Iterable<T> base, int nrep) {
        this.base = Objects.requireNonNull(base, "base");
        if (nrep <= 0) {
            throw new IllegalArgumentException("repeat partition iterator: chunk length " + nrep
                    + " must be positive");
        }
        this.nrep = nrep;
    }

    /** Chunks of {@code nrep} elements of {@code base}. */
    public static <T> RepeatPartitionIterator<T> of(Iterable<T> base, int nrep) {
        return new RepeatPartitionIterator<>(base, nrep);
    }

    /** Elements per chunk. */
    public int nrep() {
        return nrep;
    }

    /** The chunks of one new pass of the base. */
    @Override
    public Iterator<Chunk<T>> iterator() {
        Iterator<T> pass = base.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return pass.hasNext();
            }

            @Override
            public Chunk<T> next() {
                if (!pass.hasNext()) {
                    throw new NoSuchElementException("repeat partition iterator: the pass is over");
                }
                return take(pass);
            }
        };
    }

    /**
     * Chunk {@code index} (from 0) of the endless sequence of chunks, restarting the base whenever it is
     * exhausted; a chunk does not run across a restart, so the last chunk of a pass may be shorter. Asking for
     * the current index again returns the same chunk; a later index advances past the chunks in between
     * (skipping their elements without computing them where the base allows).
     *
     * @throws IllegalArgumentException if {@code index} is negative or before the current chunk
     */
    public synchronized Chunk<T> chunk(long index) {
        if (index < 0 || index < current) {
            throw new IllegalArgumentException("repeat partition iterator: chunk " + index + " is "
                    + (index < 0 ? "negative" : "before the current chunk " + current + "; chunks only move forward"));
        }
        while (current < index - 1) {
            skipChunk(restartIfExhausted());
            current++;
            currentChunk = null;
        }
        if (current < index) {
            currentChunk = take(restartIfExhausted());
            current++;
        }
        return currentChunk;
    }

    private Iterator<T> restartIfExhausted() {
        if (cursor == null || !cursor.hasNext()) {
            cursor = base.iterator();
        }
        return cursor;
    }

    private void skipChunk(Iterator<T> it) {
        if (it instanceof ReplayableIterator<T> r) {
            r.skip(nrep);
            return;
        }
        for (int i = 0; i < nrep && it.hasNext(); i++) {
            it.next();
        }
    }

    private Chunk<T> take(Iterator<T> it) {
        if (it instanceof ReplayableIterator<T> r) {
            ReplayableIterator<T> start = r.copy();
            return new Replayed<>(start, r.skip(nrep));
        }
        List<T> buffer = new ArrayList<>();
        while (buffer.size() < nrep && it.hasNext()) {
            buffer.add(it.next());
        }
        return new Buffered<>(Collections.unmodifiableList(buffer));
    }

    private record Buffered<T>(List<T> elements) implements Chunk<T> {
        @Override
        public Iterator<T> iterator() {
            return elements.iterator();
        }

        @Override
        public int size() {
            return elements.size();
        }
    }

    private record Replayed<T>(ReplayableIterator<T> start, int size) implements Chunk<T> {
        @Override
        public ReplayableIterator<T> iterator() {
            return new Limited<>(start.copy(), size);
        }
    }

    /** The first {@code remaining} elements of a replayable iterator. */
    private static final class Limited<T> implements ReplayableIterator<T> {
        private final ReplayableIterator<T> inner;
        private int remaining;

        Limited(ReplayableIterator<T> inner, int remaining) {
            this.inner = inner;
            this.remaining = remaining;
        }

        @Override
        public boolean hasNext() {
            return remaining > 0 && inner.hasNext();
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException("repeat partition iterator: the chunk is over");
            }
            remaining--;
            return inner.next();
        }

        @Override
        public ReplayableIterator<T> copy() {
            return new Limited<>(inner.copy(), remaining);
        }

        @Override
        public int skip(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
            }
            int skipped = inner.skip(Math.min(n, remaining));
            remaining -= skipped;
            return skipped;
        }
    }
}
