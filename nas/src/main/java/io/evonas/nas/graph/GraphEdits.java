package io.evonas.nas.graph;

import io.evonas.nas.graph.size.SizeSolution;
import io.evonas.nas.graph.size.TieInserts;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
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
        bypass(g, v);
        SizeChanges.validate(CompGraph.connected(u));
        return true;
    }

    /**
     * Takes the single-input vertex {@code x} out of the graph: what read it reads its input instead, in the same
     * places (a graph output too), and {@code x} is left without edges.
     */
    private static void bypass(CompGraph g, Vertex x) {
        Vertex u = x.inputList().getFirst();
        List<Vertex> readers = new ArrayList<>(x.outputList());
        u.outputList().remove(x);
        Set<Vertex> done = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Vertex o : readers) {
            if (done.add(o)) {
                o.inputList().replaceAll(y -> y == x ? u : y);
            }
            u.outputList().add(o);
        }
        g.outputList().replaceAll(o -> o == x ? u : o);
        x.inputList().clear();
        x.outputList().clear();
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
     * size, the vertices reading it get new zero inputs, so their function is unchanged, and the vertices tied to
     * it (a sum's other input) get as many new neurons in the matching place.
     *
     * @return whether the edge was added; false, with a warning, when the sizes cannot be aligned (the change
     *     would need a size cycle, or would change the size of a graph output)
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
        String problem = appendBlock(g, from, to, rng);
        if (problem != null) {
            LOG.log(Level.WARNING, "create edge " + from + " -> " + to + ": " + problem + "; nothing changed");
            return false;
        }
        SizeChanges.validate(CompGraph.connected(to));
        return true;
    }

    /**
     * Adds an edge from {@code from} to {@code v} through a new merge vertex (NaiveGAflux's
     * {@code AddEdgeMutation}): {@code merge} of {@code v} is inserted after {@code v}, then the edge goes from
     * {@code from} into it. The merge vertex removes itself if later left with one input. Transactional: when the
     * edge cannot be added the merge vertex is taken out again and the graph is as it was.
     *
     * @return the new merge vertex, or empty when the sizes could not be aligned (a warning says why)
     */
    public static java.util.Optional<Vertex> createEdgeThroughMerge(CompGraph g, Vertex from, Vertex v,
            Merge merge, String name, RandomGenerator rng) {
        requireIn(g, from, "create edge");
        requireIn(g, v, "create edge");
        if (from == v || CompGraph.reaches(v, from)) {
            throw new IllegalArgumentException("create edge " + from + " -> " + v + ": " + from + " reads " + v
                    + ", the edge would make a cycle");
        }
        Vertex m = insertAfter(g, v, in -> Vertex.of(name, merge, in).setRemoveIfSingleInput(true));
        if (createEdge(g, from, m, rng)) {
            return java.util.Optional.of(m);
        }
        // Undo the insertion exactly: readers of m read v again, in the same places.
        bypass(g, m);
        return java.util.Optional.empty();
    }

    /**
     * Connects {@code from} as the last input of the concatenation {@code to}, with {@code to}'s new block
     * followed everywhere it is tied: {@code to}'s readers see {@code n} new positions after its old last one,
     * and every vertex tied to that position (a sum's other input, say) gets {@code n} new neurons there, as the
     * ties alone decide ({@link TieInserts}). Absorbing readers get zero inputs, so the function is unchanged.
     * Nothing is changed, and the reason returned, when the sizes would not add up (a size cycle: the new
     * neurons would reach {@code to}'s own inputs) or a graph output would change size.
     */
    private static String appendBlock(CompGraph g, Vertex from, Vertex to, RandomGenerator rng) {
        int m = to.nout();
        int n = from.nout();
        // Only the ties matter here, not the utilities.
        SizePlan plan = SizePlan.of(List.of(to, from), v -> new double[v.nout()], List.of(), true, to);
        int t = plan.cutStandIn();
        int[][] lists = TieInserts.insertAfter(plan.problem, t, m - 1, n);
        for (Vertex v : plan.vertices()) {
            if (lists[plan.id(v)] != null) {
                if (v == to || v == from || to.inputList().contains(v)) {
                    return "the new neurons would have to appear in " + v + ", which feeds " + to
                            + " (a size cycle)";
                }
                if (g.outputs().contains(v)) {
                    return "the graph output " + v + " would change size";
                }
            }
        }
        if (g.outputs().contains(to)) {
            return "the graph output " + to + " would change size";
        }
        // Outputs of every vertex with a list; inputs of every vertex reading one of them, or reading to.
        connect(from, to);
        for (Vertex v : plan.vertices()) {
            if (v == to) {
                continue;
            }
            int[] out = lists[plan.id(v)];
            List<Vertex> ins = v.inputList();
            int[][] inLists = new int[ins.size()][];
            boolean any = out != null;
            for (int k = 0; k < ins.size(); k++) {
                Vertex u = ins.get(k);
                inLists[k] = u == to ? lists[t] : lists[plan.id(u)];
                any |= inLists[k] != null;
            }
            if (any) {
                v.computation().resizeInPlace(inLists, out, rng);
            }
        }
        return null;
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
