package io.evonas.nas.data;

import java.util.Iterator;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.random.RandomGenerator;

/**
 * Random work on each element made reproducible: element {@code i} of every pass (counting from 0) is handed to
 * the function with a fresh generator determined by {@code (seed, i)} alone, {@link #generator(long, long)}.
 * Candidates that iterate the same data, a chunk of a {@link RepeatPartitionIterator} replayed, or a run
 * repeated on other threads therefore get the same augmentation.
 *
 * <pre>{@code
 * Iterable<Batch> augmented = SeedIterator.of(batches, 123, (b, rng) -> b.withFeatures(flip(b.features(), rng)));
 * }</pre>
 *
 * NaiveGAflux's {@code SeedIterator} re-seeds a shared generator to {@code seed + i} before element {@code i};
 * here the generator is derived and passed in, so nothing is shared between threads. Its iterator is replayable
 * when the base's is.
 */
public final class SeedIterator<T, R> implements Iterable<R> {
    private final Iterable<T> base;
    private final long seed;
    private final BiFunction<? super T, ? super RandomGenerator, ? extends R> function;

    private SeedIterator(Iterable<T> base, long seed,
            BiFunction<? super T, ? super RandomGenerator, ? extends R> function) {
        this.base = Objects.requireNonNull(base, "base");
        this.seed = seed;
        this.function = Objects.requireNonNull(function, "function");
    }

    /** {@code function(element i, generator(seed, i))} for each element of {@code base}. */
    public static <T, R> SeedIterator<T, R> of(Iterable<T> base, long seed,
            BiFunction<? super T, ? super RandomGenerator, ? extends R> function) {
        return new SeedIterator<>(base, seed, function);
    }

    /** The generator element {@code index} of a pass gets: a new L64X128MixRandom seeded from both values. */
    public static RandomGenerator generator(long seed, long index) {
        return Seeds.generator(Seeds.derive(seed, index));
    }

    public long seed() {
        return seed;
    }

    @Override
    public Iterator<R> iterator() {
        Iterator<T> it = base.iterator();
        return it instanceof ReplayableIterator<T> r ? new Replayable<>(this, r, 0) : new Plain<>(this, it, 0);
    }

    private static class Plain<T, R> implements Iterator<R> {
        final SeedIterator<T, R> owner;
        final Iterator<T> base;
        long index;

        Plain(SeedIterator<T, R> owner, Iterator<T> base, long index) {
            this.owner = owner;
            this.base = base;
            this.index = index;
        }

        @Override
        public boolean hasNext() {
            return base.hasNext();
        }

        @Override
        public R next() {
            T element = base.next();
            return owner.function.apply(element, generator(owner.seed, index++));
        }
    }

    private static final class Replayable<T, R> extends Plain<T, R> implements ReplayableIterator<R> {
        Replayable(SeedIterator<T, R> owner, ReplayableIterator<T> base, long index) {
            super(owner, base, index);
        }

        @Override
        public ReplayableIterator<R> copy() {
            return new Replayable<>(owner, ((ReplayableIterator<T>) base).copy(), index);
        }

        @Override
        public int skip(int n) {
            int skipped = ((ReplayableIterator<T>) base).skip(n);
            index += skipped;
            return skipped;
        }
    }
}
