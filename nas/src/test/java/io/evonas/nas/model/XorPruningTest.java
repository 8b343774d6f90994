package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.layers.Dense;
import io.evonas.layers.Loss;
import io.evonas.layers.optim.Adam;
import io.evonas.nas.data.Batch;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.Utility;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * NaiveNASlib's XOR pruning example: a network with 32 hidden neurons learns XOR while measuring each hidden
 * neuron's utility (|activation × gradient|); pruning the least useful half keeps the loss, pruning the most
 * useful half does not.
 */
class XorPruningTest {
    private static final Batch XOR = Batch.ofTargets(Tensor.of(new float[] {0, 0, 0, 1, 1, 0, 1, 1}, 4, 2),
            Tensor.of(new float[] {0, 1, 1, 0}, 4, 1));

    @Test
    void pruningTheLeastUsefulHalfKeepsTheLoss() {
        SplittableRandom rng = new SplittableRandom(7);
        Vertex in = Vertex.input("in", 2, InputShape.DENSE);
        Vertex hidden = Vertices.layer("hidden",
                Dense.of(2, 32, Activation.RELU, rng).trackUtility(1), in);
        Vertex out = Vertices.dense("out", hidden, 1, Activation.IDENTITY, rng);
        CompGraph g = new CompGraph(in, out);
        Trainer trainer = new Trainer(new GraphModel(g), Loss.binaryCrossEntropy(), Adam.of(0.02), rng);
        for (int i = 0; i < 600; i++) {
            trainer.step(XOR);
        }
        double trained = loss(g);
        assertTrue(trained < 0.05, "XOR not learnt: loss " + trained);

        double[] utility = hidden.computation().utility();
        int[] order = rankAscending(utility);
        CompGraph leastPruned = prune(g, Arrays.copyOfRange(order, 0, 16), rng);
        CompGraph mostPruned = prune(g, Arrays.copyOfRange(order, 16, 32), rng);

        assertEquals(16, leastPruned.vertex("hidden").nout());
        assertEquals(16, mostPruned.vertex("hidden").nout());
        double keep = loss(leastPruned);
        double lose = loss(mostPruned);
        assertTrue(keep < 2 * trained + 0.01, "pruning the least useful half: loss " + trained + " -> " + keep);
        assertTrue(lose > 10 * keep && lose > 0.1, "pruning the most useful half: loss " + trained + " -> " + lose);
    }

    /** A copy of {@code g} whose hidden layer loses {@code drop}: those neurons get negative utility. */
    private static CompGraph prune(CompGraph g, int[] drop, SplittableRandom rng) {
        CompGraph c = g.copy();
        Vertex hidden = c.vertex("hidden");
        double[] u = hidden.computation().utility().clone();
        for (int i : drop) {
            u[i] = -1;
        }
        Utility utility = v -> v == hidden ? u : Utility.DEFAULT.of(v);
        assertTrue(SizeChanges.prune(List.of(hidden), utility, rng));
        return c;
    }

    private static double loss(CompGraph g) {
        return Trainer.evaluate(new GraphModel(g), Loss.binaryCrossEntropy(), List.of(XOR)).loss();
    }

    private static int[] rankAscending(double[] u) {
        Integer[] idx = new Integer[u.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Double.compare(u[a], u[b]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }
}
