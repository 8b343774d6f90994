package io.evonas.nas.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.GraphEdits;
import io.evonas.nas.graph.Merge;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.SizeKind;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Properties of every size change and structural operation over random graphs with residuals, forks,
 * concatenations and misaligned sums (seeded JUnit parameterised tests; each seed is one random graph and
 * operation, so a failure names the seed that reproduces it): afterwards every vertex agrees with its inputs and the graph evaluates; the
 * function-preserving operations leave the output unchanged; a failed operation leaves the graph as it was.
 */
class GraphPropertiesTest {
    private static final double TOLERANCE = 1e-5;

    /** Graph seeds: each test case builds its own random graph and random operation from one. */
    static LongStream seeds150() {
        return LongStream.range(0, 150).map(i -> i * 0x9E3779B97F4A7C15L);
    }

    static LongStream seeds100() {
        return LongStream.range(0, 100).map(i -> 7 + i * 0x9E3779B97F4A7C15L);
    }

    private static void assertConsistentAndEvaluates(CompGraph g) {
        g.validate();
        for (Vertex v : g.vertices()) {
            int[] nin = v.nin();
            for (int k = 0; k < nin.length; k++) {
                assertEquals(v.inputs().get(k).nout(), nin[k], v + " input " + k);
            }
        }
        float[] y = RandomGraphs.infer(g, RandomGraphs.batch(3));
        assertEquals(5 * RandomGraphs.OUTPUTS, y.length);
        for (float f : y) {
            assertTrue(Float.isFinite(f), "output not finite");
        }
    }

    private static void assertClose(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], TOLERANCE * Math.max(1, Math.abs(expected[i])), "output " + i);
        }
    }

    private static List<Vertex> changeable(CompGraph g) {
        return g.vertices().stream()
                .filter(v -> v.kind() == SizeKind.ABSORB && !g.outputs().contains(v)).toList();
    }

    @ParameterizedTest
    @MethodSource("seeds150")
    void sizeIncreaseKeepsTheFunction(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor x = RandomGraphs.batch(seed);
        float[] before = RandomGraphs.infer(g, x);
        List<Vertex> vs = changeable(g);
        Vertex v = vs.get(rng.nextInt(vs.size()));
        int delta = 1 + rng.nextInt(3);
        if (SizeChanges.deltaNout(rng, Delta.exact(v, delta))) {
            assertConsistentAndEvaluates(g);
            assertClose(before, RandomGraphs.infer(g, x));
        } else {
            assertArrayEquals(before, RandomGraphs.infer(g, x));
        }
    }

    @ParameterizedTest
    @MethodSource("seeds150")
    void anySizeChangeKeepsSizesAligned(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        List<Vertex> vs = changeable(g);
        Vertex a = vs.get(rng.nextInt(vs.size()));
        Vertex b = vs.get(rng.nextInt(vs.size()));
        int da = rng.nextInt(-a.nout() + 1, 4);
        int db = rng.nextInt(-b.nout() + 1, 4);
        List<Object> before = RandomGraphs.fingerprint(g);
        Delta[] deltas = a == b ? new Delta[] {Delta.exact(a, da)}
                : new Delta[] {Delta.exact(a, da), Delta.relaxed(b, db)};
        if (SizeChanges.deltaNout(rng, deltas)) {
            assertConsistentAndEvaluates(g);
        } else {
            assertEquals(before, RandomGraphs.fingerprint(g));
        }
    }

    @ParameterizedTest
    @MethodSource("seeds150")
    void identityInsertKeepsTheFunction(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor x = RandomGraphs.batch(seed);
        float[] before = RandomGraphs.infer(g, x);
        List<Vertex> vs = g.vertices();
        Vertex v = vs.get(rng.nextInt(vs.size()));
        LayerEdits.insertIdentity(g, v, "identity", false, 1, Activation.IDENTITY);
        assertConsistentAndEvaluates(g);
        assertClose(before, RandomGraphs.infer(g, x));
    }

    @ParameterizedTest
    @MethodSource("seeds150")
    void removeKeepsSizesAlignedOrChangesNothing(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        List<Vertex> vs = g.vertices().stream().filter(v -> v.inputs().size() == 1 && !g.outputs().contains(v))
                .toList();
        Vertex v = vs.get(rng.nextInt(vs.size()));
        List<Object> before = RandomGraphs.fingerprint(g);
        if (GraphEdits.remove(g, v, rng)) {
            assertTrue(g.vertices().stream().noneMatch(w -> w == v));
            assertConsistentAndEvaluates(g);
        } else {
            assertEquals(before, RandomGraphs.fingerprint(g));
        }
    }

    @ParameterizedTest
    @MethodSource("seeds150")
    void edgesComeAndGoKeepingSizesAligned(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        Tensor x = RandomGraphs.batch(seed);
        List<Vertex> vs = g.vertices();
        // A new concatenation after a random vertex, then an edge into it from an earlier vertex.
        Vertex v = vs.get(1 + rng.nextInt(vs.size() - 2));
        Vertex cat = GraphEdits.insertAfter(g, v, in -> Vertex.concat("newcat", in).setRemoveIfSingleInput(true));
        List<Vertex> sources = g.vertices().stream()
                .filter(u -> u != cat && !CompGraph.reaches(cat, u) && u.kind() != SizeKind.IMMUTABLE).toList();
        Vertex from = sources.get(rng.nextInt(sources.size()));
        float[] before = RandomGraphs.infer(g, x);
        List<Object> state = RandomGraphs.fingerprint(g);
        if (GraphEdits.createEdge(g, from, cat, rng)) {
            assertConsistentAndEvaluates(g);
            assertClose(before, RandomGraphs.infer(g, x));
            List<Object> grown = RandomGraphs.fingerprint(g);
            if (GraphEdits.removeEdge(g, from, cat, rng)) {
                // The block went, and with it the zero inputs it had added downstream.
                assertConsistentAndEvaluates(g);
                assertClose(before, RandomGraphs.infer(g, x));
            } else {
                assertEquals(grown, RandomGraphs.fingerprint(g));
            }
        } else {
            assertEquals(state, RandomGraphs.fingerprint(g));
        }
        // An edge into a random sum, and out again.
        List<Vertex> sums = g.vertices().stream().filter(u -> u.computation() == Merge.ADD).toList();
        if (!sums.isEmpty()) {
            Vertex sum = sums.get(rng.nextInt(sums.size()));
            List<Vertex> into = g.vertices().stream()
                    .filter(u -> u != sum && !CompGraph.reaches(sum, u) && u.kind() == SizeKind.ABSORB
                            && !g.outputs().contains(u))
                    .toList();
            if (!into.isEmpty()) {
                Vertex f = into.get(rng.nextInt(into.size()));
                List<Object> s2 = RandomGraphs.fingerprint(g);
                if (GraphEdits.createEdge(g, f, sum, rng)) {
                    assertConsistentAndEvaluates(g);
                    GraphEdits.removeEdge(g, f, sum, rng);
                    assertConsistentAndEvaluates(g);
                } else {
                    assertEquals(s2, RandomGraphs.fingerprint(g));
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("seeds100")
    void refusedOperationsLeaveTheGraphAsItWas(long seed) {
        CompGraph g = RandomGraphs.dense(seed);
        SplittableRandom rng = new SplittableRandom(seed);
        List<Object> before = RandomGraphs.fingerprint(g);
        List<Vertex> vs = changeable(g);
        Vertex v = vs.get(rng.nextInt(vs.size()));
        // A factory whose vertex has the wrong size.
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.insertAfter(g, v,
                in -> Vertices.dense("wrong", in, in.nout() + 1, Activation.IDENTITY, rng)));
        assertEquals(before, RandomGraphs.fingerprint(g));
        // An edge into a vertex that is not a merge, and an edge that would make a cycle.
        Vertex first = g.vertices().get(1);
        assertThrows(IllegalArgumentException.class, () -> GraphEdits.createEdge(g, first, v, rng));
        assertEquals(before, RandomGraphs.fingerprint(g));
        // Shrinking to nothing.
        assertThrows(IllegalArgumentException.class, () -> SizeChanges.deltaNout(v, -v.nout(), rng));
        assertEquals(before, RandomGraphs.fingerprint(g));
    }

    /** The properties above hold vacuously if operations fail; most of them must succeed. */
    @org.junit.jupiter.api.Test
    void mostOperationsSucceed() {
        int grow = 0;
        int removed = 0;
        int concatEdges = 0;
        int sumEdges = 0;
        int removedEdges = 0;
        int n = 100;
        for (long seed = 0; seed < n; seed++) {
            SplittableRandom rng = new SplittableRandom(seed);
            CompGraph g = RandomGraphs.dense(seed);
            List<Vertex> vs = changeable(g);
            grow += SizeChanges.deltaNout(rng, Delta.exact(vs.get(rng.nextInt(vs.size())), 2)) ? 1 : 0;
            List<Vertex> single = g.vertices().stream()
                    .filter(v -> v.inputs().size() == 1 && !g.outputs().contains(v)).toList();
            removed += GraphEdits.remove(g, single.get(rng.nextInt(single.size())), rng) ? 1 : 0;
            Vertex last = g.outputs().getFirst().inputs().getFirst();
            Vertex cat = GraphEdits.insertAfter(g, last, in -> Vertex.concat("c", in));
            Vertex src = g.vertices().get(1);
            if (GraphEdits.createEdge(g, src, cat, rng)) {
                concatEdges++;
                removedEdges += GraphEdits.removeEdge(g, src, cat, rng) ? 1 : 0;
            }
            Vertex sum = GraphEdits.insertAfter(g, g.outputs().getFirst().inputs().getFirst(),
                    in -> Vertex.add("s", in));
            sumEdges += GraphEdits.createEdge(g, g.vertices().get(1), sum, rng) ? 1 : 0;
            g.validate();
        }
        String counts = "grow " + grow + ", remove " + removed + ", concat edge " + concatEdges + ", edge removed "
                + removedEdges + ", sum edge " + sumEdges + " of " + n;
        assertTrue(grow > 90 && removed > 60 && concatEdges == n && removedEdges == concatEdges && sumEdges > 80,
                counts);
    }
}
