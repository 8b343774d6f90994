package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Tape;
import io.evonas.layers.Conv2D;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Loss;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A convolutional graph with a residual and a fork: shapes, training, lazy surgery, kernel and activation. */
class ConvGraphTest {
    private final SplittableRandom rng = new SplittableRandom(5);
    private final Vertex in = Vertex.input("in", 1, InputShape.CONV2D);
    private final Vertex stem = Vertices.conv2d("stem", in, 6, 3, Activation.RELU, rng);
    private final Vertex bn = Vertices.batchNorm("bn", stem, Activation.IDENTITY);
    private final Vertex a = Vertices.conv2d("a", bn, 6, 3, Activation.RELU, rng);
    private final Vertex res = Vertex.add("res", bn, a);
    private final Vertex pool = Vertices.maxPool("pool", res, 2);
    private final Vertex f1 = Vertices.conv2d("f1", pool, 3, 1, Activation.RELU, rng);
    private final Vertex f2 = Vertices.conv2d("f2", pool, 5, 3, Activation.RELU, rng);
    private final Vertex fork = Vertex.concat("fork", f1, f2);
    private final Vertex gp = Vertices.globalMeanPool("gp", fork);
    private final Vertex out = Vertices.dense("out", gp, 3, Activation.IDENTITY, rng);
    private final CompGraph g = new CompGraph(in, out);
    private final Tensor x = Tensor.uniform(new SplittableRandom(1), 0, 1, 4, 1, 8, 8);

    private float[] infer(CompGraph graph) {
        ForwardPass pass = new ForwardPass(new Tape(), false, new SplittableRandom(1));
        return new GraphModel(graph).forward(pass.tape().constant(x), pass).value().toArray();
    }

    @Test
    void shapesAreTracedWithoutComputing() {
        Map<Vertex, Shape> shapes = Shapes.trace(g, List.of(Shape.of(4, 1, 8, 8)));
        assertEquals(Shape.of(4, 6, 8, 8), shapes.get(res));
        assertEquals(Shape.of(4, 6, 4, 4), shapes.get(pool));
        assertEquals(Shape.of(4, 8, 4, 4), shapes.get(fork));
        assertEquals(Shape.of(4, 3), shapes.get(out));
        assertEquals(Shape.of(4, 3), new GraphModel(g).outputShape(Shape.of(4, 1, 8, 8)));
        assertTrue(Shapes.canConnect(shapes, bn, res));
        assertFalse(Shapes.canConnect(shapes, bn, fork), "8×8 maps cannot join 4×4 ones");
        var e = assertThrows(IllegalArgumentException.class, () -> LayerEdits.createEdge(g,
                List.of(Shape.of(4, 1, 8, 8)), bn, fork, rng));
        assertTrue(e.getMessage().contains("feature maps differ"), e.getMessage());
        // Downsampling a 1×1 map empties it.
        var empty = assertThrows(IllegalArgumentException.class, () -> Shapes.trace(g, List.of(Shape.of(4, 1, 1, 1))));
        assertTrue(empty.getMessage().contains("pool"), empty.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shapes.trace(g, List.of(Shape.of(4, 2, 8, 8))));
    }

    @Test
    void aGraphTrainsLikeALayer() {
        Trainer t = new Trainer(new GraphModel(g), Loss.crossEntropy(), Momentum.of(0.05, 0.9), rng);
        Batch batch = Batch.of(x, new int[] {0, 1, 2, 1});
        float first = t.step(batch);
        float last = first;
        for (int i = 0; i < 30; i++) {
            last = t.step(batch);
        }
        assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);
    }

    @Test
    void surgeryIsLazyAndComposed() {
        float[] before = infer(g);
        Conv2D conv = (Conv2D) LayerEdits.layerOf(f2);
        Tensor weight = conv.weight().value();
        assertTrue(SizeChanges.deltaNout(rng, Delta.exact(f2, 2)));
        assertTrue(SizeChanges.deltaNout(rng, Delta.exact(f2, 1)));
        LayerComputation c = (LayerComputation) f2.computation();
        assertTrue(c.hasPendingResize());
        assertEquals(8, f2.nout());
        assertEquals(11, fork.nout());
        assertSame(weight, conv.weight().value(), "nothing is copied until the layer is used");
        CompGraph copy = g.copy();
        assertFalse(c.hasPendingResize(), "copying forces the surgery");
        assertNotSame(weight, conv.weight().value());
        assertEquals(Shape.of(8, 6, 3, 3), conv.weight().shape());
        assertArrayEquals(before, infer(g), 1e-5f);
        assertArrayEquals(before, infer(copy), 1e-5f);
    }

    @Test
    void residualTiesSizesAcrossTheSum() {
        assertTrue(SizeChanges.deltaNout(rng, Delta.exact(a, 2)));
        assertEquals(8, stem.nout());
        assertEquals(8, bn.nout());
        assertEquals(8, res.nout());
        assertEquals(8, ((Conv2D) LayerEdits.layerOf(f1)).nin());
        g.validate();
        infer(g);
    }

    @Test
    void kernelSizeAndActivationChangeInPlace() {
        float[] before = infer(g);
        LayerEdits.changeKernelSize(f2, 5, 5);
        assertArrayEquals(before, infer(g), 1e-5f, "growing a kernel with zero taps keeps the function");
        assertEquals(Shape.of(4, 3), new GraphModel(g).outputShape(Shape.of(4, 1, 8, 8)));
        LayerEdits.changeActivation(f2, Activation.TANH);
        assertEquals(Activation.TANH, ((Conv2D) LayerEdits.layerOf(f2)).activation());
        assertThrows(IllegalArgumentException.class, () -> LayerEdits.changeKernelSize(gp, 3, 3));
        assertThrows(IllegalArgumentException.class, () -> LayerEdits.changeActivation(pool, Activation.RELU));
    }

    @Test
    void identityConvInsertAndRemovalKeepTheGraphWorking() {
        float[] before = infer(g);
        Vertex id = LayerEdits.insertIdentity(g, pool, "id", true, 3, Activation.IDENTITY);
        assertArrayEquals(before, infer(g), 1e-5f);
        assertTrue(GraphEdits.remove(g, id, rng));
        assertArrayEquals(before, infer(g), 1e-5f);
        assertTrue(GraphEdits.remove(g, a, rng));
        g.validate();
        assertEquals(12, infer(g).length);
    }
}
