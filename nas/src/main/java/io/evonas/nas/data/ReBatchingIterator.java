package io.evonas.nas.data;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * An already batched stream cut into batches of another size: the samples keep their order, base batches are
 * split or joined as needed, and every batch but the last of a pass has exactly {@code batchSize} samples. So
 * candidates with different batch sizes see the same samples (augmentation included) in the same order.
 *
 * <pre>{@code
 * // base batches of 4 samples 0..9: [0 1 2 3] [4 5 6 7] [8 9]
 * ReBatchingIterator.of(base, 3);   // [0 1 2] [3 4 5] [6 7 8] [9]
 * }</pre>
 *
 * A batch that lies within one base batch is a view of it; one that spans base batches is copied
 * ({@link Batch#concat}). NaiveGAflux's {@code ReBatchingIterator} re-splits each joined group on its own, so
 * partial batches can appear mid-pass there; here the remainder carries over to the next batch. The iterator is
 * replayable when the base's is.
 */
public final class ReBatchingIterator implements Iterable<Batch> {
    private final Iterable<Batch> base;
    private final int batchSize;

    private ReBatchingIterator(Iterable<Batch> base, int batchSize) {
        this.base = Objects.requireNonNull(base, "base");
        if (batchSize <= 0) {
            throw new IllegalArgumentException("rebatching iterator: batch size " + batchSize
                    + " must be positive");
        }
        this.batchSize = batchSize;
    }

    /** {@code base}'s samples in batches of {@code batchSize}. */
    public static ReBatchingIterator of(Iterable<Batch> base, int batchSize) {
        return new ReBatchingIterator(base, batchSize);
    }

    /** The same base in batches of another size. */
    public ReBatchingIterator withBatchSize(int newBatchSize) {
        return new ReBatchingIterator(base, newBatchSize);
    }

    public int batchSize() {
        return batchSize;
    }

    @Override
    public Iterator<Batch> iterator() {
        Iterator<Batch> it = base.iterator();
        return it instanceof ReplayableIterator<Batch> r ? new Replayable(r, null, 0) : new Plain(it, null, 0);
    }

    private class Plain implements Iterator<Batch> {
        final Iterator<Batch> base;
        Batch pending; // the base batch being cut, from sample offset on
        int offset;

        Plain(Iterator<Batch> base, Batch pending, int offset) {
            this.base = base;
            this.pending = pending;
            this.offset = offset;
        }

        @Override
        public boolean hasNext() {
            return fill();
        }

        @Override
        public Batch next() {
            if (!fill()) {
                throw new NoSuchElementException("rebatching iterator: the base is exhausted");
            }
            List<Batch> pieces = new ArrayList<>(2);
            int need = batchSize;
            while (need > 0 && fill()) {
                int take = Math.min(need, pending.size() - offset);
                pieces.add(pending.slice(offset, offset + take));
                offset += take;
                need -= take;
            }
            return Batch.concat(pieces);
        }

        /** Makes {@code pending} hold a sample, reading base batches (skipping empty ones); false at the end. */
        boolean fill() {
            while (pending == null || offset == pending.size()) {
                if (!base.hasNext()) {
                    pending = null;
                    offset = 0;
                    return false;
                }
                pending = Objects.requireNonNull(base.next(), "rebatching iterator: the base gave a null batch");
                offset = 0;
            }
            return true;
        }
    }

    private final class Replayable extends Plain implements ReplayableIterator<Batch> {
        Replayable(ReplayableIterator<Batch> base, Batch pending, int offset) {
            super(base, pending, offset);
        }

        @Override
        public ReplayableIterator<Batch> copy() {
            return new Replayable(((ReplayableIterator<Batch>) base).copy(), pending, offset);
        }

        /** Skips whole batches by moving through the base without copying samples. */
        @Override
        public int skip(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
            }
            int skipped = 0;
            while (skipped < n && fill()) {
                int need = batchSize;
                while (need > 0 && fill()) {
                    int take = Math.min(need, pending.size() - offset);
                    offset += take;
                    need -= take;
                }
                skipped++;
            }
            return skipped;
        }
    }
}
