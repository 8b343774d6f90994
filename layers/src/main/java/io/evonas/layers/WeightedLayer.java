package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * What Dense, Conv1D and Conv2D share: a weight {@code [out, in, ...]} and a bias {@code [out]}, an activation
 * after them, optional neuron-utility tracking on the output, and neuron surgery along the weight's first two axes.
 */
abstract class WeightedLayer implements Resizable {
    /** Standard deviation of the weights of inserted output neurons. */
    static final float NEW_NEURON_STD = 0.01f;

    final Parameter weight;
    final Parameter bias;
    Activation activation;
    NeuronUtility utility;

    WeightedLayer(Parameter weight, Parameter bias, Activation activation) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = Objects.requireNonNull(bias, "bias");
        this.activation = Objects.requireNonNull(activation, "activation");
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    public Activation activation() {
        return activation;
    }

    /**
     * Replaces the activation, keeping the parameters, their gradients and optimiser state and the neuron
     * utility: the layer computes {@code a(x Wᵀ + b)} (or {@code a(conv(x, W) + b)}) from now on. Between
     * training steps only.
     */
    public void changeActivationInPlace(Activation a) {
        activation = Objects.requireNonNull(a, "a");
    }

    /** The neuron utility, or null when not tracked. */
    public NeuronUtility utility() {
        return utility;
    }

    /** Starts measuring neuron utility every {@code interval} training batches. */
    void startTracking(int interval) {
        utility = new NeuronUtility(nout(), interval, NeuronUtility.DEFAULT_MOMENTUM);
    }

    /** The activation, then the utility hook, applied to the pre-activation {@code z}. */
    final Variable activateAndObserve(Variable z, ForwardPass pass) {
        Variable y = activation == Activation.IDENTITY ? z : Ops.activation(z, activation);
        return utility == null ? y : utility.observe(y, pass);
    }

    @Override
    public int nin() {
        return weight.shape().dim(1);
    }

    @Override
    public int nout() {
        return weight.shape().dim(0);
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(weight, bias);
    }

    @Override
    public void resizeOutputs(int[] indices, RandomGenerator rng) {
        resizeOutputParameters(indices, rng);
        if (utility != null) {
            utility.resize(indices);
        }
    }

    /**
     * The output surgery on the weight and the bias only, not the utility: {@link LazyResizable} resizes the
     * utility when it records a change and the parameters when it forces them.
     */
    void resizeOutputParameters(int[] indices, RandomGenerator rng) {
        weight.resizeInPlace(0, indices, Fill.normal(NEW_NEURON_STD), rng);
        bias.resizeInPlace(0, indices, Fill.ZEROS, rng);
    }

    /** Gives {@code copy} a copy of this layer's utility, if tracked; returns {@code copy}. */
    final <T extends WeightedLayer> T copyUtilityTo(T copy) {
        copy.utility = utility == null ? null : utility.copy();
        return copy;
    }

    @Override
    public void resizeInputs(int[] indices) {
        weight.resizeInPlace(1, indices, Fill.ZEROS, null);
    }

    /** {@code ", relu"} or empty for the identity, for {@code toString}. */
    final String activationSuffix() {
        return activation == Activation.IDENTITY ? "" : ", " + activation.name().toLowerCase(java.util.Locale.ROOT);
    }
}
