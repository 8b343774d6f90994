package io.evonas.nas.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** The graph core with a computation that knows no tensors. */
class CompGraphTest {
    /** An absorbing computation that only has sizes and remembers its surgery. */
    static final class Sized implements Computation {
        int nin;
        int nout;
        final List<String> log = new ArrayList<>();

        Sized(int nin, int nout) {
            this.nin = nin;
            this.nout = nout;
        }

        @Override
        public SizeKind kind() {
            return SizeKind.ABSORB;
        }

        @Override
        public int nout() {
            return nout;
        }

        @Override
        public int nin() {
            return nin;
        }

        @Override
        public void resizeInPlace(int[][] inputs, int[] outputs, RandomGenerator rng) {
            if (inputs != null && inputs[0] != null) {
                nin = inputs[0].length;
                log.add("in" + java.util.Arrays.toString(inputs[0]));
            }
            if (outputs != null) {
                nout = outputs.length;
                log.add("out" + java.util.Arrays.toString(outputs));
            }
        }

        @Override
        public Sized copy() {
            return new Sized(nin, nout);
        }

        @Override
        public long parameterCount() {
            return (long) nin * nout;
        }

        @Override
        public String toString() {
            return "sized(" + nin + "->" + nout + ")";
        }
    }

    private final Vertex in = Vertex.input("in", 3, InputShape.DENSE);
    private final Vertex a = Vertex.of("a", new Sized(3, 4), in);
    private final Vertex b = Vertex.of("b", new Sized(3, 2), in);
    private final Vertex cat = Vertex.concat("cat", a, b);
    private final Vertex c = Vertex.of("c", new Sized(3, 6), in);
    private final Vertex sum = Vertex.add("sum", cat, c);
    private final Vertex out = Vertex.of("out", new Sized(6, 2), sum);
    private final CompGraph g = new CompGraph(in, out);

    @Test
    void verticesComeAfterTheirInputs() {
        List<Vertex> order = g.vertices();
        assertEquals(List.of(in, a, b, cat, c, sum, out), order);
        for (Vertex v : order) {
            for (Vertex i : v.inputs()) {
                assertTrue(order.indexOf(i) < order.indexOf(v), v + " before its input " + i);
            }
        }
        assertEquals(6, cat.nout());
        assertEquals(6, sum.nout());
        assertArrayEquals(new int[] {4, 2}, cat.nin());
        assertEquals(List.of(sum), c.outputs());
    }

    @Test
    void evaluatesEachVertexOnceAfterItsInputs() {
        List<String> seen = new ArrayList<>();
        List<String> result = g.evaluate(List.of("x"), (v, ins) -> {
            seen.add(v.name());
            return v.name() + ins;
        });
        assertEquals(List.of("a", "b", "cat", "c", "sum", "out"), seen);
        assertEquals(List.of("out[sum[cat[a[x], b[x]], c[x]]]"), result);
    }

    @Test
    void copiesShareNothing() {
        CompGraph copy = g.copy();
        assertEquals(g.summary(), copy.summary());
        Vertex ca = copy.vertex("a");
        assertNotSame(a, ca);
        assertNotSame(a.computation(), ca.computation());
        ((Sized) ca.computation()).nout = 9;
        assertEquals(4, a.nout());
        assertEquals(copy.vertex("cat"), ca.outputs().getFirst());
    }

    @Test
    void summaryListsEveryVertex() {
        String s = g.summary();
        for (Vertex v : g.vertices()) {
            assertTrue(s.contains(v.name()), s);
        }
        assertTrue(s.contains("total parameters: " + (12 + 6 + 18 + 12)), s);
    }

    @Test
    void sizeMismatchesAreRefusedWithTheirNumbers() {
        var e = assertThrows(IllegalArgumentException.class, () -> Vertex.add("bad", a, b));
        assertTrue(e.getMessage().contains("bad") && e.getMessage().contains("2"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Vertex.of("bad2", new Sized(5, 1), a));
        assertTrue(e2.getMessage().contains("expects 5"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Vertex.of("orphan", new Sized(1, 1)));
        assertThrows(IllegalArgumentException.class, () -> new CompGraph(a, out));
        ((Sized) out.computation()).nin = 5;
        var e3 = assertThrows(IllegalStateException.class, g::validate);
        assertTrue(e3.getMessage().contains("out"), e3.getMessage());
    }

    @Test
    void shieldsAllowOnlyTheirTypes() {
        a.setShield(MutationShield.allowing(Number.class));
        assertTrue(a.allows(3));
        assertTrue(!a.allows("text"));
        assertTrue(b.allows("anything"));
        assertTrue(!MutationShield.ALL.allows(3));
    }
}
