package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * A training loss of a model's output {@code [N, C]}, against class indices or against a target tensor of the
 * output's shape. Every loss is a mean over the batch.
 */
public interface Loss {
    /** The loss against class indices ({@code labels[i]} in {@code [0, C)}). */
    Variable ofLabels(Variable output, int[] labels);

    /** The loss against targets of the output's shape. */
    Variable ofTargets(Variable output, Tensor targets);

    /** Softmax cross-entropy of logits; targets are class distributions (one-hot or soft). */
    static Loss crossEntropy() {
        return new Loss() {
            @Override
            public Variable ofLabels(Variable output, int[] labels) {
                return Ops.crossEntropy(output, labels);
            }

            @Override
            public Variable ofTargets(Variable output, Tensor targets) {
                return Ops.crossEntropy(output, targets);
            }

            @Override
            public String toString() {
                return "crossentropy";
            }
        };
    }

    /** Mean squared error; labels become one-hot targets. */
    static Loss mse() {
        return new Loss() {
            @Override
            public Variable ofLabels(Variable output, int[] labels) {
                return ofTargets(output, oneHot(labels, output.shape().dim(1)));
            }

            @Override
            public Variable ofTargets(Variable output, Tensor targets) {
                return Ops.mse(output, output.tape().constant(targets));
            }

            @Override
            public String toString() {
                return "mse";
            }
        };
    }

    /** Binary cross-entropy of logits against targets in [0, 1]; labels become one-hot targets. */
    static Loss binaryCrossEntropy() {
        return new Loss() {
            @Override
            public Variable ofLabels(Variable output, int[] labels) {
                return ofTargets(output, oneHot(labels, output.shape().dim(1)));
            }

            @Override
            public Variable ofTargets(Variable output, Tensor targets) {
                return Ops.binaryCrossEntropyWithLogits(output, output.tape().constant(targets));
            }

            @Override
            public String toString() {
                return "binarycrossentropy";
            }
        };
    }

    /** {@code [N, classes]} with a 1 at each label. */
    static Tensor oneHot(int[] labels, int classes) {
        Objects.requireNonNull(labels, "labels");
        Tensor t = Tensor.zeros(labels.length, classes);
        float[] d = t.data();
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("oneHot: label " + labels[i] + " at row " + i
                        + " is out of range [0, " + classes + ")");
            }
            d[i * classes + labels[i]] = 1f;
        }
        return t;
    }
}
