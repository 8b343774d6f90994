package io.evonas.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void sizeStridesAndAxes() {
        Shape s = Shape.of(8, 3, 32, 32);
        assertEquals(4, s.rank());
        assertEquals(8 * 3 * 32 * 32, s.size());
        assertEquals(3 * 32 * 32, s.stride(0));
        assertEquals(1, s.stride(-1));
        assertEquals(32, s.dim(-1));
        assertEquals(3, s.dim(1));
        assertEquals(96, s.sizeOf(1, 3));
        assertEquals("[8, 3, 32, 32]", s.toString());
        assertEquals(1, Shape.of().size());
        assertEquals(0, Shape.of(4, 0, 2).size());
    }

    @Test
    void dimsAreCopied() {
        int[] d = {2, 3};
        Shape s = Shape.of(d);
        d[0] = 99;
        assertEquals(2, s.dim(0));
        s.dims()[1] = 99;
        assertEquals(3, s.dim(1));
    }

    @Test
    void equalityIsByDimensions() {
        assertEquals(Shape.of(2, 3), Shape.of(2, 3));
        assertEquals(Shape.of(2, 3).hashCode(), Shape.of(2, 3).hashCode());
        assertNotEquals(Shape.of(2, 3), Shape.of(3, 2));
    }

    @Test
    void reshapeInfersOneDimension() {
        assertArrayEquals(new int[] {4, 6}, Shape.of(2, 3, 4).reshape(4, -1).dims());
        assertArrayEquals(new int[] {24}, Shape.of(2, 3, 4).reshape(-1).dims());
        assertEquals(Shape.of(0, 5), Shape.of(0, 5).reshape(0, 5));
    }

    @Test
    void badShapesAreRejectedWithTheShapeInTheMessage() {
        var neg = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
        assertTrue(neg.getMessage().contains("[2, -1]"), neg.getMessage());
        var size = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).reshape(4, 2));
        assertTrue(size.getMessage().contains("[2, 3]") && size.getMessage().contains("[4, 2]"), size.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).reshape(-1, -1));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).reshape(4, -1));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).dim(2));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).dim(-3));
        assertThrows(IllegalArgumentException.class, () -> Shape.of(1 << 16, 1 << 16));
    }
}
