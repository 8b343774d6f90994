package io.evonas.nas.graph;

/**
 * The value of keeping each output neuron of a vertex; the size solver keeps the neurons with the highest total
 * value. Negative values ask for a neuron to go (pruning).
 */
@FunctionalInterface
public interface Utility {
    /** One value per output neuron of {@code v}. */
    double[] of(Vertex v);

    /**
     * The computation's own utility where it has one, else 1 for each neuron of an absorbing or immutable vertex
     * and 0 for a transparent one (its neurons are those of other vertices, which carry their value).
     */
    Utility DEFAULT = v -> {
        double[] u = v.computation().utility();
        if (u != null) {
            return u;
        }
        double[] d = new double[v.nout()];
        if (!v.kind().transparent()) {
            java.util.Arrays.fill(d, 1.0);
        }
        return d;
    };
}
