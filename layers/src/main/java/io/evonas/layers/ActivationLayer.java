package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Activation;
import java.util.Objects;

/** An activation function as a layer of its own: any shape, size-transparent. */
public record ActivationLayer(Activation activation) implements Layer {
    public ActivationLayer {
        Objects.requireNonNull(activation, "activation");
    }

    /** A new, equal instance: this layer holds no mutable state. */
    @Override
    public ActivationLayer copy() {
        return new ActivationLayer(activation);
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        return Ops.activation(x, activation);
    }

    @Override
    public Shape outputShape(Shape input) {
        return input;
    }

    @Override
    public int nin() {
        return -1;
    }

    @Override
    public int nout() {
        return -1;
    }

    @Override
    public String toString() {
        return activation.name().toLowerCase(java.util.Locale.ROOT);
    }
}
