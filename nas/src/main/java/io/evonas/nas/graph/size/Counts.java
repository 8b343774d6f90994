package io.evonas.nas.graph.size;

/**
 * The outcome of solving a {@link CountProblem}: per-atom kept and inserted counts when feasible.
 *
 * @param state  whether counts were found, the problem is infeasible, or the solver gave up
 * @param kept   {@code k_a} per atom (null unless {@code FEASIBLE})
 * @param insert {@code i_a} per atom (null unless {@code FEASIBLE})
 * @param reason why the solver gave up ({@code FAILED}), else empty
 */
record Counts(State state, int[] kept, int[] insert, String reason) {
    enum State { FEASIBLE, INFEASIBLE, FAILED }

    static Counts feasible(int[] kept, int[] insert) {
        return new Counts(State.FEASIBLE, kept, insert, "");
    }

    static Counts infeasible() {
        return new Counts(State.INFEASIBLE, null, null, "");
    }

    static Counts failed(String reason) {
        return new Counts(State.FAILED, null, null, reason);
    }

    /**
     * Moves new neurons back to kept ones where that loses nothing: while an atom inserts and its next best
     * class has utility {@code >= 0}, keep that class instead of one new neuron. Sizes are unchanged and the
     * objective does not decrease, so an optimum stays optimal and keeps as many old neurons as it can.
     */
    Counts preferKept(Atoms atoms) {
        if (state != State.FEASIBLE) {
            return this;
        }
        for (int a = 0; a < atoms.count; a++) {
            while (insert[a] > 0 && kept[a] < atoms.size(a)
                    && atoms.prefix[a][kept[a] + 1] >= atoms.prefix[a][kept[a]]) {
                kept[a]++;
                insert[a]--;
            }
        }
        return this;
    }
}
