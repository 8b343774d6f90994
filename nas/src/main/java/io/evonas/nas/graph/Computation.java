package io.evonas.nas.graph;

import java.util.random.RandomGenerator;

/**
 * What the graph asks of a vertex's computation: its sizes, neuron surgery by index lists, and the utility of
 * its output neurons. The graph and its size solver know nothing else — no tensors — so any computation that
 * implements this joins the graph, the size solver and every mutation. Evaluation is the business of whoever
 * evaluates the graph (see {@link CompGraph#evaluate}).
 *
 * <p>Index lists name old neurons by index, in their new order; {@code -1} inserts a new neuron. For example
 * {@code [0, 2, -1]} keeps neurons 0 and 2 and appends a new one.
 */
public interface Computation {
    /** How this computation's size relates to its inputs'. */
    SizeKind kind();

    /**
     * The output size, or {@code -1} for a size-transparent computation without a size of its own (it takes
     * the size of its inputs: a sum, a concatenation, a pooling).
     */
    int nout();

    /** The size this computation expects on each input, or {@code -1} when it takes any. */
    int nin();

    /**
     * Neuron surgery: input {@code k} changes by {@code inputs[k]} (null: unchanged) and the output by
     * {@code outputs} (null: unchanged). New output neurons draw from {@code rng}; new input slices must leave
     * the function of the existing outputs unchanged (zeros, for a weighted layer). Called only between
     * training steps, with lists the graph has checked against the current sizes. An implementation may defer
     * the work until the computation is next used. It must not fail for such lists: the graph resizes vertex
     * after vertex, and can keep its promise to leave the graph unchanged on failure only by deciding everything
     * before the first resize.
     */
    void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng);

    /**
     * The value of each output neuron (higher = keep), or null for the default: 1 for every neuron of an
     * absorbing or immutable computation, 0 for a transparent one (its neurons are another vertex's).
     */
    default double[] utility() {
        return null;
    }

    /** A deep copy sharing no mutable state. */
    Computation copy();

    /** Number of trainable scalars, for summaries. */
    default long parameterCount() {
        return 0;
    }
}
