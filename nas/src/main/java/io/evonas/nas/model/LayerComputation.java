package io.evonas.nas.model;

import io.evonas.autodiff.Variable;
import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv1D;
import io.evonas.layers.Conv2D;
import io.evonas.layers.Dense;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Layer;
import io.evonas.layers.LazyResizable;
import io.evonas.layers.NeuronUtility;
import io.evonas.layers.Parameter;
import io.evonas.layers.Resizable;
import io.evonas.nas.graph.SizeKind;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A layer as a graph computation (NaiveNASflux's {@code MutableLayer} inside {@code LazyMutable}). Weighted
 * layers (Dense, Conv) absorb size changes; batch norm, pooling, dropout, flatten and activation layers are
 * size-invariant. Neuron surgery on a {@link Resizable} layer is recorded lazily and composed, so several
 * changes in one generation cost one copy of the weights; it is applied before the next forward pass, copy, or
 * parameter access.
 *
 * <p>A layer without parameters counts as size-invariant, which holds for pooling, dropout, activations and
 * global pooling, and for {@link io.evonas.layers.Flatten} only on 1×1 feature maps (after global pooling); a
 * dense layer reading a flattened {@code C×H×W} map would expect {@code C·H·W} inputs and is refused when the
 * vertex is made. Use global pooling before dense layers, as AutoFlux does.
 *
 * <p>Utility of the output neurons: the layer's measured {@link NeuronUtility} where it tracks one and has
 * measured it; else, as NaiveNASflux does without activation tracking, the L2 norm of each output neuron's
 * weights plus the magnitude of its bias (batch norm: {@code |γ| + |β|}).
 */
public final class LayerComputation implements Differentiable {
    /** Utility of a neuron that is inserted but not yet made, as a share of the mean of the others. */
    private static final double NEW_NEURON_SHARE = 1e-3;

    private final Layer layer;
    private final SizeKind kind;

    /** {@code layer} with the size kind its type implies. */
    public LayerComputation(Layer layer) {
        this(layer, kindOf(layer));
    }

    /** {@code layer} with an explicit size kind (for a user's own layer). */
    public LayerComputation(Layer layer, SizeKind kind) {
        Objects.requireNonNull(layer, "layer");
        this.kind = Objects.requireNonNull(kind, "kind");
        if (kind == SizeKind.IMMUTABLE || kind == SizeKind.STACK) {
            throw new IllegalArgumentException("layer " + layer + ": a layer is absorbing or invariant, not "
                    + kind);
        }
        if (kind == SizeKind.ABSORB && (layer.nin() < 0 || layer.nout() < 0)) {
            throw new IllegalArgumentException("layer " + layer + ": an absorbing layer must report nin and nout");
        }
        this.layer = layer instanceof Resizable r && !(layer instanceof LazyResizable) ? new LazyResizable(r)
                : layer;
    }

    private static SizeKind kindOf(Layer layer) {
        Layer inner = layer instanceof LazyResizable l ? l.layer() : layer;
        if (inner instanceof BatchNorm || inner.nin() < 0 || inner.nout() < 0) {
            return SizeKind.INVARIANT;
        }
        return SizeKind.ABSORB;
    }

    /** The layer, with any pending neuron surgery applied. */
    public Layer layer() {
        return layer instanceof LazyResizable l ? l.layer() : layer;
    }

    /** Whether neuron surgery is recorded but not yet applied. */
    public boolean hasPendingResize() {
        return layer instanceof LazyResizable l && l.hasPending();
    }

    /** Applies any pending neuron surgery now. */
    public void force() {
        if (layer instanceof LazyResizable l) {
            l.force();
        }
    }

    @Override
    public SizeKind kind() {
        return kind;
    }

    @Override
    public int nout() {
        return layer.nout();
    }

    @Override
    public int nin() {
        return layer.nin();
    }

    @Override
    public void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng) {
        if (!(layer instanceof Resizable r)) {
            if (kind == SizeKind.INVARIANT && layer.nout() < 0) {
                return; // no parameters: takes whatever size comes
            }
            throw new UnsupportedOperationException("layer " + layer + " cannot be resized");
        }
        if (kind == SizeKind.ABSORB) {
            if (inputs != null && inputs.length > 0 && inputs[0] != null) {
                r.resizeInputs(inputs[0]);
            }
            if (outputs != null) {
                r.resizeOutputs(outputs, rng);
            }
        } else {
            int[] channels = outputs != null ? outputs : inputs != null && inputs.length > 0 ? inputs[0] : null;
            if (channels != null) {
                r.resizeOutputs(channels, rng);
            }
        }
    }

    @Override
    public double[] utility() {
        // Read the layer as it is and follow the pending surgery, so that asking costs no copy.
        Layer l = layer instanceof LazyResizable lazy ? lazy.peek() : layer;
        int[] pending = layer instanceof LazyResizable lazy ? lazy.pendingOutputs() : null;
        NeuronUtility tracked = trackedUtility(l);
        if (tracked != null && tracked.measured()) {
            // The tracker follows surgery when it is recorded, so it already has the pending size.
            float[] v = tracked.values();
            double[] u = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                u[i] = v[i];
            }
            return u;
        }
        double[] norms = weightNorms(l);
        if (norms == null || pending == null) {
            return norms;
        }
        double mean = 0;
        for (double x : norms) {
            mean += x / norms.length;
        }
        double[] u = new double[pending.length];
        for (int i = 0; i < u.length; i++) {
            u[i] = pending[i] >= 0 ? norms[pending[i]] : NEW_NEURON_SHARE * mean;
        }
        return u;
    }

    /** Per output neuron: the L2 norm of its weights plus the magnitudes of its per-neuron vectors. */
    private static double[] weightNorms(Layer l) {
        List<Parameter> ps = l.parameters();
        if (ps.isEmpty()) {
            return null;
        }
        int n = l.nout();
        double[] u = new double[n];
        for (Parameter p : ps) {
            Tensor t = p.value();
            if (t.rank() == 0 || t.dim(0) != n) {
                continue;
            }
            boolean vector = t.rank() == 1;
            int per = t.size() / n;
            float[] d = t.data();
            int o = t.offset();
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < per; j++) {
                    double x = d[o + i * per + j];
                    s += vector ? Math.abs(x) : x * x;
                }
                u[i] += vector ? s : Math.sqrt(s);
            }
        }
        return u;
    }

    private static NeuronUtility trackedUtility(Layer l) {
        return switch (l) {
            case Dense d -> d.utility();
            case Conv2D c -> c.utility();
            case Conv1D c -> c.utility();
            default -> null;
        };
    }

    @Override
    public LayerComputation copy() {
        return new LayerComputation(layer.copy(), kind);
    }

    @Override
    public long parameterCount() {
        return layer.parameterCount();
    }

    @Override
    public Variable forward(List<Variable> inputs, ForwardPass pass) {
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("layer " + layer + ": takes one input, got " + inputs.size());
        }
        return layer.forward(inputs.getFirst(), pass);
    }

    @Override
    public List<Parameter> parameters() {
        return layer.parameters();
    }

    @Override
    public Shape outputShape(List<Shape> inputs) {
        if (inputs.size() != 1) {
            throw new IllegalArgumentException("layer " + layer + ": takes one input, got " + inputs.size());
        }
        return layer.outputShape(inputs.getFirst());
    }

    @Override
    public String toString() {
        return layer.toString();
    }
}
