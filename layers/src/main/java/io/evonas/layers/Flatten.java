package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;

/** {@code [N, d1, d2, ...]} to {@code [N, d1·d2·...]}, a view. */
public record Flatten() implements Layer {
    /** A new, equal instance: this layer holds no mutable state. */
    @Override
    public Flatten copy() {
        return new Flatten();
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        return Ops.flatten(x);
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() < 1) {
            throw new IllegalArgumentException("flatten: input " + input + " has no batch axis");
        }
        return Shape.of(input.dim(0), input.sizeOf(1, input.rank()));
    }

    @Override
    public int nin() {
        return -1;
    }

    @Override
    public int nout() {
        return -1;
    }
}
