package io.evonas.nas.graph.size;

import java.util.Objects;

/**
 * What {@link SizeSolver} decided: for every vertex of the problem, its new output neurons.
 *
 * <p>{@code outputs[v][i]} is the old index of the neuron at new position {@code i} of vertex {@code v}, or
 * {@code -1} for a new neuron. Old indices increase along a list; each run of {@code -1}s follows the old position
 * it was inserted after. Vertices the solver did not touch, and every vertex when the status is
 * {@link Status#NO_CHANGE}, get the identity {@code [0, 1, .., nout-1]}. A STACK's list is the concatenation of
 * its inputs' lists (shifted by the block offsets), an INVARIANT's list equals each input's list; the input
 * indices of any vertex are the output lists of its inputs.
 *
 * <pre>{@code
 * SizeSolution s = SizeSolver.solve(problem);
 * if (s.status() != SizeSolution.Status.NO_CHANGE) {
 *     int[] rows = s.outputs()[dense];      // e.g. [0, 2, 3, -1]: drop row 1, append one new row
 * }
 * }</pre>
 *
 * @param status    whether the requests were met exactly, only approximately, or nothing changed
 * @param outputs   the new output index list of each vertex, indexed by vertex id (the arrays are not copied)
 * @param objective the value of the objective that was maximised (see {@link SizeSolver}); NaN for NO_CHANGE
 * @param reason    why the requests were relaxed or nothing changed; empty for EXACT
 */
public record SizeSolution(Status status, int[][] outputs, double objective, String reason) {
    /** How the requests were met. */
    public enum Status {
        /** Every request and constraint holds exactly. */
        EXACT,
        /** The exact requests could not all be met; they were treated as relaxed requests. */
        RELAXED,
        /** No solution was found (or the solver gave up); every list is the identity. */
        NO_CHANGE
    }

    public SizeSolution {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(outputs, "outputs");
        Objects.requireNonNull(reason, "reason");
    }

    /** The new size of vertex {@code v}. */
    public int nout(int v) {
        return outputs[v].length;
    }

    /** Whether the lists differ from the identity for some vertex. */
    public boolean changed() {
        for (int[] list : outputs) {
            for (int i = 0; i < list.length; i++) {
                if (list[i] != i) {
                    return true;
                }
            }
        }
        return false;
    }

    static SizeSolution noChange(SizeProblem p, String reason) {
        return new SizeSolution(Status.NO_CHANGE, identity(p), Double.NaN, reason);
    }

    static int[][] identity(SizeProblem p) {
        int[][] out = new int[p.size()][];
        for (int v = 0; v < out.length; v++) {
            out[v] = new int[p.nout(v)];
            for (int i = 0; i < out[v].length; i++) {
                out[v][i] = i;
            }
        }
        return out;
    }
}
