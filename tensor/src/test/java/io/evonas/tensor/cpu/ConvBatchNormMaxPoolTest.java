package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A direct convolution, batch norm, ReLU and 2×2 max pool as one primitive ({@link ConvBatchNormMaxPool} through
 * {@link CpuBackend#convBatchNormReluMaxPool}) against {@link Conv2d} followed by the batch norm and pool (whose
 * agreement with the separate primitives {@link BatchNormMaxPoolTest} checks): outputs, running statistics and the
 * gradients of the weight, bias, γ and β, in training and inference mode, with and without a bias, for output
 * channels in and out of blocks of four, odd output sides, padding and a height stride, and channels whose scale
 * is negative or zero (which the fused pass recomputes and normalises before pooling).
 */
class ConvBatchNormMaxPoolTest {
    private static final CpuBackend CPU = CpuBackend.instance();

    /** A case: input {@code x}, weight {@code [oc, c, 3, 3]}, optional bias, γ with some signs flipped. */
    private record Case(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor gamma, Tensor beta, Tensor rm,
                        Tensor rv) {
        static Case of(long seed, int n, int c, int h, int w, int oc, ConvSpec spec, boolean bias,
                       boolean flipScales) {
            SplittableRandom rng = new SplittableRandom(seed);
            Tensor x = Tensor.uniform(rng, -2, 2, n, c, h, w);
            Tensor wt = Tensor.uniform(rng, -0.5f, 0.5f, oc, c, spec.kh(), spec.kw());
            Tensor b = bias ? Tensor.uniform(rng, -0.3f, 0.3f, oc) : null;
            Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, oc);
            if (flipScales) {
                float[] g = gamma.data();
                for (int k = 0; k < oc; k += 2) {
                    g[gamma.offset() + k] = -g[gamma.offset() + k];
                }
                g[gamma.offset() + 1] = 0f;
            }
            return new Case(x, wt, b, spec, gamma, Tensor.uniform(rng, -0.5f, 0.5f, oc),
                    Tensor.uniform(rng, -0.1f, 0.1f, oc), Tensor.uniform(rng, 0.9f, 1.1f, oc));
        }
    }

    private static void check(String where, Case k, boolean training) {
        assertTrue(ConvBatchNormMaxPool.applies(k.x.shape(), k.w.shape(), k.spec), where + ": takes the fused path");
        Tensor rm1 = k.rm.copy();
        Tensor rv1 = k.rv.copy();
        Tensor rm2 = k.rm.copy();
        Tensor rv2 = k.rv.copy();
        // Composed: the convolution, then batch norm + ReLU + pool, then the convolution's weight gradient.
        Tensor y = CPU.conv2d(k.x, k.w, k.bias, k.spec);
        Backend.PooledBatchNorm p = CPU.batchNormReluMaxPool(y, k.gamma, k.beta, rm1, rv1, 0.1f, 1e-5f, training,
                true);
        SplittableRandom rng = new SplittableRandom(99);
        Tensor dy = Tensor.uniform(rng, -1, 1, p.output().shape().dims());
        Backend.BatchNormGradients g = p.backward().apply(dy);
        Tensor dw = k.w.zerosLike();
        Tensor db = k.bias == null ? null : k.bias.zerosLike();
        CPU.conv2dBackwardWeights(k.x, g.dx(), k.spec, dw, db, false);

        Backend.PooledConvBatchNorm f = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma, k.beta, rm2,
                rv2, 0.1f, 1e-5f, training, true);
        Backend.ConvBatchNormGradients fg = f.backward().apply(dy);
        BatchNormMaxPoolTest.assertClose(p.output(), f.output(), 2e-5, where + " output");
        BatchNormMaxPoolTest.assertClose(rm1, rm2, 1e-6, where + " running mean");
        BatchNormMaxPoolTest.assertClose(rv1, rv2, 1e-6, where + " running var");
        BatchNormMaxPoolTest.assertClose(dw, fg.dw(), 2e-4, where + " dw");
        if (db == null) {
            assertNull(fg.db(), where + " db without a bias");
        } else if (training) {
            // Σ dx over a channel is zero in exact arithmetic (batch norm's gradient is centred): both are rounding.
            float bound = 1e-3f * Math.max(1f, maxAbs(dw));
            assertTrue(maxAbs(fg.db()) <= bound, where + " db " + java.util.Arrays.toString(fg.db().toArray()));
        } else {
            BatchNormMaxPoolTest.assertClose(db, fg.db(), 2e-4, where + " db");
        }
        BatchNormMaxPoolTest.assertClose(g.dgamma(), fg.dgamma(), 1e-4, where + " dgamma");
        BatchNormMaxPoolTest.assertClose(g.dbeta(), fg.dbeta(), 1e-4, where + " dbeta");

        // Without a backward pass in view: the same output, and a backward pass refused.
        Backend.PooledConvBatchNorm bare = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma, k.beta,
                k.rm.copy(), k.rv.copy(), 0.1f, 1e-5f, training, false);
        assertArrayEquals(f.output().toArray(), bare.output().toArray(), where + " output without a backward pass");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> bare.backward().apply(dy));
        assertTrue(refused.getMessage().contains("kept no winners"), refused.getMessage());
    }

    private static float maxAbs(Tensor t) {
        float m = 0;
        for (float v : t.toArray()) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    @Test
    void agreesWithTheComposedPrimitivesInTraining() {
        // The reference CNN's first layer, on a few images.
        check("conv1", Case.of(1, 6, 1, 28, 28, 32, new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1), true, false), true);
        // Six output channels (a block of four and two single ones), two input channels, padding: odd 21×19 output.
        check("padded", Case.of(2, 3, 2, 21, 19, 6, ConvSpec.same(3, 3), true, false), true);
        // No bias, three input channels, height stride 2.
        check("strided", Case.of(3, 4, 3, 30, 20, 5, new ConvSpec(3, 3, 2, 1, 1, 1, 1, 1, 1, 1), false, false),
                true);
    }

    @Test
    void inferenceAgreesWithTheComposedPrimitives() {
        check("conv1", Case.of(4, 5, 1, 28, 28, 32, new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1), true, false), false);
        check("padded", Case.of(5, 3, 2, 21, 19, 6, ConvSpec.same(3, 3), false, false), false);
    }

    @Test
    void negativeAndZeroScalesAgree() {
        check("training", Case.of(6, 3, 1, 20, 18, 7, new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1), true, true), true);
        check("inference", Case.of(7, 3, 2, 20, 18, 7, ConvSpec.same(3, 3), true, true), false);
    }

    /** Evaluation of a convolution on the GEMM path, pooled from its products, against the separate primitives. */
    private static void checkProducts(String where, Case k) {
        assertFalse(ConvBatchNormMaxPool.applies(k.x.shape(), k.w.shape(), k.spec), where + ": not the direct path");
        assertTrue(ConvBatchNormMaxPool.appliesToProducts(k.x.shape(), k.w.shape(), k.spec), where);
        Tensor y = CPU.conv2d(k.x, k.w, k.bias, k.spec);
        Tensor expected = CPU.batchNormReluMaxPool(y, k.gamma, k.beta, k.rm, k.rv, 0.1f, 1e-5f, false, false)
                .output();
        int saved = Parallel.threads();
        try {
            for (int threads : new int[] {1, 2}) {
                Parallel.setThreads(threads);
                Backend.PooledConvBatchNorm f = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma,
                        k.beta, k.rm, k.rv, 0.1f, 1e-5f, false, false);
                BatchNormReluTest.assertSameBits(expected, f.output(), where + " (" + threads + " threads)");
                IllegalStateException refused = assertThrows(IllegalStateException.class,
                        () -> f.backward().apply(expected));
                assertTrue(refused.getMessage().contains("kept no winners"), refused.getMessage());
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void evaluationOnTheGemmPathPoolsTheProductsWithTheSameBits() {
        // The reference CNN's second layer (11×11 output: the pool drops a row and a column), with negative and
        // zero γ; a padded layer with a 12×20 output and no bias.
        checkProducts("conv2", Case.of(11, 5, 32, 13, 13, 64, ConvSpec.of(3, 3), true, true));
        checkProducts("padded", Case.of(12, 3, 8, 12, 20, 6, ConvSpec.same(3, 3), false, false));
        // Training, or a pass with gradients in view, is composed: the same output as the separate primitives.
        Case k = Case.of(13, 2, 8, 12, 20, 6, ConvSpec.same(3, 3), true, false);
        Backend.PooledConvBatchNorm t = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma, k.beta,
                k.rm.copy(), k.rv.copy(), 0.1f, 1e-5f, true, true);
        Backend.PooledBatchNorm c = CPU.batchNormReluMaxPool(CPU.conv2d(k.x, k.w, k.bias, k.spec), k.gamma, k.beta,
                k.rm.copy(), k.rv.copy(), 0.1f, 1e-5f, true, true);
        BatchNormReluTest.assertSameBits(c.output(), t.output(), "training on the GEMM path");
    }

    @Test
    void oneAndTwoThreadsGiveTheSameForwardBits() {
        Case k = Case.of(8, 16, 1, 28, 28, 8, new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1), true, true);
        int saved = Parallel.threads();
        try {
            float[][] one = run(1, k);
            float[][] two = run(2, k);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(one[i], two[i], "result " + i);
            }
            // Two threads claim the images' chunks in a different order from run to run; each chunk sums into a
            // partial of its own, so a second run gives the same bits.
            float[][] again = run(2, k);
            for (int i = 0; i < two.length; i++) {
                assertArrayEquals(two[i], again[i], "two threads, second run, result " + i);
            }
            // The weight gradient is summed per chunk, then over the chunks: equal to one thread's up to rounding. (The bias
            // gradient, index 4, is zero but for rounding in training, so there is nothing to compare.)
            for (int i = 3; i < one.length; i++) {
                if (i == 4) {
                    continue;
                }
                BatchNormMaxPoolTest.assertClose(Tensor.of(one[i], one[i].length), Tensor.of(two[i], two[i].length), 1e-5,
                        "gradient " + i);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    private static float[][] run(int threads, Case k) {
        Parallel.setThreads(threads);
        Tensor rm = k.rm.copy();
        Tensor rv = k.rv.copy();
        Backend.PooledConvBatchNorm f = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma, k.beta, rm,
                rv, 0.1f, 1e-5f, true, true);
        Tensor dy = Tensor.uniform(new SplittableRandom(3), -1, 1, f.output().shape().dims());
        Backend.ConvBatchNormGradients g = f.backward().apply(dy);
        return new float[][] {f.output().toArray(), rm.toArray(), rv.toArray(), g.dw().toArray(), g.db().toArray(),
            g.dgamma().toArray(), g.dbeta().toArray()};
    }

    @Test
    void otherConvolutionsAreComposed() {
        // Eight input channels: not the direct path, so the backend composes the primitives.
        Shape x = Shape.of(2, 8, 12, 20);
        Shape w = Shape.of(4, 8, 3, 3);
        assertFalse(ConvBatchNormMaxPool.applies(x, w, ConvSpec.same(3, 3)));
        SplittableRandom rng = new SplittableRandom(9);
        Tensor xt = Tensor.uniform(rng, -1, 1, x.dims());
        Tensor wt = Tensor.uniform(rng, -0.3f, 0.3f, w.dims());
        Backend.PooledConvBatchNorm f = CPU.convBatchNormReluMaxPool(xt, wt, null, ConvSpec.same(3, 3),
                Tensor.full(1f, 4), Tensor.zeros(4), Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 1e-5f, true, true);
        assertEquals(Shape.of(2, 4, 6, 10), f.output().shape());
        IllegalArgumentException direct = assertThrows(IllegalArgumentException.class,
                () -> ConvBatchNormMaxPool.forward(xt, wt, null, ConvSpec.same(3, 3), Tensor.full(1f, 4),
                        Tensor.zeros(4), Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 1e-5f, true, true));
        assertTrue(direct.getMessage().contains("input channels") && direct.getMessage().contains("[2, 8, 12, 20]"),
                direct.getMessage());
    }

    @Test
    void nanInTheInputReachesTheOutput() {
        Case k = Case.of(10, 2, 1, 20, 20, 4, new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1), true, false);
        k.x.data()[k.x.offset() + 3 * 20 + 3] = Float.NaN;
        for (boolean training : new boolean[] {true, false}) {
            Backend.PooledConvBatchNorm f = CPU.convBatchNormReluMaxPool(k.x, k.w, k.bias, k.spec, k.gamma, k.beta,
                    k.rm.copy(), k.rv.copy(), 0.1f, 1e-5f, training, true);
            boolean nan = false;
            for (float v : f.output().toArray()) {
                nan |= Float.isNaN(v);
            }
            assertTrue(nan, (training ? "training" : "inference") + ": NaN in the input shows in the output");
        }
    }

    @Test
    void badArgumentsNameTheOpAndShapes() {
        Tensor x = Tensor.zeros(2, 1, 20, 20);
        Tensor w = Tensor.zeros(4, 1, 3, 3);
        ConvSpec s = new ConvSpec(3, 3, 1, 1, 0, 0, 0, 0, 1, 1);
        IllegalArgumentException gamma = assertThrows(IllegalArgumentException.class,
                () -> ConvBatchNormMaxPool.forward(x, w, null, s, Tensor.full(1f, 3), Tensor.zeros(4),
                        Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 1e-5f, true, true));
        assertTrue(gamma.getMessage().contains("conv2d+batchNorm+relu+maxPool")
                && gamma.getMessage().contains("gamma [3]"), gamma.getMessage());
        IllegalArgumentException eps = assertThrows(IllegalArgumentException.class,
                () -> ConvBatchNormMaxPool.forward(x, w, null, s, Tensor.full(1f, 4), Tensor.zeros(4),
                        Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 0f, true, true));
        assertTrue(eps.getMessage().contains("eps"), eps.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> ConvBatchNormMaxPool.forward(Tensor.zeros(2, 1, 3, 18), w, null, s, Tensor.full(1f, 4),
                        Tensor.zeros(4), Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 1e-5f, true, true));
        assertTrue(small.getMessage().contains("1×16") && small.getMessage().contains("2×2"), small.getMessage());
        ConvBatchNormMaxPool.Result r = ConvBatchNormMaxPool.forward(x, w, null, s, Tensor.full(1f, 4),
                Tensor.zeros(4), Tensor.zeros(4), Tensor.full(1f, 4), 0.1f, 1e-5f, true, true);
        IllegalArgumentException dy = assertThrows(IllegalArgumentException.class,
                () -> ConvBatchNormMaxPool.backward(x, w, null, s, Tensor.zeros(2, 4, 18, 18), Tensor.full(1f, 4),
                        r.saved(), w.zerosLike(), null, Tensor.zeros(4), Tensor.zeros(4)));
        assertTrue(dy.getMessage().contains("dy [2, 4, 18, 18]") && dy.getMessage().contains("[2, 4, 9, 9]"),
                dy.getMessage());
    }
}
