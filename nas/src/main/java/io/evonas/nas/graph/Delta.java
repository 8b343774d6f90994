package io.evonas.nas.graph;

import java.util.Objects;

/**
 * A requested change of a vertex's output size: exact (a hard constraint) or relaxed (a target the solver
 * approaches as closely as the ties allow, but changes the size by at least one when {@code delta != 0}).
 */
public record Delta(Vertex vertex, int delta, boolean relaxed) {
    public Delta {
        Objects.requireNonNull(vertex, "vertex");
    }

    public static Delta exact(Vertex v, int delta) {
        return new Delta(v, delta, false);
    }

    public static Delta relaxed(Vertex v, int delta) {
        return new Delta(v, delta, true);
    }
}
