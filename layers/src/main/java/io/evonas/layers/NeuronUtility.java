package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Tensor;
import java.util.Arrays;

/**
 * Per output neuron, an exponentially weighted average of {@code mean |activation × gradient|} over the batch
 * and spatial positions: the first-order Taylor estimate of how much the loss would change if the neuron were
 * removed. Measured on one training batch in {@code interval}, so it costs little. The size solver keeps the
 * neurons with the highest utility.
 */
public final class NeuronUtility {
    /** Weight of a new measurement in the running average. */
    public static final float DEFAULT_MOMENTUM = 0.05f;

    private final int interval;
    private final float momentum;
    private float[] values;
    private boolean measured;
    private long batches;

    public NeuronUtility(int neurons, int interval, float momentum) {
        if (neurons < 0 || interval < 1 || !(momentum > 0 && momentum <= 1)) {
            throw new IllegalArgumentException("neuron utility: neurons " + neurons + ", interval " + interval
                    + " and momentum " + momentum + " must be >= 0, >= 1 and in (0, 1]");
        }
        this.interval = interval;
        this.momentum = momentum;
        this.values = new float[neurons];
    }

    /**
     * A deep copy: the same interval and momentum, a copy of the values, and the same measured flag and batch
     * counter, so the copy measures on the same batches as the original would.
     */
    public NeuronUtility copy() {
        NeuronUtility u = new NeuronUtility(0, interval, momentum);
        u.values = values.clone();
        u.measured = measured;
        u.batches = batches;
        return u;
    }

    /** Measured every batch with the default momentum. */
    public static NeuronUtility everyBatch(int neurons) {
        return new NeuronUtility(neurons, 1, DEFAULT_MOMENTUM);
    }

    /** The current utility of each neuron (a copy); zeros before the first measurement. */
    public float[] values() {
        return values.clone();
    }

    /** Whether any batch has been measured. */
    public boolean measured() {
        return measured;
    }

    /**
     * Wraps a layer's output {@code y} ({@code [N, C, ...]}) so that backward measures it, on one training batch
     * in {@code interval}; otherwise returns {@code y}.
     */
    public Variable observe(Variable y, ForwardPass pass) {
        if (!pass.training() || !y.needsGradient() || batches++ % interval != 0) {
            return y;
        }
        return Ops.hook(y, this::update);
    }

    /** Folds one measurement of activations {@code a} and their gradients {@code g} into the average. */
    void update(Tensor a, Tensor g) {
        int c = a.dim(1);
        if (c != values.length) {
            throw new IllegalStateException("neuron utility tracks " + values.length + " neurons, output has " + c);
        }
        int n = a.dim(0);
        int inner = a.shape().sizeOf(2, a.rank());
        // measured on the host: tensors on another device are copied there (one batch in interval)
        float[] ad = a.device().isCpu() ? a.data() : a.toArray();
        float[] gd = g.device().isCpu() ? g.data() : g.toArray();
        int ao = a.device().isCpu() ? a.offset() : 0;
        int go = g.device().isCpu() ? g.offset() : 0;
        double[] sums = new double[c];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                int base = (i * c + ch) * inner;
                double s = 0;
                for (int j = 0; j < inner; j++) {
                    s += Math.abs(ad[ao + base + j] * gd[go + base + j]);
                }
                sums[ch] += s;
            }
        }
        double count = (double) n * inner;
        for (int ch = 0; ch < c; ch++) {
            float v = (float) (sums[ch] / count);
            values[ch] = measured ? (1 - momentum) * values[ch] + momentum * v : v;
        }
        measured = true;
    }

    /**
     * Follows a resize of the neurons: kept neurons keep their utility, new ones ({@code -1}) get the mean of the
     * kept ones, so they are neither pruned first nor protected.
     */
    public void resize(int[] indices) {
        for (int idx : indices) {
            if (idx < -1 || idx >= values.length) {
                throw new IllegalArgumentException("neuron utility: index " + idx + " is outside [-1, "
                        + values.length + ")");
            }
        }
        double mean = 0;
        int kept = 0;
        for (int idx : indices) {
            if (idx >= 0) {
                mean += values[idx];
                kept++;
            }
        }
        float fill = kept == 0 ? 0f : (float) (mean / kept);
        float[] next = new float[indices.length];
        for (int i = 0; i < indices.length; i++) {
            next[i] = indices[i] >= 0 ? values[indices[i]] : fill;
        }
        values = next;
    }

    @Override
    public String toString() {
        return "NeuronUtility" + Arrays.toString(values);
    }
}
