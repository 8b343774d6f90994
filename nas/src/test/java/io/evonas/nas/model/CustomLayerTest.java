package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.layers.Fill;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Loss;
import io.evonas.layers.Parameter;
import io.evonas.layers.optim.Descent;
import io.evonas.nas.data.Batch;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.SizeKind;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/**
 * A user's own layer joins the graph, the size solver and the structural operations by implementing
 * {@link Differentiable}: here a dense layer with a separate per-output scale, {@code y = s ⊙ (x Wᵀ)}.
 */
class CustomLayerTest {
    /** {@code y = s ⊙ (x Wᵀ)}; W {@code [out, in]}, s {@code [out]}. */
    static final class ScaledDense implements Differentiable {
        final Parameter weight;
        final Parameter scale;

        ScaledDense(int in, int out, RandomGenerator rng) {
            weight = new Parameter("weight", Tensor.uniform(rng, -1, 1, out, in));
            scale = new Parameter("scale", Tensor.uniform(rng, 0.5f, 1.5f, out));
        }

        private ScaledDense(Parameter weight, Parameter scale) {
            this.weight = weight;
            this.scale = scale;
        }

        @Override
        public SizeKind kind() {
            return SizeKind.ABSORB;
        }

        @Override
        public int nout() {
            return weight.shape().dim(0);
        }

        @Override
        public int nin() {
            return weight.shape().dim(1);
        }

        @Override
        public void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng) {
            if (inputs != null && inputs[0] != null) {
                weight.resizeInPlace(1, inputs[0], Fill.ZEROS, rng);
            }
            if (outputs != null) {
                weight.resizeInPlace(0, outputs, r -> (float) r.nextGaussian() * 0.01f, rng);
                scale.resizeInPlace(0, outputs, Fill.ONES, rng);
            }
        }

        @Override
        public ScaledDense copy() {
            Parameter w = new Parameter("weight", weight.value().copy());
            Parameter s = new Parameter("scale", scale.value().copy());
            return new ScaledDense(w, s);
        }

        @Override
        public long parameterCount() {
            return weight.size() + scale.size();
        }

        @Override
        public Variable forward(List<Variable> inputs, ForwardPass pass) {
            Variable z = Ops.matmul(inputs.getFirst(), false, pass.bind(weight), true);
            return Ops.mul(z, pass.bind(scale));
        }

        @Override
        public List<Parameter> parameters() {
            return List.of(weight, scale);
        }

        @Override
        public Shape outputShape(List<Shape> inputs) {
            return Shape.of(inputs.getFirst().dim(0), nout());
        }

        @Override
        public String toString() {
            return "ScaledDense(" + nin() + " -> " + nout() + ")";
        }
    }

    @Test
    void customLayerResizesTrainsAndIsRemoved() {
        SplittableRandom rng = new SplittableRandom(3);
        Vertex in = Vertex.input("in", 3, InputShape.DENSE);
        ScaledDense custom = new ScaledDense(3, 4, rng);
        Vertex c = Vertex.of("custom", custom, in);
        Vertex d = Vertices.dense("d", in, 2, Activation.IDENTITY, rng);
        Vertex cat = Vertex.concat("cat", c, d);
        Vertex e = Vertices.dense("e", in, 6, Activation.IDENTITY, rng);
        Vertex sum = Vertex.add("sum", cat, e);
        Vertex mid = Vertex.of("mid", new ScaledDense(6, 6, rng), sum);
        Vertex out = Vertices.dense("out", mid, 2, Activation.IDENTITY, rng);
        CompGraph g = new CompGraph(in, out);
        Tensor x3 = Tensor.uniform(rng, -1, 1, 5, 3);

        float[] scaleBefore = custom.scale.value().toArray();
        float[] before = RandomGraphs.infer(g, x3);
        assertTrue(SizeChanges.deltaNout(rng, Delta.exact(c, 2)));
        g.validate();
        assertEquals(6, c.nout());
        assertEquals(8, e.nout(), "the sum ties e to the concatenation");
        assertEquals(8, mid.nin()[0]);
        float[] scaleAfter = custom.scale.value().toArray();
        for (int i = 0; i < 4; i++) {
            assertEquals(scaleBefore[i], scaleAfter[i]);
        }
        // Growth with zero inputs downstream keeps the function.
        assertArrayEquals(before, RandomGraphs.infer(g, x3), 1e-5f);

        Trainer t = new Trainer(new GraphModel(g), Loss.mse(), Descent.of(0.1), rng);
        float[] w = custom.weight.value().toArray();
        t.step(Batch.ofTargets(x3, Tensor.uniform(rng, -1, 1, 5, 2)));
        assertNotEquals(w[0], custom.weight.value().toArray()[0], "the custom layer trains");

        CompGraph copy = g.copy();
        assertTrue(GraphEdits.remove(copy, copy.vertex("mid"), rng));
        copy.validate();
        assertEquals(10, RandomGraphs.infer(copy, x3).length);
        assertEquals(7, copy.size());
        assertEquals(8, g.size(), "the original graph keeps its vertices");
    }
}
