package io.evonas.nas.graph.size;

import java.util.Arrays;

/**
 * Insertions that follow from the ties alone, without an optimisation: {@code n} new neurons inserted after
 * position {@code p} of vertex {@code v} must be inserted after every position tied to it (the same tie class),
 * and nowhere else. Used to append a block to a concatenation: every vertex tied to the concatenation's last
 * position gets the same number of new neurons in the matching place.
 */
public final class TieInserts {
    private TieInserts() {
    }

    /**
     * The output index lists after inserting {@code n} new neurons after position {@code position} of vertex
     * {@code v} and after every position tied to it; null for the vertices that do not change.
     *
     * @throws IllegalArgumentException for a vertex or position outside the problem, or {@code n < 1}
     */
    public static int[][] insertAfter(SizeProblem problem, int v, int position, int n) {
        if (v < 0 || v >= problem.size()) {
            throw new IllegalArgumentException("tie inserts: no vertex " + v + " among " + problem.size());
        }
        if (position < 0 || position >= problem.nout(v)) {
            throw new IllegalArgumentException("tie inserts: vertex " + v + " has " + problem.nout(v)
                    + " neurons, no position " + position);
        }
        if (n < 1) {
            throw new IllegalArgumentException("tie inserts: " + n + " new neurons");
        }
        boolean[] all = new boolean[problem.size()];
        Arrays.fill(all, true);
        TieClasses ties = TieClasses.of(problem, all);
        int target = ties.classOf[ties.offset[v] + position];
        int[][] lists = new int[problem.size()][];
        for (int k = ties.start[target]; k < ties.start[target + 1]; k++) {
            int j = ties.vertexOf[ties.positions[k]];
            if (lists[j] != null) {
                continue;
            }
            int nout = problem.nout(j);
            int hits = 0;
            for (int i = 0; i < nout; i++) {
                hits += ties.classOf[ties.offset[j] + i] == target ? 1 : 0;
            }
            int[] list = new int[nout + hits * n];
            int at = 0;
            for (int i = 0; i < nout; i++) {
                list[at++] = i;
                if (ties.classOf[ties.offset[j] + i] == target) {
                    for (int r = 0; r < n; r++) {
                        list[at++] = -1;
                    }
                }
            }
            lists[j] = list;
        }
        return lists;
    }
}
