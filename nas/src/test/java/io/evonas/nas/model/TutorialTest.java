package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.layers.Dense;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.Utility;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * NaiveNASlib's quick tutorial: {@code Δnout!(v2 => -1, merged => 0)} where {@code merged = concat(v1, v2)} is
 * summed with {@code v3}, and v2's first and last neurons are worth keeping. v2 drops its middle neuron, so v1
 * must grow by one to keep {@code merged}'s size; v3, tied to {@code merged} by the sum, gets the same changes;
 * the layer reading the sum drops the matching input and gets a new zero input.
 */
class TutorialTest {
    @Test
    void sizeChangeThroughConcatenationAndSum() {
        SplittableRandom rng = new SplittableRandom(1);
        Vertex in = Vertex.input("in", 3, InputShape.DENSE);
        Vertex v1 = Vertices.dense("v1", in, 4, Activation.IDENTITY, rng);
        Vertex v2 = Vertices.dense("v2", in, 3, Activation.IDENTITY, rng);
        Vertex merged = Vertex.concat("merged", v1, v2);
        Vertex v3 = Vertices.dense("v3", in, 7, Activation.IDENTITY, rng);
        Vertex sum = Vertex.add("sum", merged, v3);
        Vertex v4 = Vertices.dense("v4", sum, 2, Activation.IDENTITY, rng);
        CompGraph g = new CompGraph(in, v4);

        float[][] w1 = rows(v1);
        float[][] w3 = rows(v3);
        float[][] w4 = columns(v4);
        Utility utility = v -> v == v2 ? new double[] {10, 1, 10} : Utility.DEFAULT.of(v);
        assertTrue(SizeChanges.deltaNout(utility, rng, Delta.exact(v2, -1), Delta.exact(merged, 0)));

        assertEquals(5, v1.nout());
        assertEquals(2, v2.nout());
        assertEquals(7, merged.nout());
        assertEquals(7, v3.nout());
        // v1 keeps its rows and gets a new one at the end.
        float[][] n1 = rows(v1);
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(w1[i], n1[i]);
        }
        // v3 and v4 follow merged: [0, 1, 2, 3, new, 4, 6].
        int[] expected = {0, 1, 2, 3, -1, 4, 6};
        float[][] n3 = rows(v3);
        float[][] n4 = columns(v4);
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] >= 0) {
                assertArrayEquals(w3[expected[i]], n3[i], "v3 row " + i);
                assertArrayEquals(w4[expected[i]], n4[i], "v4 column " + i);
            } else {
                assertArrayEquals(new float[n4[i].length], n4[i], "v4's new input is zero");
            }
        }
        g.validate();
    }

    private static Dense dense(Vertex v) {
        return (Dense) LayerEdits.layerOf(v);
    }

    /** The weight's rows: one per output neuron. */
    static float[][] rows(Vertex v) {
        Tensor w = dense(v).weight().value();
        float[][] r = new float[w.dim(0)][w.dim(1)];
        for (int i = 0; i < r.length; i++) {
            for (int j = 0; j < r[i].length; j++) {
                r[i][j] = w.get(i, j);
            }
        }
        return r;
    }

    /** The weight's columns: one per input neuron. */
    static float[][] columns(Vertex v) {
        Tensor w = dense(v).weight().value();
        float[][] c = new float[w.dim(1)][w.dim(0)];
        for (int i = 0; i < w.dim(0); i++) {
            for (int j = 0; j < w.dim(1); j++) {
                c[j][i] = w.get(i, j);
            }
        }
        return c;
    }
}
