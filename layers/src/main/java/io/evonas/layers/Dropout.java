package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;

/** Inverted dropout with probability {@code p} in training passes; the identity in inference passes. */
public record Dropout(double p) implements Layer {
    public Dropout {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: probability " + p + " must be in [0, 1)");
        }
    }

    /** A new, equal instance: this layer holds no mutable state. */
    @Override
    public Dropout copy() {
        return new Dropout(p);
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        return pass.training() && p > 0 ? Ops.dropout(x, p, pass.rng()) : x;
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
}
