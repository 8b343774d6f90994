package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import io.evonas.nas.graph.size.SizeProblem.Request;
import java.util.Arrays;

/**
 * The size problem reduced to per-atom counts: {@code k_a ∈ [0, |a|]} classes kept and {@code i_a ∈ [0, cap_a]}
 * new neurons inserted in atom {@code a}. Participant {@code j} then has {@code n_j = Σ_a mult(j, a)·(k_a + i_a)}
 * neurons and {@code Σ_a mult(j, a)·i_a} new ones. Maximise
 * <pre>
 *   Σ_a f_a(k_a) − 0.1·Σ_j t_j − 0.8·max_j t_j − 10^6·(0.1·Σ_j r_j + 0.8·max_j r_j)
 *   t_j = w_j·|n_j − target_j|          (vertices without a request, w_j > 0)
 *   r_j = |n_j − nout_j − Δ_j|         (relaxed requests)
 * </pre>
 * subject to {@code n_j ≥ min_j}, {@code n_j = nout_j + Δ_j} for exact requests, {@code n_j ≠ nout_j} for relaxed
 * requests with {@code Δ_j ≠ 0}, the insert bounds, the equalities, and {@code k_a = |a|, i_a = 0} for atoms with
 * an IMMUTABLE member. In relaxed mode every request is relaxed. See {@link SizeSolver} for {@code w_j} and
 * {@code target_j}.
 */
final class CountProblem {
    static final double L1 = 0.1;
    static final double MAX = 0.8;
    static final double RELAXED_WEIGHT = 1e6;

    final Atoms atoms;
    final boolean relaxed;
    final int[] cap;
    final int[] nout;
    final int[] min;
    final int[] bound;
    /** Exact target size, or -1. */
    final int[] exact;
    /** Relaxed target size, or -1. */
    final int[] goal;
    final boolean[] mustChange;
    /** Weight of the default size term, 0 for none. */
    final double[] weight;
    final int[] target;
    /** Pairs of participants whose sizes must be equal. */
    final int[][] equal;

    CountProblem(SizeProblem p, Atoms atoms, boolean relaxed) {
        this.atoms = atoms;
        this.relaxed = relaxed;
        TieClasses t = atoms.ties;
        int m = t.participants();
        nout = new int[m];
        min = new int[m];
        bound = new int[m];
        exact = new int[m];
        goal = new int[m];
        mustChange = new boolean[m];
        weight = new double[m];
        target = new int[m];
        double global = 0;
        for (int v : t.vertices) {
            for (double u : p.utilityView(v)) {
                global = Math.max(global, Math.abs(u));
            }
        }
        global = global > 0 ? global : 1;
        int[] local = new int[p.size()];
        Arrays.fill(local, -1);
        for (int j = 0; j < m; j++) {
            int v = t.vertices[j];
            local[v] = j;
            nout[j] = p.nout(v);
            min[j] = p.minSize(v);
            bound[j] = p.insertBound(v);
            exact[j] = -1;
            goal[j] = -1;
            Request r = p.request(v);
            if (r != null && r.exact() && !relaxed) {
                exact[j] = nout[j] + r.delta();
            } else if (r != null) {
                goal[j] = nout[j] + r.delta();
                mustChange[j] = r.delta() != 0;
            } else if (p.kind(v) != Kind.IMMUTABLE) {
                defaultTerm(p, v, j, global);
            }
        }
        equal = new int[p.equalities().size()][];
        for (int e = 0; e < equal.length; e++) {
            int[] pair = p.equalities().get(e);
            equal[e] = new int[] {local[pair[0]], local[pair[1]]};
        }
        cap = new int[atoms.count];
        for (int a = 0; a < atoms.count; a++) {
            cap[a] = atoms.fixed[a] ? 0 : Integer.MAX_VALUE;
        }
        for (int j = 0; j < m; j++) {
            for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
                int a = atoms.vertexAtoms[j][q];
                cap[a] = Math.min(cap[a], bound[j] / atoms.vertexMult[j][q]);
            }
        }
    }

    private void defaultTerm(SizeProblem p, int v, int j, double global) {
        double scale = 0;
        int negative = 0;
        for (double u : p.utilityView(v)) {
            scale = Math.max(scale, Math.abs(u));
            negative += u < 0 ? 1 : 0;
        }
        if (scale == 0 && p.kind(v) == Kind.ABSORB) {
            scale = global;
        }
        target[j] = Math.max(1, nout[j] - negative);
        weight[j] = scale / target[j];
    }

    int participants() {
        return nout.length;
    }

    /** The sizes {@code n_j} for counts {@code k}, {@code ins}. */
    int[] sizes(int[] k, int[] ins) {
        int[] n = new int[participants()];
        for (int j = 0; j < n.length; j++) {
            long s = 0;
            for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
                int a = atoms.vertexAtoms[j][q];
                s += (long) atoms.vertexMult[j][q] * (k[a] + ins[a]);
            }
            n[j] = (int) Math.min(Integer.MAX_VALUE, s);
        }
        return n;
    }

    /** The objective of counts {@code k}, {@code ins}, or NaN if they break a constraint. */
    double evaluate(int[] k, int[] ins) {
        for (int a = 0; a < atoms.count; a++) {
            if (k[a] < 0 || k[a] > atoms.size(a) || ins[a] < 0 || ins[a] > cap[a]
                    || atoms.fixed[a] && k[a] != atoms.size(a)) {
                return Double.NaN;
            }
        }
        int[] n = sizes(k, ins);
        for (int j = 0; j < n.length; j++) {
            long inserted = 0;
            for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
                inserted += (long) atoms.vertexMult[j][q] * ins[atoms.vertexAtoms[j][q]];
            }
            if (n[j] < min[j] || exact[j] >= 0 && n[j] != exact[j] || mustChange[j] && n[j] == nout[j]
                    || inserted > bound[j]) {
                return Double.NaN;
            }
        }
        for (int[] e : equal) {
            if (n[e[0]] != n[e[1]]) {
                return Double.NaN;
            }
        }
        double value = 0;
        for (int a = 0; a < atoms.count; a++) {
            value += atoms.prefix[a][k[a]];
        }
        return value - penalty(n);
    }

    /** The size terms {@code 0.1·Σt + 0.8·max t + 10^6·(0.1·Σr + 0.8·max r)} of sizes {@code n}. */
    double penalty(int[] n) {
        double sumT = 0;
        double maxT = 0;
        double sumR = 0;
        double maxR = 0;
        for (int j = 0; j < n.length; j++) {
            if (weight[j] > 0) {
                double tj = weight[j] * Math.abs(n[j] - target[j]);
                sumT += tj;
                maxT = Math.max(maxT, tj);
            }
            if (goal[j] >= 0) {
                double rj = Math.abs(n[j] - goal[j]);
                sumR += rj;
                maxR = Math.max(maxR, rj);
            }
        }
        return L1 * sumT + MAX * maxT + RELAXED_WEIGHT * (L1 * sumR + MAX * maxR);
    }
}
