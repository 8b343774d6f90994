package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import io.evonas.nas.graph.size.SizeProblem.Request;
import java.time.Duration;

/** Finds, for an error message, an exact request that is impossible even on its own. */
final class Diagnosis {
    private Diagnosis() {
    }

    /** {@code "; vertex 3 (ABSORB) 8 -> 10 is impossible on its own: ..."}, or a note that requests conflict. */
    static String culprit(SizeProblem p, Duration limit) {
        int exact = 0;
        for (int v = 0; v < p.size(); v++) {
            Request r = p.request(v);
            if (r == null || !r.exact()) {
                continue;
            }
            exact++;
            SizeProblem alone = p.onlyRequest(v);
            CountProblem cp = new CountProblem(alone, SizeSolver.atoms(alone), false);
            if (SizeSolver.counts(cp, limit).state() == Counts.State.INFEASIBLE) {
                return "; vertex " + v + " (" + p.kind(v) + ") " + p.nout(v) + " -> " + (p.nout(v) + r.delta())
                        + " is impossible on its own" + hint(p, v, r);
            }
        }
        return exact > 1 || !p.equalities().isEmpty() ? "; the requests and equalities contradict each other"
                : "; check the minimum sizes and insert bounds of the vertices tied to it";
    }

    private static String hint(SizeProblem p, int v, Request r) {
        if (p.kind(v) == Kind.IMMUTABLE) {
            return ": it is IMMUTABLE";
        }
        if (r.delta() > 0 && p.insertBound(v) < r.delta()) {
            return ": its insert bound is " + p.insertBound(v);
        }
        if (p.nout(v) + r.delta() < p.minSize(v)) {
            return ": its min size is " + p.minSize(v);
        }
        return ": its size is tied to immutable vertices, minimum sizes or insert bounds";
    }
}
