package io.evonas.nas.graph.size;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class SizeProblemTest {
    private static void fails(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }

    @Test
    void stackSizeMustBeTheSumOfItsInputs() {
        SizeProblem p = new SizeProblem();
        int a = p.add(Kind.IMMUTABLE, 3, null);
        int b = p.add(Kind.ABSORB, 2, null, a);
        fails("add STACK vertex 2: nout 6 != sum of input nouts 3 + 2 = 5", () -> p.add(Kind.STACK, 6, null, a, b));
    }

    @Test
    void invariantInputsMustMatch() {
        SizeProblem p = new SizeProblem();
        int a = p.add(Kind.IMMUTABLE, 3, null);
        int b = p.add(Kind.ABSORB, 2, null, a);
        fails("add INVARIANT vertex 2: nout 3 != nout 2 of input vertex 1", () -> p.add(Kind.INVARIANT, 3, null, a, b));
        fails("needs at least one input", () -> p.add(Kind.INVARIANT, 3, null));
    }

    @Test
    void utilityLengthAndIdsAreChecked() {
        SizeProblem p = new SizeProblem();
        int a = p.add(Kind.IMMUTABLE, 3, null);
        fails("utility has 2 entries, nout is 4", () -> p.add(Kind.ABSORB, 4, new double[2], a));
        fails("input 5 is not an earlier vertex", () -> p.add(Kind.ABSORB, 4, null, 5));
        fails("nout -1 is negative", () -> p.add(Kind.ABSORB, -1, null, a));
        fails("requestExact: vertex 7 is unknown", () -> p.requestExact(7, 1));
        fails("delta -4 would make it negative", () -> p.requestRelaxed(a, -4));
        fails("min size -1", () -> p.setMinSize(a, -1));
        fails("bound -2", () -> p.setInsertBound(a, -2));
    }

    @Test
    void nonFiniteUtilitiesBecomeMinus100() {
        SizeProblem p = new SizeProblem();
        int a = p.add(Kind.IMMUTABLE, 1, null);
        int d = p.add(Kind.ABSORB, 3, new double[] {Double.NaN, Double.POSITIVE_INFINITY, 2}, a);
        double[] u = p.utility(d);
        assertEquals(SizeProblem.INVALID_UTILITY, u[0]);
        assertEquals(SizeProblem.INVALID_UTILITY, u[1]);
        assertEquals(2, u[2]);
    }

    @Test
    void defaultsFollowNaiveNasLib() {
        SizeProblem p = new SizeProblem();
        int a = p.add(Kind.IMMUTABLE, 3, null);
        int d = p.add(Kind.ABSORB, 50, null, a);
        assertEquals(500, p.insertBound(d));
        assertEquals(200, p.insertBound(a));
        assertEquals(1, p.minSize(d));
        p.setAllInsertBounds(0);
        assertEquals(0, p.insertBound(d));
        assertEquals(0, p.insertBound(p.add(Kind.ABSORB, 2, null, d)));
    }
}
