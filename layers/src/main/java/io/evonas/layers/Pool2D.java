package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.Objects;

/**
 * Max or mean pooling over H and W of {@code [N, C, H, W]} (mean pooling divides by the full window, padding
 * included). Size-transparent in channels.
 */
public record Pool2D(Kind kind, PoolSpec spec) implements Layer {
    /** The pooling function. */
    public enum Kind {
        MAX, MEAN
    }

    public Pool2D {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(spec, "spec");
    }

    /** Max pooling with a square window and stride equal to it. */
    public static Pool2D max(int window) {
        return new Pool2D(Kind.MAX, PoolSpec.of(window));
    }

    /** Mean pooling with a square window and stride equal to it. */
    public static Pool2D mean(int window) {
        return new Pool2D(Kind.MEAN, PoolSpec.of(window));
    }

    /** A new, equal instance: this layer holds no mutable state. */
    @Override
    public Pool2D copy() {
        return new Pool2D(kind, spec);
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        return kind == Kind.MAX ? Ops.maxPool2d(x, spec) : Ops.meanPool2d(x, spec);
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() != 4) {
            throw new IllegalArgumentException("pool2d: input " + input + " must be [N, C, H, W]");
        }
        return spec.outputShape(input);
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
        return (kind == Kind.MAX ? "MaxPool" : "MeanPool") + "(" + spec.kh() + "×" + spec.kw() + ", stride "
                + spec.sh() + "×" + spec.sw() + ")";
    }
}
