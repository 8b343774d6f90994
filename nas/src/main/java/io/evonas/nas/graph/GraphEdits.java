package io.evonas.nas.graph;

import io.evonas.nas.graph.size.SizeSolution;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * Structural changes of a graph (NaiveNASlib's {@code insert!}, {@code remove!}, {@code create_edge!} and
 * {@code remove_edge!}). Each keeps every vertex's sizes in agreement with its inputs, resizing neighbours through
 * the size solver where needed, and is transactional: an operation that cannot be done leaves the graph exactly as
 * it was — refused arguments throw {@link IllegalArgumentException}, while an operation that is valid but has no
 * size solution logs a warning and returns {@code false}.
 */
public final class GraphEdits {
    private static final System.Logger LOG = System.getLogger(GraphEdits.class.getName());

    private GraphEdits() {
    }

    /**
     * Inserts after {@code v} the vertices {@code factory} builds on it (one vertex, or a chain whose last vertex
     * it returns): everything that read {@code v} reads the new vertex instead. The new vertex must have the
     * size of {@code v}; identity-initialised layers keep the graph's function.
     *
     * @return the new vertex
     * @throws IllegalArgumentException when {@code v} is not in the graph or the new vertex's size differs
     */
    public static Vertex insertAfter(CompGraph g, Vertex v, Function<Vertex, Vertex> factory) {
        requireIn(g, v, "insert after");
        List<Vertex> readers = new ArrayList<>(v.outputList());
        Vertex nv;
        try {
            nv = Objects.requireNonNull(factory.apply(v), "factory returned null");
        } catch (RuntimeException e) {
            // Undo whatever edges the factory made into v.
            v.outputList().retainAll(readers);
            throw e;
        }
        if (nv.nout() != v.nout() || readers.contains(nv) || nv == v || !CompGraph.reaches(v, nv)) {
            String why = nv.nout() != v.nout() ? "has size " + nv.nout() + ", " + v + " has " + v.nout()
                    : "does not read " + v;
            detachNew(v, readers);
            throw new IllegalArgumentException("insert after " + v + ": the new vertex " + nv + " " + why);
        }
        Set<Vertex> done = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Vertex o : readers) {
            if (!done.add(o)) {
                continue;
            }
            List<Vertex> ins = o.inputList();
            for (int k = 0; k < ins.size(); k++) {
                if (ins.get(k) == v) {
                    ins.set(k, nv);
                    v.outputList().remove(o);
                    nv.outputList().add(o);
                }
            }
        }
        g.outputList().replaceAll(o -> o == v ? nv : o);
        return nv;
    }

    private static void detachNew(Vertex v, List<Vertex> readers) {
        List<Vertex> added = new ArrayList<>(v.outputList());
        for (Vertex r : readers) {
            added.remove(r);
        }
        for (Vertex a : added) {
            v.outputList().remove(a);
        }
    }

    /**
     * Removes {@code v}, which must have a single input, connecting its input to everything that read it. When
     * {@code v} changes the size (an absorbing layer with nin ≠ nout) the sizes are aligned first, as
     * NaiveNASlib does: increase the smaller side, else decrease the bigger, else let the solver move both; a
     * change that cannot be aligned (a size cycle: the input is tied to the output) is refused with a warning.
     *
     * @return whether the vertex was removed
     * @throws IllegalArgumentException when {@code v} is an input or output of the graph, not in it, or has
     *     several inputs
     */
    public static boolean remove(CompGraph g, Vertex v, RandomGenerator rng) {
        requireIn(g, v, "remove");
        if (v.kind() == SizeKind.IMMUTABLE || g.inputs().contains(v)) {
            throw new IllegalArgumentException("remove " + v + ": an input vertex cannot be removed");
        }
        if (g.outputs().contains(v)) {
            throw new IllegalArgumentException("remove " + v + ": it is an output of the graph");
        }
        if (v.inputList().size() != 1) {
            throw new IllegalArgumentException("remove " + v + ": it has " + v.inputList().size()
                    + " inputs; remove edges until one is left");
        }
        Vertex u = v.inputList().getFirst();
        if (u.nout() != v.nout() && !alignForRemoval(u, v, rng)) {
            LOG.log(Level.WARNING, "remove " + v + ": cannot align the sizes of " + u + " (" + u.nout()
                    + ") and " + v + " (" + v.nout() + "), they are tied together; nothing changed");
            return false;
        }
        List<Vertex> readers = new ArrayList<>(v.outputList());
        u.outputList().remove(v);
        Set<Vertex> done = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Vertex o : readers) {
            if (done.add(o)) {
                o.inputList().replaceAll(x -> x == v ? u : x);
            }
            u.outputList().add(o);
        }
        v.inputList().clear();
        v.outputList().clear();
        SizeChanges.validate(CompGraph.connected(u));
        return true;
    }

    private static boolean alignForRemoval(Vertex u, Vertex v, RandomGenerator rng) {
        int delta = v.nout() - u.nout();
        List<Consumer<SizePlan>> attempts = List.of(
                // Increase the smaller side, keeping the other.
                p -> {
                    p.problem.requestExact(p.id(delta > 0 ? u : v), Math.abs(delta));
                    p.problem.requestExact(p.id(delta > 0 ? v : u), 0);
                },
                // Decrease the bigger side.
                p -> {
                    p.problem.requestExact(p.id(delta > 0 ? v : u), -Math.abs(delta));
                    p.problem.requestExact(p.id(delta > 0 ? u : v), 0);
                },
                // Both free, equal in the end.
                p -> p.problem.requireEqualSize(p.id(u), p.id(v)));
        for (Consumer<SizePlan> attempt : attempts) {
            SizePlan plan = SizePlan.of(List.of(u, v), Utility.DEFAULT, List.of());
            try {
                attempt.accept(plan);
            } catch (IllegalArgumentException e) {
                continue;
            }
            SizeSolution s = plan.solveExact();
            if (s != null) {
                plan.apply(s, rng);
                return true;
            }
        }
        return false;
    }

    /**
     * Adds an edge from {@code from} into the merge vertex {@code to} (as its last input). Into a sum or product,
     * {@code from}'s size is first changed to match; into a concatenation, {@code to} grows by {@code from}'s
     * size and the vertices reading it get new zero inputs, so their function is unchanged.
     *
     * @return whether the edge was added; false, with a warning, when the sizes cannot be aligned (the change
     *     would need a size cycle, or a concatenation feeds a vertex tied to other vertices)
     * @throws IllegalArgumentException when {@code to} is not a merge vertex, or the edge would make a cycle
     */
    public static boolean createEdge(CompGraph g, Vertex from, Vertex to, RandomGenerator rng) {
        requireIn(g, from, "create edge");
        requireIn(g, to, "create edge");
        if (!(to.computation() instanceof Merge)) {
            throw new IllegalArgumentException("create edge " + from + " -> " + to + ": " + to + " ("
                    + to.computation() + ") is not a merge vertex; add a concat or add vertex first");
        }
        if (from == to || CompGraph.reaches(to, from)) {
            throw new IllegalArgumentException("create edge " + from + " -> " + to + ": " + from
                    + " reads " + to + ", the edge would make a cycle");
        }
        if (to.kind() == SizeKind.INVARIANT) {
            if (from.nout() != to.nout()) {
                SizePlan plan = SizePlan.of(List.of(from, to), Utility.DEFAULT, List.of());
                SizeSolution s = null;
                if (from.kind() != SizeKind.IMMUTABLE) {
                    plan.problem.requestExact(plan.id(from), to.nout() - from.nout());
                    plan.problem.requestExact(plan.id(to), 0);
                    s = plan.solveExact();
                }
                if (s == null) {
                    LOG.log(Level.WARNING, "create edge " + from + " -> " + to + ": cannot change " + from
                            + " from " + from.nout() + " to " + to.nout() + " without changing " + to
                            + "; nothing changed");
                    return false;
                }
                plan.apply(s, rng);
            }
            connect(from, to);
            SizeChanges.validate(CompGraph.connected(to));
            return true;
        }
        Map<Vertex, int[][]> inputLists = new IdentityHashMap<>();
        Map<Vertex, int[]> outputLists = new IdentityHashMap<>();
        String problem = growStack(g, to, from.nout(), inputLists, outputLists);
        if (problem != null) {
            LOG.log(Level.WARNING, "create edge " + from + " -> " + to + ": " + problem + "; nothing changed");
            return false;
        }
        connect(from, to);
        for (Map.Entry<Vertex, int[][]> e : inputLists.entrySet()) {
            e.getKey().computation().resizeInPlace(e.getValue(), outputLists.get(e.getKey()), rng);
        }
        SizeChanges.validate(CompGraph.connected(to));
        return true;
    }

    /**
     * Works out how the vertices reading {@code to} follow when {@code extra} new neurons are appended to it:
     * absorbing readers get new input slices, transparent readers pass the new positions on. Fails when a
     * transparent reader is tied to a vertex outside this growth (a sum with another input), which would need
     * that vertex to grow too.
     */
    private static String growStack(CompGraph g, Vertex to, int extra, Map<Vertex, int[][]> inputLists,
            Map<Vertex, int[]> outputLists) {
        Map<Vertex, int[]> lists = new IdentityHashMap<>();
        int[] start = new int[to.nout() + extra];
        for (int i = 0; i < start.length; i++) {
            start[i] = i < to.nout() ? i : -1;
        }
        lists.put(to, start);
        Set<Vertex> below = new LinkedHashSet<>();
        below.add(to);
        collectReaders(to, below);
        for (Vertex d : SizePlan.topological(below)) {
            if (d == to) {
                continue;
            }
            List<Vertex> ins = d.inputList();
            int[][] inLists = new int[ins.size()][];
            for (int k = 0; k < ins.size(); k++) {
                inLists[k] = lists.get(ins.get(k));
            }
            switch (d.kind()) {
                case ABSORB -> inputLists.put(d, inLists);
                case INVARIANT -> {
                    for (int k = 1; k < ins.size(); k++) {
                        if (!Arrays.equals(inLists[k], inLists[0])) {
                            return d + " sums " + ins.get(0) + " and " + ins.get(k)
                                    + ", which would then differ in size";
                        }
                    }
                    lists.put(d, inLists[0]);
                    inputLists.put(d, inLists);
                    outputLists.put(d, inLists[0]);
                }
                case STACK -> {
                    List<Integer> joined = new ArrayList<>();
                    int offset = 0;
                    for (int k = 0; k < ins.size(); k++) {
                        int n = ins.get(k).nout();
                        if (inLists[k] == null) {
                            for (int i = 0; i < n; i++) {
                                joined.add(offset + i);
                            }
                        } else {
                            for (int i : inLists[k]) {
                                joined.add(i < 0 ? -1 : offset + i);
                            }
                        }
                        offset += n;
                    }
                    lists.put(d, joined.stream().mapToInt(Integer::intValue).toArray());
                    inputLists.put(d, inLists);
                    outputLists.put(d, lists.get(d));
                }
                case IMMUTABLE -> throw new IllegalStateException("an immutable vertex " + d + " has inputs");
            }
            if (d.kind().transparent() && g.outputs().contains(d)) {
                return "the graph output " + d + " would change size";
            }
        }
        if (g.outputs().contains(to)) {
            return "the graph output " + to + " would change size";
        }
        return null;
    }

    /** The readers of {@code v}, and recursively those of transparent readers, into {@code into}. */
    private static void collectReaders(Vertex v, Set<Vertex> into) {
        for (Vertex o : v.outputList()) {
            if (into.add(o) && o.kind().transparent()) {
                collectReaders(o, into);
            }
        }
    }

    /**
     * Removes an edge from {@code from} into the merge vertex {@code to} (the last, where there are several).
     * From a concatenation, {@code to}
     * loses {@code from}'s block, and the solver drops the same positions from every vertex tied to them; from
     * a sum or product nothing else changes. A merge vertex marked {@link Vertex#removeIfSingleInput} and left
     * with one input is removed too.
     *
     * @return whether the edge was removed (false with a warning when the sizes cannot be aligned)
     * @throws IllegalArgumentException when there is no such edge, {@code to} is not a merge vertex or would be
     *     left without inputs, or {@code from} would be left without readers
     */
    public static boolean removeEdge(CompGraph g, Vertex from, Vertex to, RandomGenerator rng) {
        requireIn(g, to, "remove edge");
        int k = to.inputList().lastIndexOf(from);
        if (k < 0) {
            throw new IllegalArgumentException("remove edge " + from + " -> " + to + ": no such edge");
        }
        if (!(to.computation() instanceof Merge)) {
            throw new IllegalArgumentException("remove edge " + from + " -> " + to + ": " + to + " ("
                    + to.computation() + ") is not a merge vertex");
        }
        if (to.inputList().size() < 2) {
            throw new IllegalArgumentException("remove edge " + from + " -> " + to + ": it is the only input of "
                    + to);
        }
        if (from.outputList().size() < 2 && !g.outputs().contains(from)) {
            throw new IllegalArgumentException("remove edge " + from + " -> " + to + ": " + from
                    + " would be left without readers; remove the vertex instead");
        }
        if (to.kind() == SizeKind.STACK) {
            SizePlan.Slot slot = new SizePlan.Slot(to, k);
            SizePlan plan = SizePlan.of(List.of(to), Utility.DEFAULT, List.of(slot));
            int standIn = plan.standIn(slot);
            plan.problem.setMinSize(standIn, 0);
            plan.problem.requestExact(standIn, -from.nout());
            SizeSolution s = plan.solveExact();
            if (s == null) {
                LOG.log(Level.WARNING, "remove edge " + from + " -> " + to + ": cannot drop " + from.nout()
                        + " neurons from " + to + " and the vertices tied to it; nothing changed");
                return false;
            }
            plan.apply(s, rng);
        }
        to.inputList().remove(k);
        from.outputList().remove(to);
        SizeChanges.validate(CompGraph.connected(to));
        if (to.removeIfSingleInput() && to.inputList().size() == 1 && !g.outputs().contains(to)) {
            remove(g, to, rng);
        }
        return true;
    }

    private static void connect(Vertex from, Vertex to) {
        to.inputList().add(from);
        from.outputList().add(to);
    }

    private static void requireIn(CompGraph g, Vertex v, String op) {
        Objects.requireNonNull(g, "graph");
        Objects.requireNonNull(v, "vertex");
        for (Vertex w : g.vertices()) {
            if (w == v) {
                return;
            }
        }
        throw new IllegalArgumentException(op + ": " + v + " is not in the graph");
    }
}
