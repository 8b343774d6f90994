package io.evonas.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.layers.Dense;
import io.evonas.layers.Loss;
import io.evonas.layers.optim.Adam;
import io.evonas.nas.data.Batch;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.model.GraphModel;
import io.evonas.nas.model.Vertices;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The README's graph example, as written there, with what it promises checked. */
class ReadmeGraphExampleTest {
    @Test
    void theGraphExampleRuns() {
        var rng = new SplittableRandom(1);
        Vertex in = Vertex.input("in", 3, InputShape.DENSE);
        Vertex v1 = Vertices.dense("v1", in, 4, Activation.RELU, rng);
        Vertex v2 = Vertices.dense("v2", in, 3, Activation.RELU, rng);
        Vertex merged = Vertex.concat("merged", v1, v2);
        Vertex v3 = Vertices.dense("v3", in, 7, Activation.RELU, rng);
        Vertex sum = Vertex.add("sum", merged, v3);
        Vertex out = Vertices.dense("out", sum, 2, Activation.IDENTITY, rng);
        CompGraph graph = new CompGraph(in, out);

        assertTrue(SizeChanges.deltaNout(rng, Delta.exact(v2, -1), Delta.exact(merged, 0)));
        assertEquals(5, v1.nout());
        assertEquals(7, v3.nout());
        GraphEdits.insertAfter(graph, sum, x -> Vertices.layer("id", Dense.identity(7, Activation.IDENTITY), x));
        // v3 is an input of a sum whose other input is a concatenation: removing it leaves the sum one input.
        assertFalse(graph.vertices().stream().noneMatch(v -> v == v3));
        assertTrue(GraphEdits.remove(graph, v3, rng));
        assertTrue(graph.summary().contains("id"));
        Trainer trainer = new Trainer(new GraphModel(graph), Loss.crossEntropy(), Adam.of(1e-3), rng);
        float loss = trainer.step(Batch.of(Tensor.uniform(rng, -1, 1, 4, 3), new int[] {0, 1, 1, 0}));
        assertTrue(Float.isFinite(loss));
        graph.validate();
    }
}
