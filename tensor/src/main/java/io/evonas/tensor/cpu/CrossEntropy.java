package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * Cross-entropy of softmax probabilities, taken directly from logits {@code [N, C]} (N samples, C classes), with
 * either class indices or target distributions. Per row, with {@code lse = log Σ_c e^(x_c)} computed stably as
 * {@code m + log Σ_c e^(x_c - m)}, {@code m = max_c x_c}:
 * <pre>
 * labels:   loss_n = lse_n - x[n, label_n]              dx[n, c] = s · (softmax(x_n)_c - [c == label_n])
 * targets:  loss_n = Σ_c t[n, c] (lse_n - x[n, c])       dx[n, c] = s · (softmax(x_n)_c Σ_j t[n, j] - t[n, c])
 * loss = Σ_n loss_n / N   (MEAN, the default; NaN when N = 0)     s = dLoss / N
 * loss = Σ_n loss_n       (SUM)                                    s = dLoss
 * </pre>
 * For targets that are probabilities (rows summing to 1) the gradient is the familiar {@code softmax - t}.
 * Terms with {@code t[n, c] == 0} are skipped, so a class whose logit is -Inf costs nothing when its target is 0.
 * Logits of magnitude 1e4 and beyond are fine (every exponent is ≤ 0; the sums run in double). A NaN logit makes
 * the loss NaN (and its row of the gradient NaN): it is reported, never hidden.
 *
 * <pre>{@code
 * float loss = CrossEntropy.forward(logits, labels);       // logits [N, C], labels int[N] in [0, C)
 * Tensor dLogits = CrossEntropy.backward(logits, labels);  // [N, C]
 * }</pre>
 */
public final class CrossEntropy {
    /** How per-sample losses combine. */
    public enum Reduction {
        /** The mean over the batch. */
        MEAN,
        /** The sum over the batch. */
        SUM
    }

    private CrossEntropy() {
    }

    /** The mean cross-entropy of {@code logits} {@code [N, C]} against class indices {@code labels} (length N). */
    public static float forward(Tensor logits, int[] labels) {
        return forward(logits, labels, Reduction.MEAN);
    }

    /** The cross-entropy against class indices, reduced as asked. */
    public static float forward(Tensor logits, int[] labels, Reduction reduction) {
        checkLabels("crossEntropy", logits, labels);
        return reduce(rowLosses(logits, labels, null), reduction);
    }

    /** The mean cross-entropy against target distributions {@code targets} {@code [N, C]}. */
    public static float forward(Tensor logits, Tensor targets) {
        return forward(logits, targets, Reduction.MEAN);
    }

    /** The cross-entropy against target distributions, reduced as asked. */
    public static float forward(Tensor logits, Tensor targets, Reduction reduction) {
        checkTargets("crossEntropy", logits, targets);
        return reduce(rowLosses(logits, null, targets), reduction);
    }

    /** The gradient of the mean loss with respect to the logits, {@code (softmax - onehot) / N}. */
    public static Tensor backward(Tensor logits, int[] labels) {
        Objects.requireNonNull(logits, "logits");
        return backward(logits, labels, Reduction.MEAN, 1f, Tensor.zeros(logits.shape()));
    }

    /**
     * {@code dLogits = dLoss · d(loss)/d(logits)} for the given reduction; {@code dLogits} ({@code [N, C]}, may be
     * {@code logits} itself) is overwritten. Returns {@code dLogits}.
     */
    public static Tensor backward(Tensor logits, int[] labels, Reduction reduction, float dLoss, Tensor dLogits) {
        checkLabels("crossEntropyBackward", logits, labels);
        return gradient(logits, labels, null, reduction, dLoss, dLogits);
    }

    /** The gradient of the mean loss against target distributions: {@code (softmax · Σt - t) / N}. */
    public static Tensor backward(Tensor logits, Tensor targets) {
        Objects.requireNonNull(logits, "logits");
        return backward(logits, targets, Reduction.MEAN, 1f, Tensor.zeros(logits.shape()));
    }

    /** As {@link #backward(Tensor, int[], Reduction, float, Tensor)} with target distributions. */
    public static Tensor backward(Tensor logits, Tensor targets, Reduction reduction, float dLoss,
                                  Tensor dLogits) {
        checkTargets("crossEntropyBackward", logits, targets);
        return gradient(logits, null, targets, reduction, dLoss, dLogits);
    }

    // ---------------------------------------------------------------- checks

    private static void checkLogits(String op, Tensor logits) {
        Objects.requireNonNull(logits, "logits");
        if (logits.rank() != 2) {
            throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be [N, C]");
        }
        if (logits.dim(1) == 0 && logits.dim(0) > 0) {
            throw new IllegalArgumentException(op + ": logits " + logits.shape() + " have no classes");
        }
    }

    private static void checkLabels(String op, Tensor logits, int[] labels) {
        checkLogits(op, logits);
        Objects.requireNonNull(labels, "labels");
        int n = logits.dim(0);
        int c = logits.dim(1);
        if (labels.length != n) {
            throw new IllegalArgumentException(op + ": " + labels.length + " labels for logits " + logits.shape()
                    + " (" + n + " rows)");
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= c) {
                throw new IllegalArgumentException(op + ": label " + labels[i] + " at row " + i
                        + " is out of range [0, " + c + ")");
            }
        }
    }

    private static void checkTargets(String op, Tensor logits, Tensor targets) {
        checkLogits(op, logits);
        Objects.requireNonNull(targets, "targets");
        if (!targets.shape().equals(logits.shape())) {
            throw new IllegalArgumentException(op + ": targets " + targets.shape() + " must have the shape of logits "
                    + logits.shape());
        }
    }

    // ---------------------------------------------------------------- kernels

    private static float reduce(double[] losses, Reduction reduction) {
        Objects.requireNonNull(reduction, "reduction");
        double s = 0;
        for (double l : losses) {
            s += l;
        }
        return (float) (reduction == Reduction.MEAN ? s / losses.length : s);
    }

    /** Per-row losses, in double; rows split over threads for big inputs (each row's value is the same). */
    private static double[] rowLosses(Tensor logits, int[] labels, Tensor targets) {
        int n = logits.dim(0);
        int c = logits.dim(1);
        float[] x = logits.data();
        int xo = logits.offset();
        float[] t = targets == null ? null : targets.data();
        int to = targets == null ? 0 : targets.offset();
        double[] losses = new double[n];
        forRows(n, c, (from, end) -> {
            for (int r = from; r < end; r++) {
                int b = xo + r * c;
                double lse = logSumExp(x, b, c);
                if (labels != null) {
                    losses[r] = lse - x[b + labels[r]];
                } else {
                    double l = 0;
                    for (int k = 0; k < c; k++) {
                        float w = t[to + r * c + k];
                        if (w != 0) {
                            l += w * (lse - x[b + k]);
                        }
                    }
                    losses[r] = Double.isNaN(lse) ? Double.NaN : l;
                }
            }
        });
        return losses;
    }

    private static Tensor gradient(Tensor logits, int[] labels, Tensor targets, Reduction reduction, float dLoss,
                                   Tensor dLogits) {
        Objects.requireNonNull(reduction, "reduction");
        Objects.requireNonNull(dLogits, "dLogits");
        String op = "crossEntropyBackward";
        if (!dLogits.shape().equals(logits.shape())) {
            throw new IllegalArgumentException(op + ": dLogits " + dLogits.shape() + " must have the shape of logits "
                    + logits.shape());
        }
        Elementwise.checkAlias(op, "dLogits", dLogits, "logits", logits);
        if (targets != null) {
            Elementwise.checkAlias(op, "dLogits", dLogits, "targets", targets);
        }
        int n = logits.dim(0);
        int c = logits.dim(1);
        double scale = reduction == Reduction.MEAN ? (double) dLoss / n : dLoss;
        float[] x = logits.data();
        float[] d = dLogits.data();
        int xo = logits.offset();
        int dOff = dLogits.offset();
        float[] t = targets == null ? null : targets.data();
        int to = targets == null ? 0 : targets.offset();
        forRows(n, c, (from, end) -> {
            for (int r = from; r < end; r++) {
                int b = xo + r * c;
                int db = dOff + r * c;
                double lse = logSumExp(x, b, c);
                double mass = 1;
                if (t != null) {
                    mass = 0;
                    for (int k = 0; k < c; k++) {
                        mass += t[to + r * c + k];
                    }
                }
                // read every target of the row before writing: dLogits may alias targets exactly
                for (int k = 0; k < c; k++) {
                    double p = Math.exp(x[b + k] - lse);
                    double target = t != null ? t[to + r * c + k] : (k == labels[r] ? 1 : 0);
                    d[db + k] = (float) (scale * (p * mass - target));
                }
            }
        });
        return dLogits;
    }

    /** {@code log Σ_k e^(x_k)} over a row of {@code c}, as {@code m + log Σ e^(x_k - m)}; NaN if any is NaN. */
    static double logSumExp(float[] x, int b, int c) {
        float m = x[b];
        for (int k = 1; k < c; k++) {
            float v = x[b + k];
            m = v > m ? v : m;
        }
        double s = 0;
        for (int k = 0; k < c; k++) {
            s += Math.exp((double) x[b + k] - m);
        }
        return m + Math.log(s);
    }

    private static void forRows(int n, int c, Parallel.RangeTask task) {
        if ((long) n * c < 2L * Elementwise.GRAIN) {
            task.run(0, n);
        } else {
            Parallel.forRange(n, Math.max(1, Elementwise.GRAIN / Math.max(1, c)), task);
        }
    }
}
