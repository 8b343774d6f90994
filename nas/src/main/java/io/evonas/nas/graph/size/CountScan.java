package io.evonas.nas.graph.size;

/**
 * Exact solution of a {@link CountProblem} with at most one free (non-immutable) atom {@code a}: every other atom
 * keeps all its classes and inserts nothing, so all sizes are affine in {@code x = k_a + i_a}, {@code n_j =
 * base_j + mult(j, a)·x}. For a given {@code x} the best split maximises the concave {@code f_a(k)} over
 * {@code max(0, x − cap_a) ≤ k ≤ min(x, |a|)}, i.e. clamps the largest maximiser {@code k*} of {@code f_a} into
 * that range. The scan evaluates every {@code x} from 0 up to just past the last point where a size term, a
 * request, a minimum or an equality changes (beyond it the objective cannot increase) and keeps the first best.
 */
final class CountScan {
    private CountScan() {
    }

    static Counts solve(CountProblem cp) {
        Atoms atoms = cp.atoms;
        int[] k = new int[atoms.count];
        int[] ins = new int[atoms.count];
        int free = -1;
        for (int a = 0; a < atoms.count; a++) {
            k[a] = atoms.size(a);
            if (!atoms.fixed[a]) {
                if (free >= 0) {
                    throw new IllegalStateException("CountScan: atoms " + free + " and " + a + " are both free");
                }
                free = a;
            }
        }
        if (free < 0) {
            return Double.isNaN(cp.evaluate(k, ins)) ? Counts.infeasible() : Counts.feasible(k, ins);
        }
        int size = atoms.size(free);
        int kStar = 0;
        for (int r = 1; r <= size; r++) {
            if (atoms.prefix[free][r] >= atoms.prefix[free][kStar]) {
                kStar = r;
            }
        }
        long hi = Math.min((long) size + cp.cap[free], lastBreakpoint(cp, free, size) + 2);
        double best = Double.NEGATIVE_INFINITY;
        int bestK = -1;
        int bestI = -1;
        for (int x = 0; x <= hi; x++) {
            int lo = (int) Math.max(0, x - (long) cp.cap[free]);
            int up = Math.min(x, size);
            k[free] = Math.max(lo, Math.min(up, kStar));
            ins[free] = x - k[free];
            double value = cp.evaluate(k, ins);
            if (value > best) {
                best = value;
                bestK = k[free];
                bestI = ins[free];
            }
        }
        if (bestK < 0) {
            return Counts.infeasible();
        }
        k[free] = bestK;
        ins[free] = bestI;
        return Counts.feasible(k, ins);
    }

    /** The largest {@code x} at which some term of the objective or some constraint has a breakpoint. */
    private static long lastBreakpoint(CountProblem cp, int free, int size) {
        Atoms atoms = cp.atoms;
        int[] k = new int[atoms.count];
        for (int a = 0; a < atoms.count; a++) {
            k[a] = atoms.size(a);
        }
        k[free] = 0;
        int[] base = cp.sizes(k, new int[atoms.count]);
        int[] mult = new int[cp.participants()];
        for (int j = 0; j < mult.length; j++) {
            for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
                if (atoms.vertexAtoms[j][q] == free) {
                    mult[j] = atoms.vertexMult[j][q];
                }
            }
        }
        long last = size;
        for (int j = 0; j < mult.length; j++) {
            if (mult[j] == 0) {
                continue;
            }
            long top = Math.max(Math.max(cp.target[j], cp.goal[j]), Math.max(cp.exact[j], cp.min[j]));
            top = Math.max(top, cp.nout[j] + 1L);
            last = Math.max(last, ceilDiv(top - base[j], mult[j]));
        }
        for (int[] e : cp.equal) {
            long dm = mult[e[0]] - mult[e[1]];
            if (dm != 0) {
                last = Math.max(last, Math.abs(ceilDiv(base[e[1]] - base[e[0]], dm)));
            }
        }
        return last;
    }

    private static long ceilDiv(long a, long b) {
        return -Math.floorDiv(-a, b);
    }
}
