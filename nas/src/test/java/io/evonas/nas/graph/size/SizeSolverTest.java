package io.evonas.nas.graph.size;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import org.junit.jupiter.api.Test;

class SizeSolverTest {
    private static final double[] ONES4 = {1, 1, 1, 1};

    /**
     * NaiveNASlib's quick tutorial: {@code Δnout!(v2 => -1, merged => 0)} with utility 10 for neurons 1 and 3 of
     * v2 (1-based). v1, the other input of {@code merged = concat(v1, v2)}, grows by one new neuron at its end, v2
     * drops its middle neuron, and v3, tied to merged through {@code +}, changes identically.
     */
    @Test
    void tutorialExample() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 3, null);
        int v1 = p.add(Kind.ABSORB, 4, ONES4, in);
        int v2 = p.add(Kind.ABSORB, 3, new double[] {10, 0, 10}, v1);
        int merged = p.add(Kind.STACK, 7, null, v1, v2);
        int v3 = p.add(Kind.ABSORB, 7, new double[] {1, 1, 1, 1, 1, 1, 1}, in);
        int add = p.add(Kind.INVARIANT, 7, null, v3, merged);
        int v4 = p.add(Kind.ABSORB, 2, new double[] {1, 1}, add);
        p.requestExact(v2, -1);
        p.requestExact(merged, 0);

        SizeSolution s = SizeSolver.solveExact(p);

        assertEquals(SizeSolution.Status.EXACT, s.status());
        assertArrayEquals(new int[] {0, 1, 2, 3, -1}, s.outputs()[v1]);
        assertArrayEquals(new int[] {0, 2}, s.outputs()[v2]);
        int[] seven = {0, 1, 2, 3, -1, 4, 6};
        assertArrayEquals(seven, s.outputs()[merged]);
        assertArrayEquals(seven, s.outputs()[v3]);
        assertArrayEquals(seven, s.outputs()[add]);
        assertArrayEquals(new int[] {0, 1, 2}, s.outputs()[in]);
        assertArrayEquals(new int[] {0, 1}, s.outputs()[v4]);
        SolutionCheck.objective(p, s.outputs(), false, "tutorial");
    }

    @Test
    void growingOneDensePutsNewNeuronsAtItsEnd() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int d = p.add(Kind.ABSORB, 4, new double[] {3, 1, 2, 5}, in);
        p.add(Kind.ABSORB, 3, null, d);
        p.requestExact(d, 2);
        assertArrayEquals(new int[] {0, 1, 2, 3, -1, -1}, SizeSolver.solve(p).outputs()[d]);
    }

    @Test
    void shrinkingDropsTheLeastUseful() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int d = p.add(Kind.ABSORB, 4, new double[] {3, 1, 2, 5}, in);
        int bn = p.add(Kind.INVARIANT, 4, null, d);
        p.requestExact(bn, -2);
        SizeSolution s = SizeSolver.solve(p);
        assertArrayEquals(new int[] {0, 3}, s.outputs()[d]);
        assertArrayEquals(new int[] {0, 3}, s.outputs()[bn]);
    }

    @Test
    void duplicateInputsShareTheirSelection() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 1, null);
        int a = p.add(Kind.ABSORB, 3, new double[] {1, 9, 5}, in);
        int cat = p.add(Kind.STACK, 6, null, a, a);
        p.requestExact(cat, -2);
        SizeSolution s = SizeSolver.solve(p);
        assertArrayEquals(new int[] {1, 2}, s.outputs()[a]);
        assertArrayEquals(new int[] {1, 2, 4, 5}, s.outputs()[cat]);
    }

    @Test
    void pruningDropsNegativeNeuronsWithoutInserting() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int d = p.add(Kind.ABSORB, 5, new double[] {1, -2, 3, -1, 2}, in);
        int bn = p.add(Kind.INVARIANT, 5, null, d);
        int e = p.add(Kind.ABSORB, 2, new double[] {1, 1}, bn);
        p.setAllInsertBounds(0);
        SizeSolution s = SizeSolver.solve(p);
        assertEquals(SizeSolution.Status.EXACT, s.status());
        assertArrayEquals(new int[] {0, 2, 4}, s.outputs()[d]);
        assertArrayEquals(new int[] {0, 2, 4}, s.outputs()[bn]);
        assertArrayEquals(new int[] {0, 1}, s.outputs()[e]);
    }

    @Test
    void nonParticipantsAreUnchanged() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int d1 = p.add(Kind.ABSORB, 3, new double[] {1, -5, 1}, in);
        int d2 = p.add(Kind.ABSORB, 3, new double[] {1, 2, 3}, d1);
        p.requestExact(d2, -1);
        SizeSolution s = SizeSolver.solve(p);
        assertArrayEquals(new int[] {0, 1, 2}, s.outputs()[d1]);
        assertArrayEquals(new int[] {1, 2}, s.outputs()[d2]);
        assertArrayEquals(new boolean[] {false, false, true}, p.participants());
    }

    @Test
    void changingAnImmutableInputRelaxesThenGivesUp() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 3, null);
        int bn = p.add(Kind.INVARIANT, 3, null, in);
        p.requestExact(bn, 1);
        SizeSolution s = SizeSolver.solve(p);
        assertEquals(SizeSolution.Status.NO_CHANGE, s.status());
        assertArrayEquals(new int[] {0, 1, 2}, s.outputs()[in]);
        assertArrayEquals(new int[] {0, 1, 2}, s.outputs()[bn]);
        assertTrue(s.reason().contains("vertex 1"), s.reason());
        assertTrue(Double.isNaN(s.objective()));
        SizeChangeException e = assertThrows(SizeChangeException.class, () -> SizeSolver.solveExact(p));
        assertTrue(e.getMessage().contains("vertex 1 (INVARIANT) 3 -> 4"), e.getMessage());
    }

    @Test
    void contradictingRequestsThroughAnAddAreRelaxed() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int a = p.add(Kind.ABSORB, 4, ONES4, in);
        int b = p.add(Kind.ABSORB, 4, ONES4, in);
        int sum = p.add(Kind.INVARIANT, 4, null, a, b);
        p.requestExact(a, 2);
        p.requestExact(b, -1);
        SizeSolution s = SizeSolver.solve(p);
        assertEquals(SizeSolution.Status.RELAXED, s.status());
        assertTrue(s.reason().contains("vertex 1 (ABSORB) 4 -> 6 exact"), s.reason());
        int n = s.nout(sum);
        assertTrue(n != 4 && n >= 3 && n <= 6, "size " + n);
        assertEquals(n, s.nout(a));
        assertEquals(n, s.nout(b));
        SolutionCheck.objective(p, s.outputs(), true, "relaxed");
        SizeChangeException e = assertThrows(SizeChangeException.class, () -> SizeSolver.solveExact(p));
        assertTrue(e.getMessage().contains("contradict"), e.getMessage());
    }

    @Test
    void equalSizeAlignsTwoUntiedVertices() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int a = p.add(Kind.ABSORB, 3, new double[] {1, 2, 3}, in);
        int b = p.add(Kind.ABSORB, 5, new double[] {5, 4, 3, 2, 1}, in);
        p.requireEqualSize(a, b);
        SizeSolution s = SizeSolver.solve(p);
        assertEquals(SizeSolution.Status.EXACT, s.status());
        assertEquals(s.nout(a), s.nout(b));
    }

    @Test
    void minSizeZeroLetsAVertexVanish() {
        SizeProblem p = new SizeProblem();
        int in = p.add(Kind.IMMUTABLE, 2, null);
        int a = p.add(Kind.ABSORB, 2, new double[] {-1, -1}, in);
        int b = p.add(Kind.ABSORB, 3, new double[] {1, 2, 3}, in);
        int cat = p.add(Kind.STACK, 5, null, a, b);
        p.setMinSize(a, 0);
        p.requestExact(cat, -2);
        SizeSolution s = SizeSolver.solve(p);
        assertArrayEquals(new int[0], s.outputs()[a]);
        assertArrayEquals(new int[] {2, 3, 4}, s.outputs()[cat]);
    }
}
