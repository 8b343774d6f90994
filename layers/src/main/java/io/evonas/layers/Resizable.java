package io.evonas.layers;

import java.util.random.RandomGenerator;

/**
 * A layer whose neurons can be kept, reordered and inserted between training steps (neuron surgery), with every
 * parameter, gradient and optimiser state following its neurons. Index lists name old neurons; {@code -1} inserts
 * a new one. New output neurons get small random weights; new input slices are zero, so growing a layer's inputs
 * leaves its function unchanged.
 */
public interface Resizable extends Layer {
    /** Output neuron {@code i} becomes old output {@code indices[i]}, or a new neuron where that is -1. */
    void resizeOutputs(int[] indices, RandomGenerator rng);

    /** Input {@code i} becomes old input {@code indices[i]}, or a new zero input slice where that is -1. */
    void resizeInputs(int[] indices);
}
