package io.evonas.nas.data;

import java.util.Arrays;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Mini-batches of {@code batchSize} samples along the first axis of a data set, in order or shuffled. The last
 * batch holds the remaining {@code N mod batchSize} samples unless {@link #withDropLast dropped}.
 *
 * <pre>{@code
 * for (Batch b : BatchIterator.of(data, 32).withShuffle(rng)) { ... }   // a new order on every pass
 * }</pre>
 *
 * Every call to {@link #iterator()} starts a new pass. In order, a batch's features (and targets) are views of
 * the data set's tensors, nothing is copied. Shuffled, each pass draws one seed from the generator (under its
 * lock) and permutes the samples with it, so the <i>k</i>-th pass of an iterable built with a given seed is
 * always the same; each batch is then copied from the data set into tensors of its own. The {@code with*}
 * copies of a shuffling iterable share its generator, so their passes draw from one sequence of seeds.
 */
public final class BatchIterator implements Iterable<Batch> {
    private final Batch data;
    private final int batchSize;
    private final RandomGenerator shuffle; // null: in order
    private final boolean dropLast;

    private BatchIterator(Batch data, int batchSize, RandomGenerator shuffle, boolean dropLast) {
        this.data = Objects.requireNonNull(data, "data");
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch iterator: batch size " + batchSize + " must be positive");
        }
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.dropLast = dropLast;
    }

    /** Batches of a labelled data set, in order, keeping the last partial batch. */
    public static BatchIterator of(LabelledData data, int batchSize) {
        return of(Batch.of(Objects.requireNonNull(data, "data")), batchSize);
    }

    /**
     * Batches of a whole data set given as one {@link Batch} (features with labels, targets, both or neither),
     * in order, keeping the last partial batch.
     */
    public static BatchIterator of(Batch data, int batchSize) {
        return new BatchIterator(data, batchSize, null, false);
    }

    /** This iterable shuffling the samples anew on every pass with seeds drawn from {@code rng}. */
    public BatchIterator withShuffle(RandomGenerator rng) {
        return new BatchIterator(data, batchSize, Objects.requireNonNull(rng, "rng"), dropLast);
    }

    /** This iterable shuffling on every pass, with a generator made from {@code seed}. */
    public BatchIterator withShuffle(long seed) {
        return withShuffle(Seeds.generator(seed));
    }

    /** This iterable in the data set's order. */
    public BatchIterator withoutShuffle() {
        return new BatchIterator(data, batchSize, null, dropLast);
    }

    /** This iterable dropping ({@code true}) or keeping the last batch when it is smaller than the others. */
    public BatchIterator withDropLast(boolean drop) {
        return new BatchIterator(data, batchSize, shuffle, drop);
    }

    /** This iterable with another batch size. */
    public BatchIterator withBatchSize(int newBatchSize) {
        return new BatchIterator(data, newBatchSize, shuffle, dropLast);
    }

    public int batchSize() {
        return batchSize;
    }

    /** Number of samples in the data set. */
    public int samples() {
        return data.size();
    }

    /** Number of batches in a pass. */
    public int batches() {
        int n = data.size();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    public boolean shuffles() {
        return shuffle != null;
    }

    public boolean dropsLast() {
        return dropLast;
    }

    /** A new pass: in order, or in a permutation drawn now. */
    @Override
    public ReplayableIterator<Batch> iterator() {
        int n = data.size();
        int end = dropLast ? n - n % batchSize : n;
        int[] order = shuffle == null ? null : Seeds.permutation(n, Seeds.generator(Seeds.draw(shuffle)));
        return new Pass(order, 0, end);
    }

    @Override
    public String toString() {
        return "BatchIterator[" + data + ", batch size " + batchSize + (shuffle != null ? ", shuffled" : "")
                + (dropLast ? ", dropping the last partial batch" : "") + "]";
    }

    private final class Pass implements ReplayableIterator<Batch> {
        private final int[] order; // null: in order; shared by copies, never written
        private final int end;
        private int position;

        Pass(int[] order, int position, int end) {
            this.order = order;
            this.position = position;
            this.end = end;
        }

        @Override
        public boolean hasNext() {
            return position < end;
        }

        @Override
        public Batch next() {
            if (position >= end) {
                throw new NoSuchElementException("batch iterator: the pass is over");
            }
            int from = position;
            int to = Math.min(from + batchSize, end);
            position = to;
            return order == null ? data.slice(from, to) : data.select(Arrays.copyOfRange(order, from, to));
        }

        @Override
        public ReplayableIterator<Batch> copy() {
            return new Pass(order, position, end);
        }

        @Override
        public int skip(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
            }
            int left = (end - position + batchSize - 1) / batchSize;
            int skipped = Math.min(n, left);
            position = (int) Math.min(end, position + (long) skipped * batchSize);
            return skipped;
        }
    }
}
