package io.evonas.autodiff;

import io.evonas.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;

/** The gradients a {@link Tape#backward} pass computed for the leaves that need them. */
public final class Gradients {
    private final Map<Variable, Tensor> byLeaf;

    Gradients(Map<Variable, Tensor> byLeaf) {
        this.byLeaf = new IdentityHashMap<>(byLeaf);
    }

    /**
     * The gradient of the loss with respect to {@code leaf}: zeros of its shape when the loss does not depend on
     * it.
     *
     * @throws IllegalArgumentException if {@code leaf} was not created as a parameter of this tape
     */
    public Tensor of(Variable leaf) {
        Objects.requireNonNull(leaf, "leaf");
        Tensor g = byLeaf.get(leaf);
        if (g != null) {
            return g;
        }
        if (!leaf.needsGradient()) {
            throw new IllegalArgumentException("gradient: " + leaf + " is a constant; create it with "
                    + "Tape.parameter to get its gradient");
        }
        return Tensor.zeros(leaf.shape());
    }
}
