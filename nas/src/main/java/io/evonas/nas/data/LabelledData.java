package io.evonas.nas.data;

import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * Features and class labels of a classification data set: {@code features} is {@code [N, ...]} (images NCHW),
 * {@code labels[i]} in {@code [0, classes)} is the class of sample {@code i}.
 */
public record LabelledData(Tensor features, int[] labels, int classes) {
    public LabelledData {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        if (features.rank() < 1 || features.dim(0) != labels.length) {
            throw new IllegalArgumentException("labelled data: features " + features.shape() + " and "
                    + labels.length + " labels disagree on the number of samples");
        }
        if (classes < 1) {
            throw new IllegalArgumentException("labelled data: class count " + classes + " must be positive");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("labelled data: label " + labels[i] + " of sample " + i
                        + " is outside [0, " + classes + ")");
            }
        }
    }

    /** Number of samples. */
    public int size() {
        return labels.length;
    }

    /** The samples with the given indices, copied, in that order. */
    public LabelledData select(int[] indices) {
        int n = indices.length;
        int row = features.shape().stride(0);
        int[] dims = features.shape().dims();
        dims[0] = n;
        Tensor out = Tensor.zeros(dims);
        int[] outLabels = new int[n];
        float[] src = features.data();
        float[] dst = out.data();
        for (int i = 0; i < n; i++) {
            int j = indices[i];
            if (j < 0 || j >= size()) {
                throw new IndexOutOfBoundsException("select: sample " + j + " of " + size());
            }
            System.arraycopy(src, features.offset() + j * row, dst, i * row, row);
            outLabels[i] = labels[j];
        }
        return new LabelledData(out, outLabels, classes);
    }

    /** Samples per class. */
    public int[] classCounts() {
        int[] counts = new int[classes];
        for (int l : labels) {
            counts[l]++;
        }
        return counts;
    }
}
