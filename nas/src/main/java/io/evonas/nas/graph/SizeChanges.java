package io.evonas.nas.graph;

import io.evonas.nas.graph.size.SizeSolution;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Changes the sizes of vertices, solved jointly over every vertex tied to them through concatenations and
 * elementwise vertices (NaiveNASlib's {@code Δnout!}, {@code Δnin!} and {@code Δsize!}): for each vertex the
 * solver chooses which output neurons to keep — those of highest {@link Utility} — and where new ones go; each
 * vertex's inputs follow the outputs of the vertices feeding it. Exact requests are tried first, then relaxed,
 * then nothing changes and a warning is logged. The graph is untouched until a solution is found, so a failed
 * change leaves it exactly as it was.
 *
 * <pre>{@code
 * SizeChanges.deltaNout(rng, Delta.exact(conv1, 8), Delta.relaxed(dense, -4));
 * }</pre>
 */
public final class SizeChanges {
    private SizeChanges() {
    }

    /** Changes the output size of {@code v} by {@code delta} (exact, else relaxed, else nothing). */
    public static boolean deltaNout(Vertex v, int delta, RandomGenerator rng) {
        return deltaNout(Utility.DEFAULT, rng, Delta.exact(v, delta));
    }

    /** Several size changes solved as one problem, with the default utility. */
    public static boolean deltaNout(RandomGenerator rng, Delta... deltas) {
        return deltaNout(Utility.DEFAULT, rng, deltas);
    }

    /**
     * Several size changes solved as one problem.
     *
     * @return true when the graph changed as requested or relaxed; false when nothing could be done (the graph is
     *     unchanged and a warning was logged)
     */
    public static boolean deltaNout(Utility utility, RandomGenerator rng, Delta... deltas) {
        Objects.requireNonNull(utility, "utility");
        Objects.requireNonNull(rng, "rng");
        if (deltas.length == 0) {
            throw new IllegalArgumentException("size change: no vertex to change");
        }
        List<Vertex> seeds = new ArrayList<>();
        for (Delta d : deltas) {
            checkChangeable(d.vertex(), d.delta());
            seeds.add(d.vertex());
        }
        SizePlan plan = SizePlan.of(seeds, utility, List.of());
        for (Delta d : deltas) {
            int id = plan.id(d.vertex());
            if (d.relaxed()) {
                plan.problem.requestRelaxed(id, d.delta());
            } else {
                plan.problem.requestExact(id, d.delta());
            }
        }
        SizeSolution s = plan.solve();
        if (s.status() == SizeSolution.Status.NO_CHANGE) {
            return false;
        }
        plan.apply(s, rng);
        validate(plan.vertices());
        return true;
    }

    /**
     * Changes the input size of {@code v}, which must have a single input, by changing its input's output size.
     */
    public static boolean deltaNin(Vertex v, int delta, RandomGenerator rng) {
        if (v.inputs().size() != 1) {
            throw new IllegalArgumentException("size change: " + v + " has " + v.inputs().size()
                    + " inputs; name the input vertex whose output should change instead");
        }
        return deltaNout(v.inputs().getFirst(), delta, rng);
    }

    /**
     * Re-selects neurons without adding any: every vertex connected to {@code vertices} keeps the neurons
     * worth keeping under {@code utility}, so a negative utility removes a neuron (structured pruning), while
     * staying close to its current size minus its negative-utility neurons.
     *
     * @return whether anything changed
     */
    public static boolean prune(List<Vertex> vertices, Utility utility, RandomGenerator rng) {
        Objects.requireNonNull(utility, "utility");
        if (vertices.isEmpty()) {
            throw new IllegalArgumentException("prune: no vertices");
        }
        SizePlan plan = SizePlan.of(vertices, utility, List.of(), true);
        plan.problem.setAllInsertBounds(0);
        SizeSolution s = plan.solve();
        if (s.status() == SizeSolution.Status.NO_CHANGE) {
            return false;
        }
        boolean changed = plan.apply(s, rng);
        validate(plan.vertices());
        return changed;
    }

    static void checkChangeable(Vertex v, int delta) {
        if (v.kind() == SizeKind.IMMUTABLE && delta != 0) {
            throw new IllegalArgumentException("size change: " + v + " is immutable (" + v.computation()
                    + "); its size " + v.nout() + " cannot change by " + delta);
        }
        if (v.nout() + delta < 1) {
            throw new IllegalArgumentException("size change: " + v + " has " + v.nout() + " neurons; changing by "
                    + delta + " leaves none");
        }
    }

    static void validate(List<Vertex> vertices) {
        for (Vertex v : vertices) {
            if (v.validated()) {
                v.validate();
            }
        }
    }
}
