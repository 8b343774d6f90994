package io.evonas.nas.data;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The elements of a base iterable in a new random order on every pass. Each pass reads the base once into a
 * list, draws one seed from the generator (under its lock) and permutes the list with it, so the <i>k</i>-th pass
 * of an iterable built with a given seed is always the same. The base must be finite (not a
 * {@link CycleIterator}). To shuffle the samples of a data set rather than whole batches, use
 * {@link BatchIterator#withShuffle}.
 */
public final class ShuffleIterator<T> implements Iterable<T> {
    private final Iterable<T> base;
    private final RandomGenerator rng;

    private ShuffleIterator(Iterable<T> base, RandomGenerator rng) {
        this.base = Objects.requireNonNull(base, "base");
        this.rng = Objects.requireNonNull(rng, "rng");
    }

    /** {@code base} reshuffled on every pass with seeds drawn from {@code rng}. */
    public static <T> ShuffleIterator<T> of(Iterable<T> base, RandomGenerator rng) {
        return new ShuffleIterator<>(base, rng);
    }

    /** {@code base} reshuffled on every pass, with a generator made from {@code seed}. */
    public static <T> ShuffleIterator<T> of(Iterable<T> base, long seed) {
        return new ShuffleIterator<>(base, Seeds.generator(seed));
    }

    @Override
    public ReplayableIterator<T> iterator() {
        List<T> elements = new ArrayList<>();
        for (T e : base) {
            elements.add(e);
        }
        int[] order = Seeds.permutation(elements.size(), Seeds.generator(Seeds.draw(rng)));
        return new Pass<>(elements, order, 0);
    }

    private static final class Pass<T> implements ReplayableIterator<T> {
        private final List<T> elements; // shared by copies, never written
        private final int[] order;
        private int position;

        Pass(List<T> elements, int[] order, int position) {
            this.elements = elements;
            this.order = order;
            this.position = position;
        }

        @Override
        public boolean hasNext() {
            return position < order.length;
        }

        @Override
        public T next() {
            if (position >= order.length) {
                throw new NoSuchElementException("shuffle iterator: the pass is over");
            }
            return elements.get(order[position++]);
        }

        @Override
        public ReplayableIterator<T> copy() {
            return new Pass<>(elements, order, position);
        }

        @Override
        public int skip(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("skip: count " + n + " must be non-negative");
            }
            int skipped = Math.min(n, order.length - position);
            position += skipped;
            return skipped;
        }
    }
}
