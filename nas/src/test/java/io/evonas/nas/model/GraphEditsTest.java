package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The structural operations on small graphs whose outcome can be worked out by hand. */
class GraphEditsTest {
    private final SplittableRandom rng = new SplittableRandom(2);
    private final Vertex in = Vertex.input("in", 4, InputShape.DENSE);
    private final Tensor x = Tensor.uniform(new SplittableRandom(9), -1, 1, 5, 4);

    private Vertex dense(String name, Vertex input, int n) {
        return Vertices.dense(name, input, n, Activation.TANH, rng);
    }

    @Test
    void removingALayerThatWouldCloseASizeCycleIsRefused() {
        // s = v(concat(u, y)) + u: without v, the sum would need |u| = |u| + |y|.
        Vertex u = dense("u", in, 4);
        Vertex y = dense("y", in, 2);
        Vertex cat = Vertex.concat("cat", u, y);
        Vertex v = dense("v", cat, 4);
        Vertex s = Vertex.add("s", v, u);
        CompGraph g = new CompGraph(in, dense("out", s, 2));
        List<Object> before = RandomGraphs.fingerprint(g);
        assertFalse(GraphEdits.remove(g, v, rng));
        assertEquals(before, RandomGraphs.fingerprint(g));
    }

    @Test
    void removingALayerIncreasesTheSmallerSide() {
        Vertex a = dense("a", in, 3);
        Vertex b = dense("b", a, 5);
        Vertex c = dense("c", b, 2);
        CompGraph g = new CompGraph(in, dense("out", c, 2));
        assertTrue(GraphEdits.remove(g, b, rng));
        assertEquals(5, a.nout(), "a grows to b's size, so c keeps its inputs");
        assertEquals(List.of(a), c.inputs());
        assertEquals(List.of(c), a.outputs());
        g.validate();
        assertEquals(10, RandomGraphs.infer(g, x).length);
    }

    @Test
    void anEdgeIntoASumFirstResizesItsSource() {
        Vertex a = dense("a", in, 3);
        Vertex b = dense("b", in, 3);
        Vertex sum = Vertex.add("sum", a, b);
        Vertex extra = dense("extra", in, 5);
        Vertex side = dense("side", extra, 2);
        Vertex cat = Vertex.concat("cat", sum, side);
        CompGraph g = new CompGraph(in, dense("out", cat, 2));
        assertTrue(GraphEdits.createEdge(g, extra, sum, rng));
        assertEquals(3, extra.nout());
        assertEquals(3, sum.nout());
        assertEquals(3, ((io.evonas.layers.Dense) LayerEdits.layerOf(side)).nin());
        g.validate();
        RandomGraphs.infer(g, x);
    }

    @Test
    void anEdgeIntoAConcatenationGrowsTheVerticesTiedToIt() {
        // cat + w: cat's new block must be matched by new neurons at the end of w.
        Vertex a = dense("a", in, 3);
        Vertex cat = Vertex.concat("cat", a);
        Vertex w = dense("w", in, 3);
        Vertex sum = Vertex.add("sum", cat, w);
        Vertex other = dense("other", in, 2);
        Vertex top = Vertex.concat("top", sum, other);
        CompGraph g = new CompGraph(in, dense("out", top, 2));
        float[] before = RandomGraphs.infer(g, x);
        float[][] rows = TutorialTest.rows(w);
        assertTrue(GraphEdits.createEdge(g, other, cat, rng));
        assertEquals(5, cat.nout());
        assertEquals(5, w.nout());
        assertEquals(5, sum.nout());
        assertEquals(7, top.nout());
        float[][] after = TutorialTest.rows(w);
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(rows[i], after[i], "w keeps its neurons in front");
        }
        g.validate();
        assertArrayEquals(before, RandomGraphs.infer(g, x), 1e-6f, "the new inputs downstream are zero");
    }

    @Test
    void anEdgeWhoseBlockWouldReachTheConcatenationsOwnInputIsRefused() {
        // concat(u) + u: a block appended to the concatenation would have to appear in u, which feeds it.
        Vertex u = dense("u", in, 3);
        Vertex cat = Vertex.concat("cat", u);
        Vertex sum = Vertex.add("sum", cat, u);
        Vertex other = dense("other", in, 2);
        CompGraph g = new CompGraph(in, dense("out", Vertex.concat("top", sum, other), 2));
        List<Object> before = RandomGraphs.fingerprint(g);
        assertFalse(GraphEdits.createEdge(g, other, cat, rng));
        assertEquals(before, RandomGraphs.fingerprint(g));
    }

    @Test
    void removingAnEdgeFromAConcatenationInAResidualDropsThePartnerNeurons() {
        // x + concat(a, b): dropping b's block drops the same positions of x.
        Vertex xv = dense("x", in, 5);
        Vertex a = dense("a", xv, 2);
        Vertex b = dense("b", xv, 3);
        Vertex cat = Vertex.concat("cat", a, b);
        Vertex sum = Vertex.add("sum", xv, cat);
        Vertex keep = dense("keep", b, 2);
        CompGraph g = new CompGraph(in, dense("out", Vertex.concat("top", sum, keep), 2));
        float[][] rows = TutorialTest.rows(xv);
        assertTrue(GraphEdits.removeEdge(g, b, cat, rng));
        assertEquals(2, cat.nout());
        assertEquals(2, xv.nout());
        assertEquals(3, b.nout(), "b keeps its neurons for its other reader");
        float[][] after = TutorialTest.rows(xv);
        assertArrayEquals(rows[0], after[0]);
        assertArrayEquals(rows[1], after[1]);
        g.validate();
        RandomGraphs.infer(g, x);
    }

    @Test
    void edgeRemovalsThatWouldStrandAVertexAreRefused() {
        Vertex a = dense("a", in, 2);
        Vertex b = dense("b", in, 3);
        Vertex cat = Vertex.concat("cat", a, b).setRemoveIfSingleInput(true);
        Vertex top = dense("top", cat, 2);
        CompGraph g = new CompGraph(in, top);
        var e = assertThrows(IllegalArgumentException.class, () -> GraphEdits.removeEdge(g, b, cat, rng));
        assertTrue(e.getMessage().contains("without readers"), e.getMessage());
        Vertex side = dense("side", b, 2);
        CompGraph g2 = new CompGraph(List.of(in), List.of(top, side));
        assertTrue(GraphEdits.removeEdge(g2, b, cat, rng));
        assertEquals(List.of(a), top.inputs(), "the concatenation removed itself when left with one input");
        assertEquals(2, LayerEdits.layerOf(top).nin());
        g2.validate();
    }

    @Test
    void anEdgeThroughANewMergeVertex() {
        Vertex a = dense("a", in, 3);
        Vertex b = dense("b", a, 4);
        Vertex c = dense("c", b, 2);
        CompGraph g = new CompGraph(in, dense("out", c, 2));
        float[] before = RandomGraphs.infer(g, x);
        Vertex cat = GraphEdits.createEdgeThroughMerge(g, a, b, io.evonas.nas.graph.Merge.CONCAT, "cat", rng)
                .orElseThrow();
        assertEquals(List.of(b, a), cat.inputs());
        assertEquals(7, LayerEdits.layerOf(c).nin());
        assertArrayEquals(before, RandomGraphs.infer(g, x), 1e-6f);
        Vertex sum = GraphEdits.createEdgeThroughMerge(g, a, c, io.evonas.nas.graph.Merge.ADD, "sum", rng)
                .orElseThrow();
        assertEquals(2, a.nout(), "a is resized to c's size to join the sum");
        g.validate();
        RandomGraphs.infer(g, x);
        // Into a sum from the graph input, whose size cannot change: refused, and the merge vertex goes again.
        List<Object> state = RandomGraphs.fingerprint(g);
        assertTrue(GraphEdits.createEdgeThroughMerge(g, in, sum, io.evonas.nas.graph.Merge.ADD, "s2", rng)
                .isEmpty());
        assertEquals(state, RandomGraphs.fingerprint(g));
    }

    @Test
    void refusesEdgesThatAreNotIntoMergesOrMakeCycles() {
        Vertex a = dense("a", in, 3);
        Vertex b = dense("b", a, 3);
        Vertex sum = Vertex.add("sum", a, b);
        Vertex c = dense("c", sum, 3);
        CompGraph g = new CompGraph(in, c);
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.createEdge(g, a, b, rng));
        var cycle = assertThrows(IllegalArgumentException.class, () -> GraphEdits.createEdge(g, c, sum, rng));
        assertTrue(cycle.getMessage().contains("cycle"), cycle.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.remove(g, c, rng));
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.remove(g, sum, rng));
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.remove(g, in, rng));
    }
}
