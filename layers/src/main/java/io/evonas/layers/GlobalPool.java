package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import java.util.Objects;

/**
 * Global max or mean pooling over every spatial position followed by flattening: {@code [N, C, H, W]} to
 * {@code [N, C]} (NaiveGAflux's {@code GlobalPool}).
 */
public record GlobalPool(Pool2D.Kind kind) implements Layer {
    public GlobalPool {
        Objects.requireNonNull(kind, "kind");
    }

    /** A new, equal instance: this layer holds no mutable state. */
    @Override
    public GlobalPool copy() {
        return new GlobalPool(kind);
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        outputShape(x.shape());
        Variable y = kind == Pool2D.Kind.MAX ? Ops.globalMaxPool(x) : Ops.globalMeanPool(x);
        return Ops.flatten(y);
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() != 4) {
            throw new IllegalArgumentException("globalpool: input " + input + " must be [N, C, H, W]");
        }
        return Shape.of(input.dim(0), input.dim(1));
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
