package io.evonas.nas.data;

import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Small data sets whose samples carry their own index, so tests can read back which samples a batch holds. */
final class Fixtures {
    static final int CLASSES = 3;

    private Fixtures() {
    }

    /** {@code n} samples: features {@code [n, 2]} with row {@code i = (i, -i)}, label {@code i % 3}. */
    static LabelledData data(int n) {
        float[] f = new float[2 * n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            f[2 * i] = i;
            f[2 * i + 1] = -i;
            labels[i] = i % CLASSES;
        }
        return new LabelledData(Tensor.wrap(f, n, 2), labels, CLASSES);
    }

    /** {@code n} regression samples: features as {@link #data}, targets {@code [n, 1]} with value {@code 10 i}. */
    static Batch regression(int n) {
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            t[i] = 10 * i;
        }
        return Batch.ofTargets(data(n).features(), Tensor.wrap(t, n, 1));
    }

    /** The sample indices in a batch, checking that features, labels and targets all belong to them. */
    static List<Integer> ids(Batch b) {
        List<Integer> ids = new ArrayList<>();
        for (int r = 0; r < b.size(); r++) {
            int id = (int) b.features().get(r, 0);
            if (b.features().get(r, 1) != -id) {
                throw new AssertionError("row " + r + " of " + b + " is torn: " + b.features().get(r, 1));
            }
            if (b.hasLabels() && b.labels()[r] != id % CLASSES) {
                throw new AssertionError("row " + r + " (sample " + id + ") has label " + b.labels()[r]);
            }
            if (b.hasTargets() && b.targets().get(r, 0) != 10 * id) {
                throw new AssertionError("row " + r + " (sample " + id + ") has target " + b.targets().get(r, 0));
            }
            ids.add(id);
        }
        return ids;
    }

    /** Sample indices of each batch of one pass. */
    static List<List<Integer>> batchIds(Iterable<Batch> batches) {
        List<List<Integer>> out = new ArrayList<>();
        for (Batch b : batches) {
            out.add(ids(b));
        }
        return out;
    }

    /** Sample indices of one pass, batches run together. */
    static List<Integer> flatIds(Iterable<Batch> batches) {
        List<Integer> out = new ArrayList<>();
        for (Batch b : batches) {
            out.addAll(ids(b));
        }
        return out;
    }

    /** The elements of one pass. */
    static <T> List<T> list(Iterable<T> it) {
        List<T> out = new ArrayList<>();
        it.forEach(out::add);
        return out;
    }

    /** The iterator as a replayable one, failing the test if it is not. */
    static <T> ReplayableIterator<T> replayable(Iterator<T> it) {
        if (it instanceof ReplayableIterator<T> r) {
            return r;
        }
        throw new AssertionError(it.getClass().getName() + " is not replayable");
    }

    /** {@code 0..n-1}. */
    static List<Integer> range(int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }

    /** An iterable that counts its passes and whose iterators are plain (not replayable). */
    static final class Counting<T> implements Iterable<T> {
        private final Iterable<T> base;
        int passes;

        Counting(Iterable<T> base) {
            this.base = base;
        }

        @Override
        public Iterator<T> iterator() {
            passes++;
            Iterator<T> it = base.iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public T next() {
                    return it.next();
                }
            };
        }
    }
}
