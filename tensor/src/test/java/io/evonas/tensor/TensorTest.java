package io.evonas.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TensorTest {
    @Test
    void ofCopiesAndWrapShares() {
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor copied = Tensor.of(data, 2, 3);
        Tensor wrapped = Tensor.wrap(data, 2, 3);
        data[0] = 42;
        assertEquals(1f, copied.get(0, 0));
        assertEquals(42f, wrapped.get(0, 0));
        assertEquals(6f, copied.get(1, 2));
        assertEquals(Shape.of(2, 3), copied.shape());
    }

    @Test
    void reshapeIsAViewAndCopyIsNot() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor v = x.reshape(3, -1);
        Tensor c = x.copy();
        v.set(-1f, 2, 1);
        assertEquals(-1f, x.get(1, 2));
        assertEquals(6f, c.get(1, 2));
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, -1}, x.toArray());
        assertSame(x.data(), v.data());
    }

    @Test
    void sliceAlongTheFirstAxisIsAView() {
        Tensor x = Tensor.of(new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 4, 2);
        Tensor rows = x.slice(1, 3);
        assertEquals(Shape.of(2, 2), rows.shape());
        assertArrayEquals(new float[] {2, 3, 4, 5}, rows.toArray());
        assertEquals(2, rows.offset());
        rows.fill(9);
        assertArrayEquals(new float[] {0, 1, 9, 9, 9, 9, 6, 7}, x.toArray());
        assertArrayEquals(new float[] {9, 9}, rows.slice(1, 2).reshape(-1).toArray());
        assertThrows(IllegalArgumentException.class, () -> x.slice(3, 5));
        assertThrows(IllegalArgumentException.class, () -> x.slice(2, 1));
    }

    @Test
    void randomTensorsFollowTheirGenerator() {
        Tensor a = Tensor.uniform(new SplittableRandom(7), -1, 1, 1000);
        Tensor b = Tensor.uniform(new SplittableRandom(7), -1, 1, 1000);
        assertArrayEquals(a.toArray(), b.toArray());
        for (float v : a.toArray()) {
            assertTrue(v >= -1 && v < 1, "uniform value out of range: " + v);
        }
        float[] n = Tensor.normal(new SplittableRandom(3), 2f, 0.5f, 20_000).toArray();
        double mean = 0;
        for (float v : n) {
            mean += v;
        }
        mean /= n.length;
        double var = 0;
        for (float v : n) {
            var += (v - mean) * (v - mean);
        }
        var /= n.length;
        assertEquals(2.0, mean, 0.02);
        assertEquals(0.25, var, 0.01);
    }

    @Test
    void elementAccessChecksIndices() {
        Tensor x = Tensor.zeros(2, 3);
        assertThrows(IndexOutOfBoundsException.class, () -> x.get(2, 0));
        assertThrows(IllegalArgumentException.class, () -> x.get(1));
        assertThrows(IllegalStateException.class, x::item);
        assertEquals(5f, Tensor.scalar(5f).item());
    }

    @Test
    void badConstructionNamesTheProblem() {
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.uniform(new SplittableRandom(1), 1, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> Tensor.normal(new SplittableRandom(1), 0, -1, 3));
        assertThrows(NullPointerException.class, () -> Tensor.of(null, 1));
        var copy = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2).copyFrom(Tensor.zeros(3)));
        assertTrue(copy.getMessage().contains("[3]"), copy.getMessage());
    }

    @Test
    void toStringShowsShapeDeviceAndLeadingValues() {
        assertEquals("Tensor[2] cpu [1.0, 2.0]", Tensor.of(new float[] {1, 2}, 2).toString());
        assertTrue(Tensor.zeros(3, 5).toString().endsWith(", ...]"));
    }
}
