package io.evonas.layers;

import io.evonas.autodiff.Variable;
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

    /** Number of trainable scalars. */
    default long parameterCount() {
        long n = 0;
        for (Parameter p : parameters()) {
            n += p.size();
        }
        return n;
    }
}
