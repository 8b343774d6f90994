package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.Conv1d;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A 1-D convolution layer {@code y = f(conv(x, W) + b)}: input {@code [N, in, L]}, weight {@code [out, in, k]},
 * bias {@code [out]}; the geometry is a 1-D {@link ConvSpec} ({@link ConvSpec#of1d}, {@link ConvSpec#same1d}).
 */
public final class Conv1D extends WeightedLayer {
    private final ConvSpec spec;

    public Conv1D(Parameter weight, Parameter bias, ConvSpec spec, Activation activation) {
        super(weight, bias, activation);
        this.spec = Objects.requireNonNull(spec, "spec");
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

    /** Starts measuring neuron utility every {@code interval} training batches. */
    public Conv1D trackUtility(int interval) {
        startTracking(interval);
        return this;
    }

    /** A deep copy: parameters (value, gradient, optimiser state) and neuron utility are copied. */
    @Override
    public Conv1D copy() {
        return copyUtilityTo(new Conv1D(weight.copy(), bias.copy(), spec, activation));
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        Variable z = Ops.conv1d(x, pass.bind(weight), pass.bind(bias), spec);
        return activateAndObserve(z, pass);
    }

    @Override
    public Shape outputShape(Shape input) {
        return Conv1d.outputShape(input, weight.shape(), spec);
    }

    @Override
    public String toString() {
        return "Conv1D(" + spec.kw() + ", " + nin() + " => " + nout() + ")";
    }
}
