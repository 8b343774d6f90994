package io.evonas.layers;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import java.util.List;

/**
 * A layer: a differentiable function of one input with its own parameters. Layers know their sizes and their
 * output shape for an input shape without computing anything.
 */
public interface Layer {
    /** The output for input {@code x}, recorded on the pass's tape. */
    Variable forward(Variable x, ForwardPass pass);

    /**
     * The output shape for {@code input} (batch first).
     *
     * @throws IllegalArgumentException if this layer cannot take that shape
     */
    Shape outputShape(Shape input);

    /** Input features or channels; for size-transparent layers without parameters, -1 (any). */
    int nin();

    /** Output features or channels; -1 for size-transparent layers without parameters. */
    int nout();

    /** The trainable parameters, in a stable order. */
    default List<Parameter> parameters() {
        return List.of();
    }

    /**
     * A deep copy that shares no mutable state with this layer: parameter values, gradients and optimiser state,
     * running statistics, neuron utility and its counters are all copied, so training, resizing or otherwise
     * changing one leaves the other bit-identical. Before any change, the copy computes the same outputs.
     * Every built-in layer implements it, returning its own type.
     *
     * @throws UnsupportedOperationException if this layer does not implement it (the default, so that layers
     *                                       written before this method still compile)
     */
    default Layer copy() {
        throw new UnsupportedOperationException(getClass().getName() + " does not implement copy()");
    }

    /**
     * Moves every tensor this layer keeps (parameters with their gradients and optimiser state, running
     * statistics) to {@code target}, where its forward and backward passes then run. Between training steps only.
     * The default moves {@link #parameters()}; a layer with other tensors overrides it.
     */
    default void moveToInPlace(Device target) {
        for (Parameter p : parameters()) {
            p.moveToInPlace(target);
        }
    }

    /** Number of trainable scalars. */
    default long parameterCount() {
        long n = 0;
        for (Parameter p : parameters()) {
            n += p.size();
        }
        return n;
    }
}
