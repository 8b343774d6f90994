package io.evonas.nas.model;

import io.evonas.layers.ActivationLayer;
import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv2D;
import io.evonas.layers.Dense;
import io.evonas.layers.Dropout;
import io.evonas.layers.GlobalPool;
import io.evonas.layers.Layer;
import io.evonas.layers.Pool2D;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.random.RandomGenerator;

/**
 * Layer vertices (NaiveNASflux's {@code fluxvertex}): each wraps its layer in a {@link LayerComputation}, which
 * gives it the right size kind — Dense and Conv absorb size changes; batch norm, pooling, dropout and
 * activations are size-invariant.
 *
 * <pre>{@code
 * Vertex in = Vertex.input("in", 1, InputShape.CONV2D);
 * Vertex c1 = Vertices.conv2d("c1", in, 16, 3, Activation.RELU, rng);
 * Vertex p = Vertices.layer("pool", Pool2D.max(2), c1);
 * Vertex out = Vertices.dense("out", Vertices.globalMeanPool("gp", p), 10, Activation.IDENTITY, rng);
 * }</pre>
 */
public final class Vertices {
    private Vertices() {
    }

    /** A vertex computing {@code layer} of {@code input}. */
    public static Vertex layer(String name, Layer layer, Vertex input) {
        return Vertex.of(name, new LayerComputation(layer), input);
    }

    /** A dense layer from {@code input}'s size to {@code nout}. */
    public static Vertex dense(String name, Vertex input, int nout, Activation activation, RandomGenerator rng) {
        return layer(name, Dense.of(input.nout(), nout, activation, rng), input);
    }

    /** A stride-1 convolution with a square odd {@code k×k} kernel and "same" padding. */
    public static Vertex conv2d(String name, Vertex input, int nout, int k, Activation activation,
            RandomGenerator rng) {
        return layer(name, Conv2D.of(input.nout(), nout, ConvSpec.same(k, k), activation, rng), input);
    }

    /** Batch normalisation of {@code input}'s channels or features. */
    public static Vertex batchNorm(String name, Vertex input, Activation activation) {
        return layer(name, new BatchNorm(input.nout(), activation), input);
    }

    /** Max pooling with a square window of stride {@code window}. */
    public static Vertex maxPool(String name, Vertex input, int window) {
        return layer(name, Pool2D.max(window), input);
    }

    /** Global mean pooling: {@code [N, C, H, W] -> [N, C]}. */
    public static Vertex globalMeanPool(String name, Vertex input) {
        return layer(name, new GlobalPool(Pool2D.Kind.MEAN), input);
    }

    /** An activation function on its own. */
    public static Vertex activation(String name, Vertex input, Activation activation) {
        return layer(name, new ActivationLayer(activation), input);
    }

    /** Dropout with probability {@code p}. */
    public static Vertex dropout(String name, Vertex input, double p) {
        return layer(name, new Dropout(p), input);
    }
}
