package io.evonas.nas.graph.size;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A neuron-selection problem for {@link SizeSolver}: vertices of a computation graph, how their output neurons are
 * tied together, the value of each neuron and the size changes asked for. It knows nothing of tensors or layers;
 * the graph layer translates its graph into one, solves it and applies the index lists to the layers.
 *
 * <p>A vertex {@code v} has {@code nout(v)} output neurons at positions {@code 0 .. nout(v)-1} and a
 * {@link Kind kind} saying how its neurons relate to those of its inputs:
 * <ul>
 *   <li>{@link Kind#ABSORB} (Dense, Conv): its output neurons are its own ("origin" neurons); its inputs tie
 *       nothing and are listed only so that the structure is complete.</li>
 *   <li>{@link Kind#IMMUTABLE} (graph inputs, fixed vertices): origin neurons too, but all are kept and none is
 *       inserted.</li>
 *   <li>{@link Kind#STACK} (concatenation): {@code nout = Σ_k nout(u_k)}, output block {@code k} is input
 *       {@code u_k}'s neurons in order; position {@code o_k + j} is tied to position {@code j} of {@code u_k},
 *       {@code o_k = Σ_{l<k} nout(u_l)}. An input may appear twice ({@code concat(a, a)}).</li>
 *   <li>{@link Kind#INVARIANT} (elementwise add/mul, BatchNorm, activation, pooling): {@code nout = nout(u)} for
 *       every input {@code u}, and position {@code i} is tied to position {@code i} of every input.</li>
 * </ul>
 * Tied positions keep or drop their neuron together, and new neurons inserted after them are inserted together.
 *
 * <p>{@code utility[i]} is the value of keeping output neuron {@code i}; a set of tied positions is worth the sum
 * over all (vertex, position) pairs it covers. A utility that is NaN or infinite is replaced by {@code -100}, as
 * NaiveNASlib does, so that a neuron with a broken value is preferably dropped.
 *
 * <p>The builder is mutable and validates each call; a {@link SizeSolver} reads it without changing it.
 * <pre>{@code
 * SizeProblem p = new SizeProblem();
 * int in = p.add(Kind.IMMUTABLE, 3, null);
 * int d1 = p.add(Kind.ABSORB, 4, new double[] {1, 2, 3, 4}, in);
 * int d2 = p.add(Kind.ABSORB, 3, new double[] {10, 0, 10}, in);
 * int cat = p.add(Kind.STACK, 7, null, d1, d2);
 * p.requestExact(d2, -1);
 * p.requestExact(cat, 0);                       // so d1 must grow by 1
 * SizeSolution s = SizeSolver.solve(p);         // d2 -> [0, 2], d1 -> [0, 1, 2, 3, -1]
 * }</pre>
 */
public final class SizeProblem {
    /** How a vertex's output neurons relate to its inputs' (NaiveNASlib's size traits). */
    public enum Kind {
        /** Output neurons of its own, independent of its inputs (Dense, Conv). */
        ABSORB,
        /** Output = the concatenation of its inputs' neurons. */
        STACK,
        /** Output neurons = each input's neurons, position by position. */
        INVARIANT,
        /** Own neurons that are all kept, none inserted (graph inputs). */
        IMMUTABLE
    }

    /** The utility that replaces NaN and infinite values (NaiveNASlib's choice). */
    public static final double INVALID_UTILITY = -100;

    /** Insert bounds above this act as this (keeps the solver's integer programs well scaled). */
    public static final int MAX_INSERT_BOUND = 1_000_000;

    /** What is asked for a vertex's new size. */
    record Request(boolean exact, int delta) {
    }

    private final List<Kind> kinds = new ArrayList<>();
    private final List<double[]> utilities = new ArrayList<>();
    private final List<int[]> inputs = new ArrayList<>();
    private int[] nouts = new int[8];
    private int[] minSizes = new int[8];
    private int[] insertBounds = new int[8];
    private Request[] requests = new Request[8];
    private final List<int[]> equalities = new ArrayList<>();
    private int allInsertBound = -1;

    /**
     * Adds a vertex.
     *
     * @param kind    how its neurons relate to its inputs'
     * @param nout    its number of output neurons, {@code >= 0}
     * @param utility value of keeping each output neuron ({@code nout} entries), or null for zeros; copied
     * @param inputs  ids of earlier vertices, in order; may repeat
     * @return the new vertex's id: 0, 1, 2, ... in the order of the calls
     * @throws IllegalArgumentException if an input id is unknown, a STACK's {@code nout} is not the sum of its
     *                                  inputs', an INVARIANT's input differs in size, a STACK or INVARIANT has no
     *                                  input, or the utility has the wrong length
     */
    public int add(Kind kind, int nout, double[] utility, int... inputs) {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(inputs, "inputs");
        int id = size();
        String what = "add " + kind + " vertex " + id;
        if (nout < 0) {
            throw new IllegalArgumentException(what + ": nout " + nout + " is negative");
        }
        for (int u : inputs) {
            if (u < 0 || u >= id) {
                throw new IllegalArgumentException(what + ": input " + u + " is not an earlier vertex (ids 0.."
                        + (id - 1) + ")");
            }
        }
        checkTies(what, kind, nout, inputs);
        double[] u = utility == null ? new double[nout] : utility.clone();
        if (u.length != nout) {
            throw new IllegalArgumentException(what + ": utility has " + u.length + " entries, nout is " + nout);
        }
        for (int i = 0; i < u.length; i++) {
            if (!Double.isFinite(u[i])) {
                u[i] = INVALID_UTILITY;
            }
        }
        if (id == nouts.length) {
            int n = 2 * id;
            nouts = Arrays.copyOf(nouts, n);
            minSizes = Arrays.copyOf(minSizes, n);
            insertBounds = Arrays.copyOf(insertBounds, n);
            requests = Arrays.copyOf(requests, n);
        }
        kinds.add(kind);
        utilities.add(u);
        this.inputs.add(inputs.clone());
        nouts[id] = nout;
        minSizes[id] = Math.min(1, nout);
        insertBounds[id] = allInsertBound >= 0 ? allInsertBound
                : Math.min(Math.max(10 * nout, 200), MAX_INSERT_BOUND);
        return id;
    }

    private void checkTies(String what, Kind kind, int nout, int[] ins) {
        if (kind == Kind.STACK || kind == Kind.INVARIANT) {
            if (ins.length == 0) {
                throw new IllegalArgumentException(what + ": a " + kind + " vertex needs at least one input");
            }
        }
        if (kind == Kind.STACK) {
            long sum = 0;
            StringBuilder terms = new StringBuilder();
            for (int u : ins) {
                sum += nouts[u];
                terms.append(terms.isEmpty() ? "" : " + ").append(nouts[u]);
            }
            if (sum != nout) {
                throw new IllegalArgumentException(what + ": nout " + nout + " != sum of input nouts " + terms
                        + " = " + sum + " (inputs " + Arrays.toString(ins) + ")");
            }
        } else if (kind == Kind.INVARIANT) {
            for (int u : ins) {
                if (nouts[u] != nout) {
                    throw new IllegalArgumentException(what + ": nout " + nout + " != nout " + nouts[u]
                            + " of input vertex " + u + " (inputs " + Arrays.toString(ins) + ")");
                }
            }
        }
    }

    /**
     * Asks that vertex {@code v} end with exactly {@code nout(v) + delta} neurons (a hard constraint). A second
     * request for the same vertex replaces the first.
     *
     * @throws IllegalArgumentException if {@code v} is unknown or the new size would be negative
     */
    public void requestExact(int v, int delta) {
        request(v, new Request(true, delta));
    }

    /**
     * Asks that vertex {@code v} end as close as possible to {@code nout(v) + delta} neurons, and different from
     * {@code nout(v)} when {@code delta != 0} (a soft target with weight 10^6, see {@link SizeSolver}). A second
     * request for the same vertex replaces the first.
     *
     * @throws IllegalArgumentException if {@code v} is unknown or the target would be negative
     */
    public void requestRelaxed(int v, int delta) {
        request(v, new Request(false, delta));
    }

    private void request(int v, Request r) {
        check(v, r.exact() ? "requestExact" : "requestRelaxed");
        if ((long) nouts[v] + r.delta() < 0) {
            throw new IllegalArgumentException((r.exact() ? "requestExact" : "requestRelaxed") + ": vertex " + v
                    + " (" + kinds.get(v) + ") has nout " + nouts[v] + ", delta " + r.delta()
                    + " would make it negative");
        }
        requests[v] = r;
    }

    /**
     * Requires that vertices {@code a} and {@code b} end with the same number of neurons (used to align both sides
     * when a vertex is removed). Both become participants of the problem.
     *
     * @throws IllegalArgumentException if a vertex is unknown
     */
    public void requireEqualSize(int a, int b) {
        check(a, "requireEqualSize");
        check(b, "requireEqualSize");
        equalities.add(new int[] {a, b});
    }

    /**
     * Sets the least number of neurons vertex {@code v} may end with; the default is {@code min(1, nout(v))}.
     *
     * @throws IllegalArgumentException if {@code v} is unknown or {@code min < 0}
     */
    public void setMinSize(int v, int min) {
        check(v, "setMinSize");
        if (min < 0) {
            throw new IllegalArgumentException("setMinSize: vertex " + v + " min size " + min + " is negative");
        }
        minSizes[v] = min;
    }

    /**
     * Sets the largest number of new neurons ({@code -1} entries) vertex {@code v}'s output list may have,
     * counting those it shares with tied vertices. The default is {@code max(10 * nout(v), 200)}; 0 means pruning
     * only; bounds above {@link #MAX_INSERT_BOUND} act as that.
     *
     * @throws IllegalArgumentException if {@code v} is unknown or {@code max < 0}
     */
    public void setInsertBound(int v, int max) {
        check(v, "setInsertBound");
        if (max < 0) {
            throw new IllegalArgumentException("setInsertBound: vertex " + v + " bound " + max + " is negative");
        }
        insertBounds[v] = Math.min(max, MAX_INSERT_BOUND);
    }

    /**
     * Sets the insert bound of every vertex added so far and of every vertex added later.
     *
     * @throws IllegalArgumentException if {@code max < 0}
     */
    public void setAllInsertBounds(int max) {
        if (max < 0) {
            throw new IllegalArgumentException("setAllInsertBounds: bound " + max + " is negative");
        }
        allInsertBound = Math.min(max, MAX_INSERT_BOUND);
        Arrays.fill(insertBounds, 0, size(), allInsertBound);
    }

    private void check(int v, String op) {
        if (v < 0 || v >= size()) {
            throw new IllegalArgumentException(op + ": vertex " + v + " is unknown (ids 0.." + (size() - 1) + ")");
        }
    }

    /** The number of vertices added. */
    public int size() {
        return kinds.size();
    }

    /** The kind of vertex {@code v}. */
    public Kind kind(int v) {
        return kinds.get(v);
    }

    /** The current number of output neurons of vertex {@code v}. */
    public int nout(int v) {
        check(v, "nout");
        return nouts[v];
    }

    /** A copy of the input ids of vertex {@code v}. */
    public int[] inputs(int v) {
        return inputs.get(v).clone();
    }

    /** A copy of the utilities of vertex {@code v}, non-finite values replaced by {@link #INVALID_UTILITY}. */
    public double[] utility(int v) {
        return utilities.get(v).clone();
    }

    /** The least size of vertex {@code v}. */
    public int minSize(int v) {
        check(v, "minSize");
        return minSizes[v];
    }

    /** The insert bound of vertex {@code v}. */
    public int insertBound(int v) {
        check(v, "insertBound");
        return insertBounds[v];
    }

    int[] inputsView(int v) {
        return inputs.get(v);
    }

    double[] utilityView(int v) {
        return utilities.get(v);
    }

    /** The request for vertex {@code v}, or null. */
    Request request(int v) {
        return requests[v];
    }

    /** A copy with the same vertices, sizes and bounds, and only vertex {@code v}'s request. */
    SizeProblem onlyRequest(int v) {
        SizeProblem copy = new SizeProblem();
        for (int u = 0; u < size(); u++) {
            copy.add(kinds.get(u), nouts[u], utilities.get(u), inputs.get(u));
            copy.minSizes[u] = minSizes[u];
            copy.insertBounds[u] = insertBounds[u];
        }
        copy.requests[v] = requests[v];
        return copy;
    }

    List<int[]> equalities() {
        return equalities;
    }

    /** Whether any vertex has a request or takes part in an equality. */
    boolean hasRequests() {
        if (!equalities.isEmpty()) {
            return true;
        }
        for (int v = 0; v < size(); v++) {
            if (requests[v] != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Which vertices the solver may change: those whose sizes are tied (through STACK and INVARIANT vertices, in
     * both directions, and through {@link #requireEqualSize}) to a vertex with a request or an equality; every
     * vertex when there is none of either ("pruning mode").
     */
    public boolean[] participants() {
        int n = size();
        UnionFind uf = new UnionFind(n);
        for (int v = 0; v < n; v++) {
            Kind k = kinds.get(v);
            if (k == Kind.STACK || k == Kind.INVARIANT) {
                for (int u : inputs.get(v)) {
                    uf.union(v, u);
                }
            }
        }
        for (int[] e : equalities) {
            uf.union(e[0], e[1]);
        }
        boolean[] out = new boolean[n];
        if (!hasRequests()) {
            Arrays.fill(out, true);
            return out;
        }
        boolean[] rootWanted = new boolean[n];
        for (int v = 0; v < n; v++) {
            if (requests[v] != null) {
                rootWanted[uf.find(v)] = true;
            }
        }
        for (int[] e : equalities) {
            rootWanted[uf.find(e[0])] = true;
        }
        for (int v = 0; v < n; v++) {
            out[v] = rootWanted[uf.find(v)];
        }
        return out;
    }
}
