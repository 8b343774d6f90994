package io.evonas.layers;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Neuron surgery deferred until the layer is next used (NaiveNASflux's {@code LazyMutable}): {@link #resizeOutputs}
 * and {@link #resizeInputs} only record index lists, each composed with the ones recorded before, so several
 * changes in one evolution step cost one copy of the weights. {@link #nin()} and {@link #nout()} report the sizes
 * after the pending changes; {@link #force()} applies them to the wrapped layer. {@link #forward},
 * {@link #parameters}, {@link #parameterCount}, {@link #outputShape}, {@link #copy} and {@link #layer} force
 * first.
 *
 * <p>Composition: with pending list {@code p} (new position to old neuron, {@code -1} = new) and a later list
 * {@code l} that indexes the positions of {@code p}'s result,
 * <pre>
 *   composed[i] = l[i] == -1 ? -1 : p[l[i]]
 * </pre>
 * so a position that {@code p} inserted stays new where {@code l} keeps it, and vanishes where {@code l} drops it.
 * Every list is checked against the size it applies to when it is recorded: an invalid one throws and is not
 * recorded.
 *
 * <p>Forcing resizes the inputs first (new input slices zero), then the outputs with the generator passed to the
 * last {@link #resizeOutputs}; so the weights of a new output neuron from a new input are random, as in
 * NaiveNASflux. <b>New output neurons are drawn at force time</b>, from that generator in its state then, in the
 * order of the composed list. When every inserted neuron survives, in the order of insertion, and the inputs are
 * unchanged, these are the draws the eager changes would make; otherwise the kept neurons are exactly the eager
 * ones and the new ones come from the same distribution, not the same draws.
 *
 * <p>The neuron utility of {@link Dense}, {@link Conv1D} and {@link Conv2D} follows each recorded output change at
 * once (it is a few floats per layer), so it equals the eager result exactly, and the size solver reads utilities
 * of the pending size. For a layer whose {@linkplain Resizable#inputsAreOutputs inputs are its outputs}
 * (BatchNorm), input and output changes compose into one list. Use the wrapped layer only through this wrapper
 * (or {@link #layer}) while changes are pending.
 *
 * <pre>{@code
 * LazyResizable lazy = new LazyResizable(Dense.of(8, 4, Activation.RELU, rng));
 * lazy.resizeOutputs(new int[] {0, 1, -1, 2, 3}, rng);   // nout() == 5, no copy yet
 * lazy.resizeOutputs(new int[] {4, 3, 1, 0}, rng);       // drops the new one (position 2), reverses the rest
 * lazy.force();                                           // one copy: old outputs {3, 2, 1, 0}
 * }</pre>
 */
public final class LazyResizable implements Resizable {
    private final Resizable layer;
    private final boolean tied;
    /** Pending input indices into the wrapped layer's current inputs, or null; unused when {@link #tied}. */
    private int[] pendingInputs;
    /** Pending output indices (for a tied layer, the channel indices), or null. */
    private int[] pendingOutputs;
    /** The generator of the last {@link #resizeOutputs}, or null when none is pending. */
    private RandomGenerator outputRng;

    /** Wraps {@code layer}, with no pending change. */
    public LazyResizable(Resizable layer) {
        this.layer = Objects.requireNonNull(layer, "layer");
        this.tied = layer.inputsAreOutputs();
    }

    /** The wrapped layer, after applying the pending changes. */
    public Resizable layer() {
        force();
        return layer;
    }

    /**
     * The wrapped layer as it is, without applying the pending changes: its parameters have the sizes from
     * before them. For reading (a utility estimate, say) without paying for the copy.
     */
    public Resizable peek() {
        return layer;
    }

    /**
     * The pending output change as indices into the wrapped layer's current outputs ({@code -1} = new), or null
     * when the outputs have no pending change. A copy.
     */
    public int[] pendingOutputs() {
        return pendingOutputs == null ? null : pendingOutputs.clone();
    }

    /** Whether changes are recorded and not yet applied. */
    public boolean hasPending() {
        return pendingInputs != null || pendingOutputs != null;
    }

    /**
     * Records an output change, composed with the pending ones; new neurons are drawn from {@code rng} when the
     * change is {@linkplain #force forced}, not now.
     *
     * @throws IllegalArgumentException for an index outside {@code [-1, nout())}; nothing is recorded then
     */
    @Override
    public void resizeOutputs(int[] indices, RandomGenerator rng) {
        Objects.requireNonNull(rng, "rng");
        check("output", indices, nout());
        pendingOutputs = compose(pendingOutputs, indices);
        outputRng = rng;
        if (layer instanceof WeightedLayer w && w.utility != null) {
            w.utility.resize(indices);
        }
    }

    /**
     * Records an input change, composed with the pending ones.
     *
     * @throws IllegalArgumentException for an index outside {@code [-1, nin())}; nothing is recorded then
     */
    @Override
    public void resizeInputs(int[] indices) {
        check("input", indices, nin());
        if (tied) {
            pendingOutputs = compose(pendingOutputs, indices);
        } else {
            pendingInputs = compose(pendingInputs, indices);
        }
    }

    /**
     * Applies the pending changes to the wrapped layer, inputs first (new slices zero), then outputs (new neurons
     * drawn now from the generator of the last {@link #resizeOutputs}), and clears them. Does nothing when none
     * are pending; a pending list that keeps every neuron in place costs nothing.
     */
    public void force() {
        if (pendingInputs != null) {
            int[] in = pendingInputs;
            if (!keepsAll(in, layer.nin())) {
                layer.resizeInputs(in);
            }
            pendingInputs = null;
        }
        if (pendingOutputs != null) {
            int[] out = pendingOutputs;
            if (!keepsAll(out, layer.nout())) {
                applyOutputs(out);
            }
            pendingOutputs = null;
            outputRng = null;
        }
    }

    private void applyOutputs(int[] out) {
        if (tied && outputRng == null) {
            layer.resizeInputs(out);
        } else if (layer instanceof WeightedLayer w) {
            w.resizeOutputParameters(out, outputRng);
        } else {
            layer.resizeOutputs(out, outputRng);
        }
    }

    /** Whether {@code indices} is {@code 0, 1, ..., n-1}. */
    private static boolean keepsAll(int[] indices, int n) {
        if (indices.length != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (indices[i] != i) {
                return false;
            }
        }
        return true;
    }

    private void check(String what, int[] indices, int size) {
        Objects.requireNonNull(indices, "indices");
        for (int i = 0; i < indices.length; i++) {
            int idx = indices[i];
            if (idx < -1 || idx >= size) {
                throw new IllegalArgumentException("lazy resize of " + layer + ": " + what + " index " + idx
                        + " at position " + i + " is outside [-1, " + size + ") (" + what + " size " + size
                        + " after the pending changes)");
            }
        }
    }

    /** {@code later} applied after {@code pending} (null = none): new position to original neuron or -1. */
    static int[] compose(int[] pending, int[] later) {
        if (pending == null) {
            return later.clone();
        }
        int[] c = new int[later.length];
        for (int i = 0; i < later.length; i++) {
            c[i] = later[i] == -1 ? -1 : pending[later[i]];
        }
        return c;
    }

    /** The wrapped layer's. */
    @Override
    public boolean inputsAreOutputs() {
        return tied;
    }

    /** The input size after the pending changes. */
    @Override
    public int nin() {
        if (tied) {
            return nout();
        }
        return pendingInputs != null ? pendingInputs.length : layer.nin();
    }

    /** The output size after the pending changes. */
    @Override
    public int nout() {
        return pendingOutputs != null ? pendingOutputs.length : layer.nout();
    }

    /** Forces, then the wrapped layer's output. */
    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        force();
        return layer.forward(x, pass);
    }

    /** Forces, then the wrapped layer's output shape. */
    @Override
    public Shape outputShape(Shape input) {
        force();
        return layer.outputShape(input);
    }

    /** Forces, then the wrapped layer's parameters. */
    /** Forces, then moves the wrapped layer. */
    @Override
    public void moveToInPlace(Device target) {
        force();
        layer.moveToInPlace(target);
    }

    @Override
    public List<Parameter> parameters() {
        force();
        return layer.parameters();
    }

    /** Forces, then the wrapped layer's parameter count. */
    @Override
    public long parameterCount() {
        force();
        return layer.parameterCount();
    }

    /** Forces, then wraps a deep copy of the wrapped layer, with no pending change. */
    @Override
    public LazyResizable copy() {
        force();
        return new LazyResizable(layer.copy());
    }

    @Override
    public String toString() {
        return "Lazy(" + layer + (hasPending() ? ", pending " + nin() + " => " + nout() : "") + ")";
    }
}
