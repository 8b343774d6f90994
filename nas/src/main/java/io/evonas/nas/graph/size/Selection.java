package io.evonas.nas.graph.size;

/**
 * Turns per-atom counts into output index lists. Position {@code i} of participant {@code v}, in class {@code c}
 * of atom {@code a}, keeps its neuron when {@code rank(c) < k_a}, and is followed by {@code i_a} new neurons when
 * {@code c} is the atom's slot class. All positions of a class decide alike, so the lists satisfy every tie.
 */
final class Selection {
    private Selection() {
    }

    static int[][] outputs(SizeProblem p, CountProblem cp, Counts counts) {
        Atoms atoms = cp.atoms;
        int[][] out = SizeSolution.identity(p);
        TieClasses t = atoms.ties;
        int[] kept = counts.kept();
        int[] insert = counts.insert();
        int[] sizes = cp.sizes(kept, insert);
        for (int j = 0; j < t.participants(); j++) {
            int[] list = new int[sizes[j]];
            int len = 0;
            for (int i = 0; i < t.offset[j + 1] - t.offset[j]; i++) {
                int c = t.classOf[t.offset[j] + i];
                int a = atoms.atomOf[c];
                if (atoms.rank[c] < kept[a]) {
                    list[len++] = i;
                }
                if (atoms.slot[a] == c) {
                    for (int q = 0; q < insert[a]; q++) {
                        list[len++] = -1;
                    }
                }
            }
            if (len != list.length) {
                throw new IllegalStateException("Selection: vertex " + t.vertices[j] + " got " + len
                        + " entries, its counts give " + list.length);
            }
            out[t.vertices[j]] = list;
        }
        return out;
    }
}
