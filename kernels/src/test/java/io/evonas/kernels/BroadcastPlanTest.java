package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Broadcast;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The broadcasting plan in the kernels' four-dimensional form, against direct NumPy-style indexing. */
class BroadcastPlanTest {
    @Test
    void aPerChannelBiasMergesToThreeDimsPaddedToFour() {
        BroadcastPlan p = BroadcastPlan.of(Shape.of(8, 16, 32, 32), Shape.of(8, 16, 32, 32), Shape.of(1, 16, 1, 1));
        assertArrayEquals(new int[] {8, 16, 1024}, p.dims());
        assertArrayEquals(new int[] {16384, 1024, 1}, p.strides()[0]);
        assertArrayEquals(new int[] {0, 1, 0}, p.strides()[1]);
        assertArrayEquals(new int[] {1, 8, 16, 1024}, p.last4());
        assertArrayEquals(new int[] {0, 0, 1, 0}, p.last4Strides(1));
        assertEquals(1, p.outerCount());
        assertEquals(8L * 16 * 1024, p.innerSize());
    }

    @Test
    void aScalarAndEqualShapesCollapseToOneDim() {
        BroadcastPlan p = BroadcastPlan.of(Shape.of(2, 3), Shape.of(2, 3), Shape.of());
        assertArrayEquals(new int[] {6}, p.dims());
        assertArrayEquals(new int[] {1}, p.strides()[0]);
        assertArrayEquals(new int[] {0}, p.strides()[1]);
        BroadcastPlan ones = BroadcastPlan.of(Shape.of(1, 1), Shape.of(1), Shape.of(1, 1));
        assertArrayEquals(new int[] {1}, ones.dims());
    }

    @Test
    void alternatingBroadcastsBeyondFourDimsSplitIntoOuterLaunches() {
        Shape out = Shape.of(2, 3, 2, 3, 2, 3);
        BroadcastPlan p = BroadcastPlan.of(out, out, Shape.of(2, 1, 2, 1, 2, 1));
        assertEquals(6, p.rank());
        assertEquals(6, p.outerCount());
        assertEquals(36, p.innerSize());
        assertPlanIndexesLikeBroadcasting(out, out, Shape.of(2, 1, 2, 1, 2, 1));
    }

    @Test
    void randomShapesIndexLikeBroadcasting() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int trial = 0; trial < 300; trial++) {
            int rank = rng.nextInt(0, 7);
            int[] o = new int[rank];
            int[] a = new int[rank];
            int[] b = new int[rank];
            for (int i = 0; i < rank; i++) {
                o[i] = rng.nextInt(1, 4);
                a[i] = rng.nextBoolean() ? o[i] : 1;
                b[i] = rng.nextBoolean() ? o[i] : 1;
            }
            Shape sa = Shape.of(trimLeading(a, rng.nextInt(0, rank + 1)));
            Shape sb = Shape.of(trimLeading(b, rng.nextInt(0, rank + 1)));
            Shape out = Broadcast.shape("test", sa, sb);
            assertPlanIndexesLikeBroadcasting(out, sa, sb);
        }
    }

    private static int[] trimLeading(int[] d, int drop) {
        int[] r = new int[d.length - drop];
        System.arraycopy(d, drop, r, 0, r.length);
        return r;
    }

    /** Walks the plan as the launches do (outer launches, then the 4-d kernel loop) and checks every offset. */
    private static void assertPlanIndexesLikeBroadcasting(Shape out, Shape a, Shape b) {
        BroadcastPlan p = BroadcastPlan.of(out, a, b);
        int[] d = p.last4();
        Shape[] inputs = {a, b};
        long inner = p.innerSize();
        assertEquals(out.size(), p.outerCount() * inner, p.toString());
        for (int o = 0; o < p.outerCount(); o++) {
            for (long i = 0; i < inner; i++) {
                long flat = o * inner + i;
                long r = i;
                long[] idx = new long[4];
                for (int k = 3; k >= 0; k--) {
                    idx[k] = r % d[k];
                    r /= d[k];
                }
                for (int k = 0; k < 2; k++) {
                    int[] s = p.last4Strides(k);
                    long off = p.outerOffset(k, o);
                    for (int j = 0; j < 4; j++) {
                        off += idx[j] * s[j];
                    }
                    assertEquals(directOffset(out, inputs[k], flat), off, p + " input " + k + " element " + flat);
                }
            }
        }
    }

    private static long directOffset(Shape out, Shape in, long flat) {
        long off = 0;
        long stride = 1;
        long r = flat;
        for (int i = out.rank() - 1; i >= 0; i--) {
            long idx = r % out.dim(i);
            r /= out.dim(i);
            int j = i - (out.rank() - in.rank());
            if (j >= 0) {
                int dim = in.dim(j);
                off += (dim == 1 ? 0 : idx) * stride;
                stride *= dim;
            }
        }
        return off;
    }
}
