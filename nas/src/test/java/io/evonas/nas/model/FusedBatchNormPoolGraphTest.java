package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Parameter;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.Merge;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A graph evaluates a ReLU batch norm whose only consumer is a 2×2 max pool as one primitive (one op on the tape
 * instead of two) with the output and gradients of its vertices evaluated one by one; a batch norm read by two
 * vertices, or that is an output of the graph, is left alone.
 */
class FusedBatchNormPoolGraphTest {
    private final Tensor x = Tensor.uniform(new SplittableRandom(1), -1, 1, 3, 2, 9, 9);

    /** Every vertex evaluated by its own computation: nothing fused. */
    private static List<Variable> oneByOne(CompGraph g, Variable x, ForwardPass pass) {
        return g.evaluate(List.of(x), (v, ins) -> {
            if (v.computation() instanceof Merge) {
                return Ops.add(ins.get(0), ins.get(1));
            }
            return ((Differentiable) v.computation()).forward(ins, pass);
        });
    }

    private record Run(int ops, float[] output, List<float[]> gradients) {
    }

    private Run run(CompGraph g, boolean fused) {
        return run(g, fused, x, false);
    }

    private static Run run(CompGraph g, boolean fused, Tensor x, boolean constantInput) {
        ForwardPass pass = ForwardPass.training(new SplittableRandom(2));
        Variable in = constantInput ? pass.tape().constant(x) : pass.tape().parameter(x);
        List<Variable> outs = fused ? new GraphModel(g).forward(List.of(in), pass) : oneByOne(g, in, pass);
        int ops = pass.tape().size();
        Variable y = outs.getFirst();
        pass.accumulateGradients(pass.tape().backward(y, Tensor.uniform(new SplittableRandom(3), -1, 1,
                y.shape().dims())));
        List<float[]> grads = new GraphModel(g).parameters().stream().map(p -> p.grad().toArray()).toList();
        return new Run(ops, y.value().toArray(), grads);
    }

    private void compare(CompGraph g, int fusedPairs) {
        compare(g, fusedPairs, x, false);
    }

    private static void compare(CompGraph g, int opsSaved, Tensor x, boolean constantInput) {
        CompGraph copy = g.copy();
        Run fused = run(g, true, x, constantInput);
        Run plain = run(copy, false, x, constantInput);
        assertEquals(plain.ops() - opsSaved, fused.ops(), "ops on the tape");
        assertArrayEquals(plain.output(), fused.output(), 1e-5f, "output");
        double scale = 0;
        for (float[] gr : plain.gradients()) {
            for (float v : gr) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        assertTrue(scale > 0);
        for (int i = 0; i < plain.gradients().size(); i++) {
            assertArrayEquals(plain.gradients().get(i), fused.gradients().get(i), (float) (1e-5 * scale),
                    "gradient " + i);
        }
    }

    /** in → conv → ReLU batch norm → 2×2 max pool → global mean pool → dense; the batch norm is its last. */
    private static CompGraph chain(Vertex[] batchNorm) {
        return chain(batchNorm, false);
    }

    /** As {@link #chain(Vertex[])}; with {@code convIsOutput} the convolution is the graph's second output. */
    private static CompGraph chain(Vertex[] batchNorm, boolean convIsOutput) {
        SplittableRandom rng = new SplittableRandom(4);
        Vertex in = Vertex.input("in", 2, InputShape.CONV2D);
        Vertex conv = Vertices.conv2d("conv", in, 4, 3, Activation.IDENTITY, rng);
        Vertex bn = Vertices.batchNorm("bn", conv, Activation.RELU);
        Vertex pool = Vertices.maxPool("pool", bn, 2);
        Vertex gp = Vertices.globalMeanPool("gp", pool);
        Vertex out = Vertices.dense("out", gp, 3, Activation.IDENTITY, rng);
        batchNorm[0] = bn;
        return convIsOutput ? new CompGraph(List.of(in), List.of(out, conv)) : new CompGraph(in, out);
    }

    @Test
    void aBatchNormReadOnlyByAPoolIsFused() {
        compare(chain(new Vertex[1]), 1);
    }

    @Test
    void aConvolutionOfTheInputJoinsTheFusedPair() {
        // Rows of 18 outputs, a vector or more: the CPU runs convolution, batch norm and pool as one primitive.
        Tensor wide = Tensor.uniform(new SplittableRandom(5), -1, 1, 3, 2, 10, 20);
        compare(chain(new Vertex[1]), 2, wide, true);
        // The input needs a gradient: only the batch norm and pool are fused.
        compare(chain(new Vertex[1]), 1, wide, false);
    }

    @Test
    void aConvolutionThatIsAnOutputIsNotFused() {
        Tensor wide = Tensor.uniform(new SplittableRandom(5), -1, 1, 3, 2, 10, 20);
        compare(chain(new Vertex[1], true), 1, wide, true);
    }

    @Test
    void aBatchNormWithTwoReadersIsNot() {
        SplittableRandom rng = new SplittableRandom(4);
        Vertex in = Vertex.input("in", 2, InputShape.CONV2D);
        Vertex conv = Vertices.conv2d("conv", in, 4, 3, Activation.IDENTITY, rng);
        Vertex bn = Vertices.batchNorm("bn", conv, Activation.RELU);
        Vertex p1 = Vertices.maxPool("p1", bn, 2);
        Vertex p2 = Vertices.maxPool("p2", bn, 2);
        Vertex sum = Vertex.add("sum", p1, p2);
        Vertex gp = Vertices.globalMeanPool("gp", sum);
        Vertex out = Vertices.dense("out", gp, 3, Activation.IDENTITY, rng);
        compare(new CompGraph(in, out), 0);
    }

    @Test
    void parametersOfTheFusedVerticesStillTrain() {
        Vertex[] bn = new Vertex[1];
        run(chain(bn), true);
        List<Parameter> bnParams = ((Differentiable) bn[0].computation()).parameters();
        assertEquals(2, bnParams.size(), "γ and β");
        for (Parameter p : bnParams) {
            float max = 0;
            for (float v : p.grad().toArray()) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, p.name() + " has a gradient");
        }
    }
}
