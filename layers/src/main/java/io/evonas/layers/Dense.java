package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A fully connected layer {@code y = f(x Wᵀ + b)}: input {@code [N, in]}, weight {@code [out, in]}, bias
 * {@code [out]}, output {@code [N, out]}.
 *
 * <pre>{@code
 * Dense d = Dense.of(64, 10, Activation.RELU, rng);   // Glorot-uniform weights, zero bias
 * }</pre>
 */
public final class Dense implements Resizable {
    /** Standard deviation of the weights of inserted output neurons. */
    public static final float NEW_NEURON_STD = 0.01f;

    private final Parameter weight;
    private final Parameter bias;
    private final Activation activation;
    private NeuronUtility utility;

    public Dense(Parameter weight, Parameter bias, Activation activation) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = Objects.requireNonNull(bias, "bias");
        this.activation = Objects.requireNonNull(activation, "activation");
        if (weight.shape().rank() != 2 || !bias.shape().equals(Shape.of(weight.shape().dim(0)))) {
            throw new IllegalArgumentException("dense: weight " + weight.shape() + " must be [out, in] and bias "
                    + bias.shape() + " [out]");
        }
    }

    /** {@code in → out} with Glorot-uniform weights and zero bias. */
    public static Dense of(int in, int out, Activation activation, RandomGenerator rng) {
        return of(in, out, activation, Initialiser.glorotUniform(), rng);
    }

    /** {@code in → out} with weights from {@code init} and zero bias. */
    public static Dense of(int in, int out, Activation activation, Initialiser init, RandomGenerator rng) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("dense: sizes " + in + " -> " + out + " must be positive");
        }
        return new Dense(new Parameter("weight", init.create(Shape.of(out, in), rng)),
                new Parameter("bias", io.evonas.tensor.Tensor.zeros(out)), activation);
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

    /** A copy of this layer with another activation, sharing the parameters. */
    public Dense withActivation(Activation f) {
        Dense d = new Dense(weight, bias, f);
        d.utility = utility;
        return d;
    }

    /** Starts measuring neuron utility every {@code interval} training batches. */
    public Dense trackUtility(int interval) {
        utility = new NeuronUtility(nout(), interval, NeuronUtility.DEFAULT_MOMENTUM);
        return this;
    }

    /** The neuron utility, or null when not tracked. */
    public NeuronUtility utility() {
        return utility;
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        outputShape(x.shape());
        Variable z = Ops.add(Ops.matmul(x, false, pass.bind(weight), true), pass.bind(bias));
        Variable y = activation == Activation.IDENTITY ? z : Ops.activation(z, activation);
        return utility == null ? y : utility.observe(y, pass);
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() != 2 || input.dim(1) != nin()) {
            throw new IllegalArgumentException("dense: input " + input + " must be [N, " + nin() + "]");
        }
        return Shape.of(input.dim(0), nout());
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
        weight.resizeInPlace(0, indices, Fill.normal(NEW_NEURON_STD), rng);
        bias.resizeInPlace(0, indices, Fill.ZEROS, rng);
        if (utility != null) {
            utility.resize(indices);
        }
    }

    @Override
    public void resizeInputs(int[] indices) {
        weight.resizeInPlace(1, indices, Fill.ZEROS, null);
    }

    @Override
    public String toString() {
        return "Dense(" + nin() + " => " + nout() + (activation == Activation.IDENTITY ? "" : ", "
                + activation.name().toLowerCase(java.util.Locale.ROOT)) + ")";
    }
}
