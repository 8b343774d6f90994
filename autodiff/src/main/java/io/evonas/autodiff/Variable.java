package io.evonas.autodiff;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;

/**
 * A value of a computation recorded on a {@link Tape}: a leaf (a parameter or an input) or the result of a
 * primitive in {@link Ops}. A variable needs a gradient when it is a parameter leaf or depends on one.
 */
public final class Variable {
    private final Tape tape;
    private final Tensor value;
    private final boolean needsGradient;
    /** Gradient accumulated during {@link Tape#backward}; null until something flows into it. */
    Tensor grad;

    Variable(Tape tape, Tensor value, boolean needsGradient) {
        this.tape = tape;
        this.value = value;
        this.needsGradient = needsGradient;
    }

    public Tensor value() {
        return value;
    }

    public Shape shape() {
        return value.shape();
    }

    /** Whether backward computes a gradient for this variable. */
    public boolean needsGradient() {
        return needsGradient;
    }

    public Tape tape() {
        return tape;
    }

    @Override
    public String toString() {
        return "Variable" + value.shape() + (needsGradient ? " (grad)" : "");
    }
}
