package io.evonas.nas.data;

import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A mini-batch: {@code features} {@code [B, ...]} (images NCHW) with, for classification, {@code labels[i]} the
 * class of sample {@code i}, and/or, for regression, {@code targets} {@code [B, ...]}. Either may be absent (a
 * batch of features alone serves inference); the accessor of an absent one throws, so ask
 * {@link #hasLabels()} / {@link #hasTargets()} where it may be missing.
 *
 * <pre>{@code
 * Batch b = Batch.of(Tensor.zeros(4, 1, 28, 28), new int[] {3, 1, 4, 1});
 * Batch first = b.slice(0, 2);          // [2, 1, 28, 28], a view of b's features
 * Batch picked = b.select(3, 0);        // [2, 1, 28, 28], copied; labels {1, 3}
 * }</pre>
 *
 * Arrays and tensors are shared, not copied: a batch does not change them and expects its user not to either.
 * Equality is that of records: the same tensor and array objects.
 */
public record Batch(Tensor features, int[] labels, Tensor targets) {
    /** Checks that the parts agree on the number of samples; {@code labels} or {@code targets} may be null. */
    public Batch {
        Objects.requireNonNull(features, "features");
        if (features.rank() < 1) {
            throw new IllegalArgumentException("batch: features " + features.shape() + " have no sample axis");
        }
        int n = features.dim(0);
        if (labels != null && labels.length != n) {
            throw new IllegalArgumentException("batch: features " + features.shape() + " and " + labels.length
                    + " labels disagree on the number of samples");
        }
        if (targets != null && (targets.rank() < 1 || targets.dim(0) != n)) {
            throw new IllegalArgumentException("batch: features " + features.shape() + " and targets "
                    + targets.shape() + " disagree on the number of samples");
        }
    }

    /** A classification batch. */
    public static Batch of(Tensor features, int[] labels) {
        return new Batch(features, Objects.requireNonNull(labels, "labels"), null);
    }

    /** A regression batch: {@code targets} {@code [B, ...]}. */
    public static Batch ofTargets(Tensor features, Tensor targets) {
        return new Batch(features, null, Objects.requireNonNull(targets, "targets"));
    }

    /** A batch of features alone. */
    public static Batch ofFeatures(Tensor features) {
        return new Batch(features, null, null);
    }

    /** The whole data set as one batch, sharing its tensor and label array. */
    public static Batch of(LabelledData data) {
        Objects.requireNonNull(data, "data");
        return of(data.features(), data.labels());
    }

    /**
     * This batch with its features and targets on {@code device} (the same batch when they are there already);
     * class labels stay on the host, where the losses take them. Map an iterator with it to feed a model on a GPU:
     * {@code MapIterator.of(batches, b -> b.to(gpu))}.
     */
    public Batch to(Device device) {
        Objects.requireNonNull(device, "device");
        Tensor f = features.to(device);
        Tensor t = targets == null ? null : targets.to(device);
        return f == features && t == targets ? this : new Batch(f, labels, t);
    }

    /** Number of samples {@code B}. */
    public int size() {
        return features.dim(0);
    }

    public boolean hasLabels() {
        return labels != null;
    }

    public boolean hasTargets() {
        return targets != null;
    }

    /**
     * The class labels, shared.
     *
     * @throws IllegalStateException if this batch has none
     */
    @Override
    public int[] labels() {
        if (labels == null) {
            throw new IllegalStateException("batch of " + size() + " samples has no labels"
                    + (targets != null ? " (it holds regression targets " + targets.shape() + ")" : ""));
        }
        return labels;
    }

    /**
     * The regression targets {@code [B, ...]}.
     *
     * @throws IllegalStateException if this batch has none
     */
    @Override
    public Tensor targets() {
        if (targets == null) {
            throw new IllegalStateException("batch of " + size() + " samples has no regression targets"
                    + (labels != null ? " (it holds class labels)" : ""));
        }
        return targets;
    }

    /** This batch with other features of the same sample count (an augmentation, say). */
    public Batch withFeatures(Tensor newFeatures) {
        Objects.requireNonNull(newFeatures, "newFeatures");
        if (newFeatures.rank() < 1 || newFeatures.dim(0) != size()) {
            throw new IllegalArgumentException("batch: new features " + newFeatures.shape() + " must keep "
                    + size() + " samples");
        }
        return new Batch(newFeatures, labels, targets);
    }

    /** Samples {@code [from, to)}: features and targets are views, labels a copy of the range. */
    public Batch slice(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IllegalArgumentException("batch slice: [" + from + ", " + to + ") is out of range for "
                    + size() + " samples");
        }
        if (from == 0 && to == size()) {
            return this;
        }
        return new Batch(features.slice(from, to), labels == null ? null : Arrays.copyOfRange(labels, from, to),
                targets == null ? null : targets.slice(from, to));
    }

    /** The samples with the given indices, in that order, copied into new tensors. */
    public Batch select(int... indices) {
        Objects.requireNonNull(indices, "indices");
        int n = size();
        for (int j : indices) {
            if (j < 0 || j >= n) {
                throw new IndexOutOfBoundsException("batch select: sample " + j + " of " + n);
            }
        }
        int[] outLabels = null;
        if (labels != null) {
            outLabels = new int[indices.length];
            for (int i = 0; i < indices.length; i++) {
                outLabels[i] = labels[indices[i]];
            }
        }
        return new Batch(gather(features, indices), outLabels, targets == null ? null : gather(targets, indices));
    }

    /**
     * The batches one after another: sample counts add up, trailing shapes and the presence of labels and
     * targets must agree. One batch is returned as it is; otherwise the tensors are copied.
     */
    public static Batch concat(List<Batch> batches) {
        Objects.requireNonNull(batches, "batches");
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("batch concat: no batches");
        }
        Batch first = Objects.requireNonNull(batches.get(0), "batches[0]");
        if (batches.size() == 1) {
            return first;
        }
        int total = 0;
        for (int i = 0; i < batches.size(); i++) {
            Batch b = Objects.requireNonNull(batches.get(i), "batches[" + i + "]");
            if (!sameTrailing(b.features, first.features) || b.hasLabels() != first.hasLabels()
                    || b.hasTargets() != first.hasTargets()
                    || (b.hasTargets() && !sameTrailing(b.targets, first.targets))) {
                throw new IllegalArgumentException("batch concat: batch " + i + " (" + b
                        + ") does not match batch 0 (" + first + ")");
            }
            total += b.size();
        }
        int[] outLabels = first.hasLabels() ? new int[total] : null;
        Tensor outFeatures = Tensor.zeros(first.features.shape().withDim(0, total), first.features.device());
        Tensor outTargets = first.hasTargets()
                ? Tensor.zeros(first.targets.shape().withDim(0, total), first.targets.device())
                : null;
        int at = 0;
        for (Batch b : batches) {
            int next = at + b.size();
            outFeatures.slice(at, next).copyFrom(b.features);
            if (outLabels != null) {
                System.arraycopy(b.labels, 0, outLabels, at, b.size());
            }
            if (outTargets != null) {
                outTargets.slice(at, next).copyFrom(b.targets);
            }
            at = next;
        }
        return new Batch(outFeatures, outLabels, outTargets);
    }

    /** {@code Batch[3 samples, features [3, 2], labels]}. */
    @Override
    public String toString() {
        return "Batch[" + size() + " samples, features " + features.shape()
                + (labels != null ? ", labels" : "")
                + (targets != null ? ", targets " + targets.shape() : "") + "]";
    }

    private static boolean sameTrailing(Tensor a, Tensor b) {
        Shape sa = a.shape();
        Shape sb = b.shape();
        if (sa.rank() != sb.rank()) {
            return false;
        }
        for (int d = 1; d < sa.rank(); d++) {
            if (sa.dim(d) != sb.dim(d)) {
                return false;
            }
        }
        return true;
    }

    private static Tensor gather(Tensor src, int[] indices) {
        Tensor out = Tensor.zeros(src.shape().withDim(0, indices.length), src.device());
        int row = src.shape().stride(0);
        if (src.device().isCpu() && out.device().isCpu()) {
            float[] from = src.data();
            float[] to = out.data();
            int base = src.offset();
            for (int i = 0; i < indices.length; i++) {
                System.arraycopy(from, base + indices[i] * row, to, i * row, row);
            }
        } else {
            for (int i = 0; i < indices.length; i++) {
                out.slice(i, i + 1).copyFrom(src.slice(indices[i], indices[i] + 1));
            }
        }
        return out;
    }
}
