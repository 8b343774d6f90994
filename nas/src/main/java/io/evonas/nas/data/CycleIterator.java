package io.evonas.nas.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * The passes of a base iterable one after another, without end (Julia's {@code Iterators.cycle}): each pass is
 * a new {@code base.iterator()}, so a shuffling base is reshuffled every time round. It ends only when a pass is
 * empty. Under a {@link RepeatPartitionIterator} it gives every chunk {@code nrep} elements, chunks running on
 * across pass boundaries, as NaiveGAflux's default training schedule does.
 *
 * <p>Its iterator is replayable when the base's are: copies share the passes already started, so a replay
 * across a pass boundary sees the same next pass rather than drawing a new one.
 */
public final class CycleIterator<T> implements Iterable<T> {
    private final Iterable<T> base;

    private CycleIterator(Iterable<T> base) {
        this.base = Objects.requireNonNull(base, "base");
    }

    /** {@code base}'s passes repeated without end. */
    public static <T> CycleIterator<T> of(Iterable<T> base) {
        return new CycleIterator<>(base);
    }

    @Override
    public Iterator<T> iterator() {
        Iterator<T> first = base.iterator();
        if (first instanceof ReplayableIterator<T> r) {
            PassNode<T> node = new PassNode<>(base, r);
            return new Replayable<>(node, r.copy(), false);
        }
        return new Plain<>(base, first);
    }

    private static final class Plain<T> implements Iterator<T> {
        private final Iterable<T> base;
        private Iterator<T> current;
        private boolean ended;

        Plain(Iterable<T> base, Iterator<T> current) {
            this.base = base;
            this.current = current;
        }

        @Override
        public boolean hasNext() {
            if (ended) {
                return false;
            }
            if (!current.hasNext()) {
                current = base.iterator();
                ended = !current.hasNext();
            }
            return !ended;
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException("cycle iterator: the base is empty");
            }
            return current.next();
        }
    }

    /** A pass of the base, started once and shared by every copy of the cursor; links to the next pass. */
    private static final class PassNode<T> {
        final Iterable<T> base;
        final ReplayableIterator<T> start; // never advanced: readers copy it
        private PassNode<T> next;

        PassNode(Iterable<T> base, ReplayableIterator<T> start) {
            this.base = base;
            this.start = start;
        }

        synchronized PassNode<T> next() {
            if (next == null) {
                Iterator<T> it = base.iterator();
                if (!(it instanceof ReplayableIterator<T> r)) {
                    throw new IllegalStateException("cycle iterator: the base gave a replayable iterator for its "
                            + "first pass and a plain one (" + it.getClass().getName() + ") later");
                }
                next = new PassNode<>(base, r);
            }
            return next;
        }
    }

    private static final class Replayable<T> implements ReplayableIterator<T> {
        private PassNode<T> node;
        private ReplayableIterator<T> current;
        private boolean ended;

        Replayable(PassNode<T> node, ReplayableIterator<T> current, boolean ended) {
            this.node = node;
            this.current = current;
            this.ended = ended;
        }

        @Override
        public boolean hasNext() {
            if (ended) {
                return false;
            }
            if (!current.hasNext()) {
                node = node.next();
                current = node.start.copy();
                ended = !current.hasNext();
            }
            return !ended;
        }

        @Override
        public T next() {
            if (!hasNext()) {
                throw new NoSuchElementException("cycle iterator: the base is empty");
            }
            return current.next();
        }

        @Override
        public ReplayableIterator<T> copy() {
            return new Replayable<>(node, current.copy(), ended);
        }

        @Override
        public int skip(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
            }
            int skipped = 0;
            while (skipped < n && hasNext()) {
                skipped += current.skip(n - skipped);
            }
            return skipped;
        }
    }
}
