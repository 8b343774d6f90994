package io.evonas.nas.model;

import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv2D;
import io.evonas.layers.Dense;
import io.evonas.layers.Layer;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Changes that need to know the layers: a convolution's kernel size, a layer's activation, inserting a layer
 * that starts as the identity, and adding an edge only where the feature maps match.
 */
public final class LayerEdits {
    private LayerEdits() {
    }

    /** The layer of a layer vertex, with pending surgery applied. */
    public static Layer layerOf(Vertex v) {
        if (v.computation() instanceof LayerComputation l) {
            return l.layer();
        }
        throw new IllegalArgumentException(v + " (" + v.computation() + ") is not a layer vertex");
    }

    /**
     * Changes the kernel of a Conv2D vertex to {@code kh×kw}: shrinking keeps the taps nearest the centre,
     * growing pads zeros around the kernel keeping its phase, and padding is recomputed so the feature map keeps
     * its size.
     */
    public static void changeKernelSize(Vertex v, int kh, int kw) {
        if (!(layerOf(v) instanceof Conv2D c)) {
            throw new IllegalArgumentException("change kernel size: " + v + " (" + v.computation()
                    + ") is not a Conv2D vertex");
        }
        c.changeKernelSizeInPlace(kh, kw);
    }

    /** Changes the activation of a Dense, Conv2D or BatchNorm vertex. */
    public static void changeActivation(Vertex v, Activation activation) {
        switch (layerOf(v)) {
            case Dense d -> d.changeActivationInPlace(activation);
            case Conv2D c -> c.changeActivationInPlace(activation);
            case BatchNorm b -> b.changeActivationInPlace(activation);
            default -> throw new IllegalArgumentException("change activation: " + v + " (" + v.computation()
                    + ") has no activation to change");
        }
    }

    /**
     * Inserts after {@code v} a layer that starts as the identity, so the graph's function is unchanged: a Dense
     * identity matrix for dense features, a Conv2D centre tap ({@code k×k}, odd, "same" padding) for feature
     * maps. The activation is applied after the identity (ReLU keeps the function only where the input is
     * non-negative).
     */
    public static Vertex insertIdentity(CompGraph g, Vertex v, String name, boolean conv, int k,
            Activation activation) {
        int n = v.nout();
        Layer layer = conv ? Conv2D.identity(n, k, k, activation) : Dense.identity(n, activation);
        return GraphEdits.insertAfter(g, v, in -> Vertices.layer(name, layer, in));
    }

    /**
     * As {@link GraphEdits#createEdge}, but first checks with the shape algebra that {@code from}'s feature map
     * matches {@code to}'s inputs for {@code inputShapes}.
     */
    public static boolean createEdge(CompGraph g, List<Shape> inputShapes, Vertex from, Vertex to,
            RandomGenerator rng) {
        Map<Vertex, Shape> shapes = Shapes.trace(g, inputShapes);
        if (!Shapes.canConnect(shapes, from, to)) {
            throw new IllegalArgumentException("create edge " + from + " -> " + to + ": feature maps differ, "
                    + from + " gives " + shapes.get(from) + ", " + to + " reads "
                    + shapes.get(to.inputs().getFirst()));
        }
        return GraphEdits.createEdge(g, from, to, rng);
    }

    /**
     * As {@link GraphEdits#createEdgeThroughMerge}, but first checks with the shape algebra that {@code from}'s
     * feature map matches {@code v}'s for {@code inputShapes}.
     */
    public static java.util.Optional<Vertex> createEdgeThroughMerge(CompGraph g, List<Shape> inputShapes,
            Vertex from, Vertex v, io.evonas.nas.graph.Merge merge, String name, RandomGenerator rng) {
        Map<Vertex, Shape> shapes = Shapes.trace(g, inputShapes);
        Shape f = shapes.get(from);
        Shape t = shapes.get(v);
        if (f == null || t == null || !Shapes.sameExceptChannels(f, t)) {
            throw new IllegalArgumentException("create edge " + from + " -> " + v + ": feature maps differ, " + from
                    + " gives " + f + ", " + v + " gives " + t);
        }
        return GraphEdits.createEdgeThroughMerge(g, from, v, merge, name, rng);
    }
}
