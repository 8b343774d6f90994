package io.evonas.nas.model;

import io.evonas.autodiff.Variable;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Parameter;
import io.evonas.nas.graph.Computation;
import io.evonas.tensor.Shape;
import java.util.List;

/**
 * A graph computation that {@link GraphModel} can evaluate: a differentiable function of its inputs' values
 * with its parameters. A user's own layer joins graphs by implementing this (or by being a
 * {@link io.evonas.layers.Resizable} layer wrapped in a {@link LayerComputation}).
 */
public interface Differentiable extends Computation {
    /** The output for {@code inputs}, recorded on the pass's tape. */
    Variable forward(List<Variable> inputs, ForwardPass pass);

    /** The trainable parameters, in a stable order. */
    List<Parameter> parameters();

    /**
     * The output shape for {@code inputs} (batch first), without computing anything.
     *
     * @throws IllegalArgumentException when the computation cannot take those shapes
     */
    Shape outputShape(List<Shape> inputs);
}
