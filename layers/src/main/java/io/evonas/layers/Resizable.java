package io.evonas.layers;

import java.util.random.RandomGenerator;

/**
 * A layer whose neurons can be kept, reordered and inserted between training steps (neuron surgery), with every
 * parameter, gradient and optimiser state following its neurons. Index lists name old neurons; {@code -1} inserts
 * a new one. New output neurons get small random weights; new input slices are zero, so growing a layer's inputs
 * leaves its function unchanged. {@link LazyResizable} defers the surgery so that several changes cost one copy.
 */
public interface Resizable extends Layer {
    /** Output neuron {@code i} becomes old output {@code indices[i]}, or a new neuron where that is -1. */
    void resizeOutputs(int[] indices, RandomGenerator rng);

    /** Input {@code i} becomes old input {@code indices[i]}, or a new zero input slice where that is -1. */
    void resizeInputs(int[] indices);

    /**
     * Whether the inputs and the outputs are the same neurons, so that resizing either resizes both and
     * {@code nin() == nout()} always (BatchNorm's channels). False by default: inputs and outputs are separate
     * axes that can be resized independently (Dense, Conv).
     */
    default boolean inputsAreOutputs() {
        return false;
    }

    /**
     * {@inheritDoc}
     *
     * <p>A resizable layer's copy is resizable.
     */
    @Override
    default Resizable copy() {
        throw new UnsupportedOperationException(getClass().getName() + " does not implement copy()");
    }
}
