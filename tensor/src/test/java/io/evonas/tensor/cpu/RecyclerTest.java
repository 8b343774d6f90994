package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The pooled batch norm's saved winners handed on to the next forward pass once its backward pass has run
 * ({@link Recycler}): a second backward pass is refused, and a forward pass that takes arrays full of another pass's
 * (here: poisoned) values gives the same bits as one on fresh arrays.
 */
class RecyclerTest {
    private static final CpuBackend CPU = CpuBackend.instance();

    @Test
    void arraysComeBackByTypeAndExactLength() {
        int[] a = new int[12_345];
        float[] f = new float[12_345];
        long before = Recycler.reused();
        Recycler.give(a);
        Recycler.give(f);
        assertSame(f, Recycler.floats(12_345));
        assertSame(a, Recycler.ints(12_345));
        assertEquals(before + 2, Recycler.reused());
        assertNotSame(a, Recycler.ints(12_345), "taken once only");
        Recycler.give(null);
        Recycler.give(a);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> Recycler.give(a));
        assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
        assertSame(a, Recycler.ints(12_345));
        // only the last SLOTS arrays are kept
        float[] first = new float[777];
        Recycler.give(first);
        for (int i = 0; i < Recycler.SLOTS; i++) {
            Recycler.give(new float[778 + i]);
        }
        assertNotSame(first, Recycler.floats(777), "the oldest was given up");
        // nor is an array longer than MAX_LENGTH kept
        float[] huge = new float[Recycler.MAX_LENGTH + 1];
        Recycler.give(huge);
        assertNotSame(huge, Recycler.floats(Recycler.MAX_LENGTH + 1), "too long to keep");
    }

    /** Fills every kept array of the given lengths with values no forward pass writes. */
    private static void poison(int length) {
        int[] a = Recycler.ints(length);
        float[] f = Recycler.floats(length);
        Arrays.fill(a, -12345);
        Arrays.fill(f, Float.NaN);
        Recycler.give(a);
        Recycler.give(f);
    }

    private static float[][] batchNormPass(Tensor x, Tensor gamma, Tensor beta, Tensor dy, boolean second) {
        Tensor rm = Tensor.zeros(x.dim(1));
        Tensor rv = Tensor.full(1f, x.dim(1));
        Backend.PooledBatchNorm r = CPU.batchNormReluMaxPool(x, gamma, beta, rm, rv, 0.1f, 1e-5f, true, true);
        // a failed pass (dy of the input's shape) keeps the state for a retry
        assertThrows(IllegalArgumentException.class, () -> r.backward().apply(Tensor.zeros(x.shape())));
        Backend.BatchNormGradients g = r.backward().apply(dy);
        if (second) {
            IllegalStateException again = assertThrows(IllegalStateException.class, () -> r.backward().apply(dy));
            assertTrue(again.getMessage().contains("batchNorm+relu+maxPool backward")
                    && again.getMessage().contains("already ran"), again.getMessage());
        }
        return new float[][] {r.output().toArray(), g.dx().toArray(), g.dgamma().toArray(), g.dbeta().toArray()};
    }

    private static void assertSameBitsWithReusedArrays(String what, int pooled, Supplier<float[][]> pass) {
        float[][] fresh = pass.get();
        poison(pooled);
        long before = Recycler.reused();
        float[][] reused = pass.get();
        assertTrue(Recycler.reused() >= before + 2, what + ": the second pass took the handed-back arrays");
        for (int i = 0; i < fresh.length; i++) {
            assertArrayEquals(fresh[i], reused[i], what + " result " + i);
        }
    }

    @Test
    void batchNormReluMaxPoolRunsBackwardOnceAndReusesItsWinners() {
        SplittableRandom rng = new SplittableRandom(31);
        // γ of both signs and zero: planes pooled raw and planes normalised before pooling both write the winners
        Tensor x = Tensor.uniform(rng, -2, 2, 3, 5, 9, 10);
        Tensor gamma = Tensor.of(new float[] {1.2f, -0.7f, 0f, 0.4f, -1.1f}, 5);
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, 5);
        Tensor dy = Tensor.uniform(rng, -1, 1, 3, 5, 4, 5);
        assertSameBitsWithReusedArrays("batchNorm+relu+maxPool", 3 * 5 * 4 * 5,
                () -> batchNormPass(x, gamma, beta, dy, true));
    }

    @Test
    void convBatchNormReluMaxPoolRunsBackwardOnceAndReusesItsWinners() {
        SplittableRandom rng = new SplittableRandom(37);
        ConvSpec spec = ConvSpec.of(3, 3);
        Tensor x = Tensor.uniform(rng, -2, 2, 4, 1, 20, 21);
        Tensor w = Tensor.uniform(rng, -0.5f, 0.5f, 6, 1, 3, 3);
        Tensor bias = Tensor.uniform(rng, -0.3f, 0.3f, 6);
        Tensor gamma = Tensor.of(new float[] {1.2f, -0.7f, 0f, 0.4f, -1.1f, 0.9f}, 6);
        Tensor beta = Tensor.uniform(rng, -0.5f, 0.5f, 6);
        assertTrue(ConvBatchNormMaxPool.applies(x.shape(), w.shape(), spec));
        Tensor dy = Tensor.uniform(rng, -1, 1, 4, 6, 9, 9);
        assertSameBitsWithReusedArrays("conv2d+batchNorm+relu+maxPool", 4 * 6 * 9 * 9, () -> {
            Backend.PooledConvBatchNorm r = CPU.convBatchNormReluMaxPool(x, w, bias, spec, gamma, beta,
                    Tensor.zeros(6), Tensor.full(1f, 6), 0.1f, 1e-5f, true, true);
            Backend.ConvBatchNormGradients g = r.backward().apply(dy);
            IllegalStateException again = assertThrows(IllegalStateException.class, () -> r.backward().apply(dy));
            assertTrue(again.getMessage().contains("already ran"), again.getMessage());
            return new float[][] {r.output().toArray(), g.dw().toArray(), g.db().toArray(), g.dgamma().toArray(),
                g.dbeta().toArray()};
        });
    }
}
