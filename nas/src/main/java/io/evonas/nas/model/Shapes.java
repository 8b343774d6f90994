package io.evonas.nas.model;

import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Input;
import io.evonas.nas.graph.Merge;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Shape;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The spatial shape algebra of a graph: how convolutions, pooling, strides and flattening change feature-map
 * sizes, traced from input shapes without computing anything. Edges, and later crossovers, may only connect
 * vertices whose feature maps match, and no downsampling may empty a map.
 */
public final class Shapes {
    private Shapes() {
    }

    /**
     * The output shape of every vertex for {@code inputShapes} (batch first, one per graph input).
     *
     * @throws IllegalArgumentException naming the vertex when a shape does not fit or a feature map would be
     *     empty
     */
    public static Map<Vertex, Shape> trace(CompGraph g, List<Shape> inputShapes) {
        if (inputShapes.size() != g.inputs().size()) {
            throw new IllegalArgumentException("shapes: " + inputShapes.size() + " shapes for " + g.inputs().size()
                    + " inputs");
        }
        Map<Vertex, Shape> shapes = new IdentityHashMap<>();
        for (int i = 0; i < inputShapes.size(); i++) {
            Vertex in = g.inputs().get(i);
            Shape s = inputShapes.get(i);
            Input spec = (Input) in.computation();
            if (s.rank() != 2 + spec.shape().spatialDims() || s.dim(1) != spec.size()) {
                throw new IllegalArgumentException("shapes: input " + in + " (" + spec + ") cannot take " + s);
            }
            shapes.put(in, s);
        }
        for (Vertex v : g.vertices()) {
            if (shapes.containsKey(v)) {
                continue;
            }
            List<Shape> ins = new ArrayList<>();
            for (Vertex u : v.inputs()) {
                ins.add(shapes.get(u));
            }
            Shape out;
            try {
                out = outputShape(v, ins);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("shapes: vertex " + v + ": " + e.getMessage(), e);
            }
            for (int d = 1; d < out.rank(); d++) {
                if (out.dim(d) < 1) {
                    throw new IllegalArgumentException("shapes: vertex " + v + " would output an empty feature map "
                            + out + " from " + ins);
                }
            }
            shapes.put(v, out);
        }
        return shapes;
    }

    /** The shape {@code v} outputs for its inputs' shapes. */
    public static Shape outputShape(Vertex v, List<Shape> inputs) {
        if (v.computation() instanceof Merge m) {
            Shape first = inputs.getFirst();
            int channels = 0;
            for (Shape s : inputs) {
                if (!sameExceptChannels(first, s)) {
                    throw new IllegalArgumentException(m + " of " + inputs + ": feature maps differ");
                }
                if (m != Merge.CONCAT && s.dim(1) != first.dim(1)) {
                    throw new IllegalArgumentException(m + " of " + inputs + ": sizes differ");
                }
                channels += s.dim(1);
            }
            return m == Merge.CONCAT ? first.withDim(1, channels) : first;
        }
        if (v.computation() instanceof Differentiable d) {
            return d.outputShape(inputs);
        }
        throw new IllegalArgumentException(v.computation() + " has no shape rule (implement Differentiable)");
    }

    /** Whether two shapes agree on every axis but the channel axis (same batch, same feature map). */
    public static boolean sameExceptChannels(Shape a, Shape b) {
        if (a.rank() != b.rank()) {
            return false;
        }
        for (int d = 0; d < a.rank(); d++) {
            if (d != 1 && a.dim(d) != b.dim(d)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether an edge from {@code from} into {@code to} fits the feature maps: {@code from}'s output and
     * {@code to}'s inputs must agree outside the channel axis.
     */
    public static boolean canConnect(Map<Vertex, Shape> shapes, Vertex from, Vertex to) {
        Shape f = shapes.get(from);
        if (f == null || to.inputs().isEmpty()) {
            return false;
        }
        Shape t = shapes.get(to.inputs().getFirst());
        return t != null && sameExceptChannels(f, t);
    }
}
