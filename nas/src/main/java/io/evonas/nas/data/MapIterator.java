package io.evonas.nas.data;

import java.util.Iterator;
import java.util.Objects;
import java.util.function.Function;

/**
 * The elements of a base iterable with a function applied to each, lazily, on every pass:
 * {@code MapIterator.of(batches, b -> b.withFeatures(normalise(b.features())))}.
 *
 * <p>Its iterator is replayable when the base's is; a replay calls the function again, so the function must be
 * pure. For random augmentation use a {@link SeedIterator}, which hands the function a generator determined by
 * the element's position.
 */
public final class MapIterator<T, R> implements Iterable<R> {
    private final Iterable<T> base;
    private final Function<? super T, ? extends R> function;

    private MapIterator(Iterable<T> base, Function<? super T, ? extends R> function) {
        this.base = Objects.requireNonNull(base, "base");
        this.function = Objects.requireNonNull(function, "function");
    }

    /** {@code function} applied to each element of {@code base}. */
    public static <T, R> MapIterator<T, R> of(Iterable<T> base, Function<? super T, ? extends R> function) {
        return new MapIterator<>(base, function);
    }

    @Override
    public Iterator<R> iterator() {
        Iterator<T> it = base.iterator();
        return it instanceof ReplayableIterator<T> r ? new Replayable<>(r, function) : new Plain<>(it, function);
    }

    private static class Plain<T, R> implements Iterator<R> {
        final Iterator<T> base;
        final Function<? super T, ? extends R> function;

        Plain(Iterator<T> base, Function<? super T, ? extends R> function) {
            this.base = base;
            this.function = function;
        }

        @Override
        public boolean hasNext() {
            return base.hasNext();
        }

        @Override
        public R next() {
            return function.apply(base.next());
        }
    }

    private static final class Replayable<T, R> extends Plain<T, R> implements ReplayableIterator<R> {
        Replayable(ReplayableIterator<T> base, Function<? super T, ? extends R> function) {
            super(base, function);
        }

        @Override
        public ReplayableIterator<R> copy() {
            return new Replayable<>(((ReplayableIterator<T>) base).copy(), function);
        }

        @Override
        public int skip(int n) {
            return ((ReplayableIterator<T>) base).skip(n);
        }
    }
}
