package io.evonas.nas.graph.size;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import io.evonas.nas.graph.size.SizeProblem.Request;
import java.util.Arrays;

/**
 * An independent check of a solution's lists: every tie, bound and request, and the objective recomputed from the
 * lists alone with the rules written out again here (so a mistake in the solver's objective shows up).
 */
final class SolutionCheck {
    private SolutionCheck() {
    }

    /** Asserts the lists are a valid solution in the given mode and returns their objective. */
    static double objective(SizeProblem p, int[][] out, boolean relaxedMode, String where) {
        assertEquals(p.size(), out.length, where + ": one list per vertex");
        boolean[] part = p.participants();
        for (int v = 0; v < p.size(); v++) {
            String at = where + ": vertex " + v + " " + p.kind(v) + " " + Arrays.toString(out[v]);
            checkList(p, v, out[v], at);
            if (!part[v] || p.kind(v) == Kind.IMMUTABLE) {
                assertArrayEquals(identity(p.nout(v)), out[v], at + " must be unchanged");
            }
            checkTies(p, v, out, at);
            assertTrue(out[v].length >= p.minSize(v) || !part[v], at + " below min size " + p.minSize(v));
            long inserted = Arrays.stream(out[v]).filter(x -> x < 0).count();
            assertTrue(inserted <= p.insertBound(v), at + " inserts more than " + p.insertBound(v));
            Request r = p.request(v);
            if (r != null && r.exact() && !relaxedMode) {
                assertEquals(p.nout(v) + r.delta(), out[v].length, at + " exact request");
            }
            if (r != null && (relaxedMode || !r.exact()) && r.delta() != 0) {
                assertTrue(out[v].length != p.nout(v), at + " relaxed request must change the size");
            }
        }
        for (int[] e : p.equalities()) {
            assertEquals(out[e[0]].length, out[e[1]].length, where + ": equality " + Arrays.toString(e));
        }
        return value(p, out, part, relaxedMode);
    }

    private static void checkList(SizeProblem p, int v, int[] list, String at) {
        int last = -1;
        int nout = p.nout(v);
        for (int q = 0; q < list.length; q++) {
            if (list[q] >= 0) {
                assertTrue(list[q] > last && list[q] < nout, at + " indices must increase within [0, nout)");
                last = list[q];
            } else {
                assertEquals(-1, list[q], at);
                assertTrue(nout > 0, at + ": nothing to insert after");
                if (last < 0) {
                    int next = Arrays.stream(list).filter(x -> x >= 0).findFirst().orElse(nout);
                    assertTrue(next > 0, at + ": a new neuron before the first position");
                }
            }
        }
    }

    private static void checkTies(SizeProblem p, int v, int[][] out, String at) {
        int[] in = p.inputs(v);
        if (p.kind(v) == Kind.INVARIANT) {
            for (int u : in) {
                assertArrayEquals(out[u], out[v], at + " != input " + u);
            }
        } else if (p.kind(v) == Kind.STACK) {
            int[] cat = new int[0];
            int offset = 0;
            for (int u : in) {
                int base = cat.length;
                cat = Arrays.copyOf(cat, base + out[u].length);
                for (int q = 0; q < out[u].length; q++) {
                    cat[base + q] = out[u][q] < 0 ? -1 : out[u][q] + offset;
                }
                offset += p.nout(u);
            }
            assertArrayEquals(cat, out[v], at + " != concatenation of its inputs");
        }
    }

    private static double value(SizeProblem p, int[][] out, boolean[] part, boolean relaxedMode) {
        double global = 0;
        for (int v = 0; v < p.size(); v++) {
            if (part[v]) {
                for (double u : p.utility(v)) {
                    global = Math.max(global, Math.abs(u));
                }
            }
        }
        global = global == 0 ? 1 : global;
        double kept = 0;
        double sumT = 0;
        double maxT = 0;
        double sumR = 0;
        double maxR = 0;
        for (int v = 0; v < p.size(); v++) {
            if (!part[v]) {
                continue;
            }
            double[] u = p.utility(v);
            for (int x : out[v]) {
                kept += x >= 0 ? u[x] : 0;
            }
            int n = out[v].length;
            Request r = p.request(v);
            if (r != null && (!r.exact() || relaxedMode)) {
                double d = Math.abs(n - p.nout(v) - r.delta());
                sumR += d;
                maxR = Math.max(maxR, d);
            } else if (r == null && p.kind(v) != Kind.IMMUTABLE) {
                double t = sizeWeight(p, v, global) * Math.abs(n - target(p, v));
                sumT += t;
                maxT = Math.max(maxT, t);
            }
        }
        return kept - 0.1 * sumT - 0.8 * maxT - 1e6 * (0.1 * sumR + 0.8 * maxR);
    }

    /** {@code scale_v / target_v} of the default size term. */
    static double sizeWeight(SizeProblem p, int v, double global) {
        double scale = Arrays.stream(p.utility(v)).map(Math::abs).max().orElse(0);
        if (scale == 0 && p.kind(v) == Kind.ABSORB) {
            scale = global;
        }
        return scale / target(p, v);
    }

    static int target(SizeProblem p, int v) {
        return Math.max(1, p.nout(v) - (int) Arrays.stream(p.utility(v)).filter(x -> x < 0).count());
    }

    static int[] identity(int n) {
        int[] id = new int[n];
        for (int i = 0; i < n; i++) {
            id[i] = i;
        }
        return id;
    }
}
