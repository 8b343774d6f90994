package io.evonas.nas.graph;

import io.evonas.nas.graph.size.SizeChangeException;
import io.evonas.nas.graph.size.SizeProblem;
import io.evonas.nas.graph.size.SizeSolution;
import io.evonas.nas.graph.size.SizeSolver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * A graph's size problem: every vertex connected to the seeds, in topological order, as a {@link SizeProblem},
 * and the way back from the solver's index lists to neuron surgery on the computations. An edge can be
 * detached: the problem then reads a stand-in for its source, so the solver can drop that input's block from a
 * concatenation without touching the source itself.
 */
final class SizePlan {
    /** An input slot of a vertex whose source the problem replaces by a stand-in. */
    record Slot(Vertex vertex, int input) {
    }

    private final List<Vertex> order;
    private final Map<Vertex, Integer> ids = new IdentityHashMap<>();
    private final Map<Vertex, Map<Integer, Integer>> standIns = new IdentityHashMap<>();
    private final Map<Slot, Integer> standInOfSlot = new java.util.HashMap<>();
    final SizeProblem problem = new SizeProblem();
    /** The vertices whose utility is read; null for all. */
    private Set<Vertex> valued;
    /** A vertex whose readers read {@link #cutStandIn} instead, or null. */
    private Vertex cut;
    private int cutStandIn = -1;

    private SizePlan(List<Vertex> order) {
        this.order = order;
    }

    static SizePlan of(Collection<Vertex> seeds, Utility utility, List<Slot> detached, boolean pruning) {
        return of(seeds, utility, detached, pruning, null);
    }

    /**
     * As {@link #of(Collection, Utility, List, boolean)}, and with every reader of {@code cut} reading one
     * stand-in instead ({@link #cutStandIn()}): ties through {@code cut}'s output are kept, those to its inputs
     * are not.
     */
    static SizePlan of(Collection<Vertex> seeds, Utility utility, List<Slot> detached, boolean pruning,
            Vertex cut) {
        Set<Vertex> all = new LinkedHashSet<>();
        for (Vertex s : seeds) {
            if (!all.contains(s)) {
                all.addAll(CompGraph.connected(s));
            }
        }
        SizePlan plan = new SizePlan(topological(all));
        for (Slot d : detached) {
            plan.standIns.computeIfAbsent(d.vertex(), k -> new java.util.HashMap<>()).put(d.input(), -1);
        }
        plan.valued = pruning ? null : tiedTo(seeds, detached);
        plan.cut = cut;
        for (Vertex v : plan.order) {
            plan.add(v, utility);
            if (v == cut) {
                plan.cutStandIn = plan.problem.add(SizeProblem.Kind.ABSORB, v.nout(), null);
            }
        }
        return plan;
    }

    /**
     * The vertices whose sizes are tied to {@code seeds} through transparent vertices: the only ones the solver
     * may change when it has requests, so the only ones whose utility is needed (utility can cost a pass over the
     * weights). Stand-ins are tied to the vertex they feed.
     */
    private static Set<Vertex> tiedTo(Collection<Vertex> seeds, List<Slot> detached) {
        Set<Vertex> tied = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Vertex> todo = new ArrayDeque<>();
        for (Vertex s : seeds) {
            if (tied.add(s)) {
                todo.add(s);
            }
        }
        for (Slot d : detached) {
            if (tied.add(d.vertex())) {
                todo.add(d.vertex());
            }
        }
        while (!todo.isEmpty()) {
            Vertex v = todo.poll();
            if (v.kind().transparent()) {
                for (Vertex in : v.inputList()) {
                    if (tied.add(in)) {
                        todo.add(in);
                    }
                }
            }
            for (Vertex o : v.outputList()) {
                if (o.kind().transparent() && tied.add(o)) {
                    todo.add(o);
                }
            }
        }
        return tied;
    }

    static SizePlan of(Collection<Vertex> seeds, Utility utility, List<Slot> detached) {
        return of(seeds, utility, detached, false);
    }

    /** Solves with fallbacks: exact, relaxed, no change. */
    SizeSolution solve() {
        checkValued();
        return SizeSolver.solve(problem);
    }

    private void checkValued() {
        if (valued == null) {
            return;
        }
        boolean[] participants = problem.participants();
        for (Vertex v : order) {
            if (participants[ids.get(v)] && !valued.contains(v)) {
                throw new IllegalStateException("size change: " + v + " takes part but its utility was not read");
            }
        }
    }

    private void add(Vertex v, Utility utility) {
        List<Vertex> ins = v.inputList();
        int[] inIds = new int[ins.size()];
        Map<Integer, Integer> detached = standIns.get(v);
        for (int k = 0; k < inIds.length; k++) {
            if (detached != null && detached.containsKey(k)) {
                Vertex src = ins.get(k);
                int standIn = problem.add(SizeProblem.Kind.ABSORB, src.nout(), utilityOf(src, utility, true));
                detached.put(k, standIn);
                standInOfSlot.put(new Slot(v, k), standIn);
                inIds[k] = standIn;
            } else if (ins.get(k) == cut) {
                inIds[k] = cutStandIn;
            } else {
                inIds[k] = ids.get(ins.get(k));
            }
        }
        SizeProblem.Kind kind = switch (v.kind()) {
            case IMMUTABLE -> SizeProblem.Kind.IMMUTABLE;
            case ABSORB -> SizeProblem.Kind.ABSORB;
            case STACK -> SizeProblem.Kind.STACK;
            case INVARIANT -> SizeProblem.Kind.INVARIANT;
        };
        boolean read = valued == null || valued.contains(v);
        ids.put(v, problem.add(kind, v.nout(), utilityOf(v, utility, read), inIds));
    }

    private static double[] utilityOf(Vertex v, Utility utility, boolean read) {
        if (!read) {
            return null;
        }
        double[] u = utility.of(v);
        if (u == null || u.length != v.nout()) {
            throw new IllegalArgumentException("size change: utility of " + v + " has "
                    + (u == null ? "no values" : u.length + " values") + " for " + v.nout() + " neurons");
        }
        return u;
    }

    int id(Vertex v) {
        Integer id = ids.get(v);
        if (id == null) {
            throw new IllegalArgumentException("size change: " + v + " is not connected to the changed vertices");
        }
        return id;
    }

    /** The stand-in that the readers of the cut vertex read. */
    int cutStandIn() {
        return cutStandIn;
    }

    int standIn(Slot slot) {
        return standInOfSlot.get(slot);
    }

    /** The exact solution of the problem's requests, or null when there is none. */
    SizeSolution solveExact() {
        checkValued();
        try {
            return SizeSolver.solveExact(problem);
        } catch (SizeChangeException e) {
            return null;
        }
    }

    /** The vertices of the problem, each after its inputs. */
    List<Vertex> vertices() {
        return order;
    }

    /**
     * Applies the solution: every vertex whose output list or whose inputs' lists are not the identity is
     * resized. Nothing is changed when every list is the identity.
     *
     * @return whether anything changed
     */
    boolean apply(SizeSolution solution, RandomGenerator rng) {
        int[][] outs = solution.outputs();
        boolean changed = false;
        for (Vertex v : order) {
            if (v.kind() == SizeKind.IMMUTABLE) {
                continue;
            }
            // Sizes from the problem: the graph's own change as producers are resized.
            int id = ids.get(v);
            int[] out = identity(outs[id], problem.nout(id)) ? null : outs[id];
            List<Vertex> ins = v.inputList();
            int[][] inLists = new int[ins.size()][];
            boolean any = out != null;
            Map<Integer, Integer> detached = standIns.get(v);
            for (int k = 0; k < ins.size(); k++) {
                int src = detached != null && detached.containsKey(k) ? detached.get(k) : ids.get(ins.get(k));
                int[] list = outs[src];
                if (!identity(list, problem.nout(src))) {
                    inLists[k] = list;
                    any = true;
                }
            }
            if (any) {
                v.computation().resizeInPlace(inLists, out, rng);
                changed = true;
            }
        }
        return changed;
    }

    static boolean identity(int[] list, int n) {
        if (list == null) {
            return true;
        }
        if (list.length != n) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (list[i] != i) {
                return false;
            }
        }
        return true;
    }

    /** Kahn's algorithm over the input edges inside {@code set}, keeping the set's order among ready vertices. */
    static List<Vertex> topological(Set<Vertex> set) {
        Map<Vertex, Integer> pending = new IdentityHashMap<>();
        Deque<Vertex> ready = new ArrayDeque<>();
        for (Vertex v : set) {
            int n = 0;
            for (Vertex in : v.inputList()) {
                if (set.contains(in)) {
                    n++;
                }
            }
            pending.put(v, n);
            if (n == 0) {
                ready.add(v);
            }
        }
        List<Vertex> order = new ArrayList<>(set.size());
        while (!ready.isEmpty()) {
            Vertex v = ready.poll();
            order.add(v);
            for (Vertex o : v.outputList()) {
                if (!set.contains(o)) {
                    continue;
                }
                // A vertex that reads v several times waits for each of those edges.
                int left = pending.merge(o, -1, Integer::sum);
                if (left == 0) {
                    ready.add(o);
                }
            }
        }
        if (order.size() != set.size()) {
            throw new IllegalStateException("size change: the graph has a cycle");
        }
        return order;
    }
}
