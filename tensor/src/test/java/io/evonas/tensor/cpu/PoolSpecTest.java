package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PoolSpecTest {

    @Test
    void strideDefaultsToTheWindow() {
        PoolSpec p = PoolSpec.of(3, 2);
        assertEquals(3, p.sh());
        assertEquals(2, p.sw());
        assertEquals(new PoolSpec(2, 2, 2, 2, 0, 0, 0, 0), PoolSpec.of(2));
        assertEquals(6, p.windowSize());
    }

    @Test
    void outputSizesUseFloorMode() {
        assertEquals(Shape.of(8, 16, 14, 14), PoolSpec.of(2).outputShape(Shape.of(8, 16, 28, 28)));
        assertEquals(3, PoolSpec.of(2).outHeight(7));                          // (7 - 2) / 2 + 1, last row unused
        assertEquals(28, PoolSpec.of(3, 3, 1, 1).withPadding(1).outWidth(28)); // "same"
        assertEquals(3, PoolSpec.of(3, 3, 2, 2).withPadding(1).outHeight(5)); // (5 + 2 - 3) / 2 + 1
        PoolSpec asym = PoolSpec.of(4, 3, 3, 2).withPadding(2, 1, 0, 1);
        assertEquals((10 + 3 - 4) / 3 + 1, asym.outHeight(10));
        assertEquals((7 + 1 - 3) / 2 + 1, asym.outWidth(7));
    }

    @Test
    void outputSizeMatchesTheDefinitionOnRandomGeometry() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int t = 0; t < 500; t++) {
            int k = rng.nextInt(1, 6);
            int s = rng.nextInt(1, 4);
            int pb = rng.nextInt(0, k / 2 + 1);
            int pa = rng.nextInt(0, k / 2 + 1);
            int in = rng.nextInt(1, 20);
            PoolSpec p = new PoolSpec(k, 1, s, 1, pb, pa, 0, 0);
            int count = 0;
            for (int start = -pb; start + k <= in + pa; start += s) {
                count++;
            }
            if (count == 0) {
                assertThrows(IllegalArgumentException.class, () -> p.outHeight(in));
            } else {
                assertEquals(count, p.outHeight(in), p + " on height " + in);
            }
        }
    }

    @Test
    void emptyOutputIsRefusedNamingTheSizes() {
        var e = assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(3).outputShape(Shape.of(1, 1, 2, 5)));
        assertTrue(e.getMessage().contains("height 2") && e.getMessage().contains("window height 3"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(2).outWidth(0));
        assertTrue(e.getMessage().contains("width 0"), e.getMessage());
    }

    @Test
    void badGeometryIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(0, 2));
        assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(2, 2, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(2).withPadding(-1));
        var e = assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(3).withPadding(0, 2, 0, 0));
        assertTrue(e.getMessage().contains("half the window 3×3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(1).withPadding(1));
        assertThrows(IllegalArgumentException.class, () -> PoolSpec.of(2).outputShape(Shape.of(2, 3, 4)));
    }

    @Test
    void copiesChangeOneAspect() {
        PoolSpec p = PoolSpec.of(3).withStride(1, 2).withPadding(1, 0, 1, 1);
        assertEquals(new PoolSpec(3, 3, 1, 2, 1, 0, 1, 1), p);
        assertEquals("PoolSpec[3×3, stride 1×2, pad t1 b0 l1 r1]", p.toString());
    }
}
