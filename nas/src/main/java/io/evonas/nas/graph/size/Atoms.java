package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tie classes grouped into atoms: classes whose member multisets {@code {(vertex, number of its positions in the
 * class)}} are identical. Two classes of one atom enter every constraint of the problem in the same way (each
 * vertex size {@code n_v = Σ_c mult(v, c)·(s_c + a_c)}, each insert bound, immutability), so only the number kept
 * {@code k_A} and the number inserted {@code i_A} matter, and:
 * <ul>
 *   <li>for a given {@code k_A} the best classes to keep are the {@code k_A} of highest summed utility (exchange
 *       argument: swapping a kept class for a dropped one changes nothing but the utility term), so the value of
 *       an atom is the concave {@code f_A(k) = Σ_{r<k} U_(r)}, utilities sorted decreasingly;</li>
 *   <li>new neurons are interchangeable between its classes, so all {@code i_A} go after one "slot" class: the
 *       one latest in its vertices ({@code Σ_(v,i)∈c (nout(v) - 1 - i)} smallest), which puts a single Dense's new
 *       neurons at its end.</li>
 * </ul>
 * Within an atom, equal utilities are ordered by first position, so ties keep the earlier neurons.
 */
final class Atoms {
    final TieClasses ties;
    final int count;
    final int[] atomOf;
    /** Classes of each atom, best utility first. */
    final int[][] members;
    /** Rank of each class within its atom. */
    final int[] rank;
    /** {@code prefix[a][k] = f_a(k)}, the summed utility of the best {@code k} classes. */
    final double[][] prefix;
    final int[] slot;
    final boolean[] fixed;
    /** Atoms of each participant and the multiplicity {@code mult(j, a)} of each. */
    final int[][] vertexAtoms;
    final int[][] vertexMult;

    private Atoms(TieClasses ties, int count, int[] atomOf, int[][] members, int[] rank, double[][] prefix,
            int[] slot, boolean[] fixed, int[][] vertexAtoms, int[][] vertexMult) {
        this.ties = ties;
        this.count = count;
        this.atomOf = atomOf;
        this.members = members;
        this.rank = rank;
        this.prefix = prefix;
        this.slot = slot;
        this.fixed = fixed;
        this.vertexAtoms = vertexAtoms;
        this.vertexMult = vertexMult;
    }

    /** A class's member multiset as flat (participant, count) pairs, participants increasing. */
    private record Key(int[] pairs) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(pairs, k.pairs);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(pairs);
        }

        @Override
        public String toString() {
            return Arrays.toString(pairs);
        }
    }

    static Atoms of(SizeProblem p, TieClasses t) {
        Map<Key, Integer> index = new HashMap<>();
        List<Key> keys = new ArrayList<>();
        List<List<Integer>> classesOf = new ArrayList<>();
        int[] atomOf = new int[t.classes];
        int[] buffer = new int[16];
        for (int c = 0; c < t.classes; c++) {
            int len = 0;
            for (int q = t.start[c]; q < t.start[c + 1]; q++) {
                int j = t.vertexOf[t.positions[q]];
                if (len > 0 && buffer[len - 2] == j) {
                    buffer[len - 1]++;
                } else {
                    if (len + 2 > buffer.length) {
                        buffer = Arrays.copyOf(buffer, 2 * buffer.length);
                    }
                    buffer[len++] = j;
                    buffer[len++] = 1;
                }
            }
            Key key = new Key(Arrays.copyOf(buffer, len));
            Integer a = index.get(key);
            if (a == null) {
                a = keys.size();
                index.put(key, a);
                keys.add(key);
                classesOf.add(new ArrayList<>());
            }
            atomOf[c] = a;
            classesOf.get(a).add(c);
        }
        return build(p, t, atomOf, keys, classesOf);
    }

    private static Atoms build(SizeProblem p, TieClasses t, int[] atomOf, List<Key> keys,
            List<List<Integer>> classesOf) {
        int count = keys.size();
        int[][] members = new int[count][];
        int[] rank = new int[t.classes];
        double[][] prefix = new double[count][];
        int[] slot = new int[count];
        boolean[] fixed = new boolean[count];
        long[] lateness = lateness(t);
        int[] vertexAtomCount = new int[t.participants()];
        for (int a = 0; a < count; a++) {
            Integer[] cs = classesOf.get(a).toArray(new Integer[0]);
            Arrays.sort(cs, (x, y) -> {
                int byUtility = Double.compare(t.utility[y], t.utility[x]);
                return byUtility != 0 ? byUtility : Integer.compare(t.firstPosition[x], t.firstPosition[y]);
            });
            members[a] = new int[cs.length];
            prefix[a] = new double[cs.length + 1];
            int best = cs[0];
            for (int r = 0; r < cs.length; r++) {
                int c = cs[r];
                members[a][r] = c;
                rank[c] = r;
                prefix[a][r + 1] = prefix[a][r] + t.utility[c];
                if (lateness[c] < lateness[best]
                        || lateness[c] == lateness[best] && t.firstPosition[c] > t.firstPosition[best]) {
                    best = c;
                }
            }
            slot[a] = best;
            int[] pairs = keys.get(a).pairs();
            for (int q = 0; q < pairs.length; q += 2) {
                vertexAtomCount[pairs[q]]++;
                fixed[a] |= p.kind(t.vertices[pairs[q]]) == Kind.IMMUTABLE;
            }
        }
        int[][] vertexAtoms = new int[t.participants()][];
        int[][] vertexMult = new int[t.participants()][];
        for (int j = 0; j < vertexAtoms.length; j++) {
            vertexAtoms[j] = new int[vertexAtomCount[j]];
            vertexMult[j] = new int[vertexAtomCount[j]];
            vertexAtomCount[j] = 0;
        }
        for (int a = 0; a < count; a++) {
            int[] pairs = keys.get(a).pairs();
            for (int q = 0; q < pairs.length; q += 2) {
                int j = pairs[q];
                vertexAtoms[j][vertexAtomCount[j]] = a;
                vertexMult[j][vertexAtomCount[j]++] = pairs[q + 1];
            }
        }
        return new Atoms(t, count, atomOf, members, rank, prefix, slot, fixed, vertexAtoms, vertexMult);
    }

    /** {@code Σ_(v,i)∈c (nout(v) - 1 - i)}: how far a class lies from the ends of its vertices. */
    private static long[] lateness(TieClasses t) {
        long[] late = new long[t.classes];
        for (int j = 0; j < t.participants(); j++) {
            int n = t.offset[j + 1] - t.offset[j];
            for (int i = 0; i < n; i++) {
                late[t.classOf[t.offset[j] + i]] += n - 1 - i;
            }
        }
        return late;
    }

    int size(int a) {
        return members[a].length;
    }
}
