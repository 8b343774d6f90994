package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.Conv1d;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A 1-D convolution layer {@code y = f(conv(x, W) + b)}: input {@code [N, in, L]}, weight {@code [out, in, k]},
 * bias {@code [out]}; the geometry is a 1-D {@link ConvSpec} ({@link ConvSpec#of1d}, {@link ConvSpec#same1d}).
 */
public final class Conv1D implements Resizable {
    private final Parameter weight;
    private final Parameter bias;
    private final ConvSpec spec;
    private final Activation activation;
    private NeuronUtility utility;

    public Conv1D(Parameter weight, Parameter bias, ConvSpec spec, Activation activation) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = Objects.requireNonNull(bias, "bias");
        this.spec = Objects.requireNonNull(spec, "spec");
        this.activation = Objects.requireNonNull(activation, "activation");
        Shape w = weight.shape();
        if (w.rank() != 3 || spec.kh() != 1 || w.dim(2) != spec.kw() || !bias.shape().equals(Shape.of(w.dim(0)))) {
            throw new IllegalArgumentException("conv1d layer: weight " + w + " must be [out, in, " + spec.kw()
                    + "], bias " + bias.shape() + " [out], and the spec one-dimensional");
        }
    }

    /** {@code in → out} channels, Glorot-uniform weights, zero bias. */
    public static Conv1D of(int in, int out, ConvSpec spec, Activation activation, RandomGenerator rng) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("conv1d layer: channels " + in + " -> " + out + " must be positive");
        }
        return new Conv1D(new Parameter("weight", Initialiser.glorotUniform().create(Shape.of(out, in, spec.kw()),
                rng)), new Parameter("bias", Tensor.zeros(out)), spec, activation);
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    /** Starts measuring neuron utility every {@code interval} training batches. */
    public Conv1D trackUtility(int interval) {
        utility = new NeuronUtility(nout(), interval, NeuronUtility.DEFAULT_MOMENTUM);
        return this;
    }

    /** The neuron utility, or null when not tracked. */
    public NeuronUtility utility() {
        return utility;
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        Variable z = Ops.conv1d(x, pass.bind(weight), pass.bind(bias), spec);
        Variable y = activation == Activation.IDENTITY ? z : Ops.activation(z, activation);
        return utility == null ? y : utility.observe(y, pass);
    }

    @Override
    public Shape outputShape(Shape input) {
        return Conv1d.outputShape(input, weight.shape(), spec);
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
        weight.resizeInPlace(0, indices, Fill.normal(Dense.NEW_NEURON_STD), rng);
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
        return "Conv1D(" + spec.kw() + ", " + nin() + " => " + nout() + ")";
    }
}
