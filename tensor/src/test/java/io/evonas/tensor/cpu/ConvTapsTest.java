package io.evonas.tensor.cpu;

import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The weight and input gradients with the input's channels last ({@link ConvTaps}) against the column-matrix paths:
 * the weight gradient ({@link ConvGemm#im2colWeights}) sums the same products in the same order, so the two agree
 * bit for bit where that path's products go through the blocked kernel; the input gradient ({@link ConvGemm#im2colInput}) adds its taps in another order. Both also through
 * {@link Conv2d} against the double-precision reference, on one and two threads, the input gradient also added onto
 * values already there.
 * The shapes cover rows narrower than, as wide as and wider than a vector (the channels-last transpose's masked
 * blocks), padding, dilation, rectangular kernels, a depth that leaves the last panel half full, output channels
 * that are not whole row panels, and images with more output positions than one GEMM step block.
 */
class ConvTapsTest {
    private static void check(String what, int n, int c, int h, int w, int oc, ConvSpec spec) {
        SplittableRandom rng = new SplittableRandom(31L * c + 7L * h + w);
        Tensor x = Tensor.uniform(rng, -1, 1, n, c, h, w);
        Tensor wt = Tensor.uniform(rng, -0.5f, 0.5f, oc, c, spec.kh(), spec.kw());
        ConvGeometry g = ConvChecks.geometry("conv2d", 4, x.shape(), wt.shape(), spec);
        assertTrue(ConvTaps.applies(g), what + ": takes the channels-last path");
        Tensor dy = Tensor.uniform(rng, -1, 1, n, oc, g.oh(), g.ow());
        int size = oc * g.k();
        float[] expected = new float[size];
        float[] actual = new float[size];
        // onto values already there, as the caller's partial sums are
        for (int i = 0; i < size; i++) {
            expected[i] = actual[i] = i % 5 - 2;
        }
        ConvGemm.im2colWeights(g, x.data(), 0, dy.data(), 0, 0, n, expected);
        ConvTaps.weights(g, x.data(), 0, dy.data(), 0, 0, n, actual);
        if (Sgemm.SMALL_WORK <= (long) g.k() * oc * g.p()) {
            assertArrayEquals(expected, actual, what + ": the column-matrix path's sums");
        } else {
            // the column-matrix path hands a product this small to SgemmSmall, which sums in another order
            assertClose(what + ": the column-matrix path's sums", expected, actual, 1e-5, 1e-5);
        }

        ConvReference ref = new ConvReference(n, c, h, w, oc, spec);
        double[] dwRef = ref.backwardWeights(toDouble(x.data()), toDouble(dy.data()));
        double[] dxRef = ref.backwardInput(toDouble(dy.data()), toDouble(wt.data()));
        assertTrue(ConvTaps.appliesInput(g), what + ": the input gradient takes the channels-last path");
        Tensor viaColumns = x.zerosLike();
        ConvGemm.im2colInput(g, dy.data(), 0, wt.data(), 0, viaColumns.data(), 0, false);
        int saved = Parallel.threads();
        try {
            for (int threads = 1; threads <= 2; threads++) {
                Parallel.setThreads(threads);
                Tensor dw = wt.zerosLike();
                Tensor db = Tensor.zeros(oc);
                Conv2d.backwardWeights(x, dy, spec, dw, db, false);
                assertClose(what + ", " + threads + " threads", dwRef, dw.toArray(), 1e-4, 1e-3);
                assertClose(what + " bias, " + threads + " threads", ref.backwardBias(toDouble(dy.data())),
                        db.toArray(), 1e-4, 1e-3);
                Tensor dx = Conv2d.backwardInput(dy, wt, spec, x.shape());
                assertClose(what + " input, " + threads + " threads", dxRef, dx.toArray(), 1e-4, 1e-4);
                assertClose(what + " input against the column matrix", viaColumns.toArray(), dx.toArray(), 1e-5, 1e-5);
                // accumulated onto what is there
                Tensor onto = Tensor.uniform(new SplittableRandom(threads), -1, 1, x.shape().dims());
                float[] before = onto.toArray();
                Conv2d.backwardInput(dy, wt, spec, onto, true);
                float[] after = onto.toArray();
                for (int i = 0; i < after.length; i++) {
                    after[i] -= before[i];
                }
                assertClose(what + " input accumulated", dxRef, after, 1e-4, 1e-4);
            }
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void agreesWithTheColumnMatrixAndTheReference() {
        check("conv2 of the reference CNN", 3, 32, 13, 13, 64, ConvSpec.of(3, 3));
        check("same padding, rows of a vector", 2, 16, 16, 16, 7, ConvSpec.same(3, 3));
        check("rows wider than a vector", 2, 16, 9, 21, 20, ConvSpec.of(3, 3));
        check("depth 432: a half panel last", 2, 48, 10, 11, 5, ConvSpec.same(3, 3));
        check("dilation 2, uneven padding", 2, 16, 12, 14, 9, new ConvSpec(3, 3, 1, 1, 2, 1, 0, 2, 2, 2));
        check("5×5", 1, 16, 12, 12, 13, ConvSpec.same(5, 5));
        check("1×3", 2, 32, 8, 20, 6, new ConvSpec(1, 3, 1, 1, 0, 0, 1, 1, 1, 1));
        check("3×1", 2, 16, 20, 8, 15, new ConvSpec(3, 1, 1, 1, 1, 1, 0, 0, 1, 1));
        check("padding beyond the kernel's reach", 2, 16, 7, 9, 4, new ConvSpec(3, 3, 1, 1, 3, 2, 4, 3, 1, 1));
        check("1-D", 3, 16, 1, 80, 5, ConvSpec.of1d(3));
        // 24 × 24 = 576 output positions: two step blocks of 288 an image
        check("more positions than a step block", 2, 16, 26, 26, 8, ConvSpec.of(3, 3));
    }

    @Test
    void otherGeometriesKeepTheColumnMatrix() {
        Shape x = Shape.of(2, 16, 13, 13);
        assertFalse(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 17, 13, 13), Shape.of(4, 17, 3, 3),
                ConvSpec.of(3, 3))), "17 channels: not whole vectors");
        assertFalse(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, x, Shape.of(4, 16, 3, 3),
                new ConvSpec(3, 3, 2, 2, 0, 0, 0, 0, 1, 1))), "stride 2");
        assertFalse(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, x, Shape.of(4, 16, 1, 1), ConvSpec.of(1, 1))),
                "1×1: a plain product");
        assertFalse(ConvTaps.appliesInput(ConvChecks.geometry("conv2d", 4, x, Shape.of(520, 16, 3, 3),
                ConvSpec.of(3, 3))), "520 output channels: more than one GEMM step block for the input gradient");
        assertTrue(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, x, Shape.of(520, 16, 3, 3),
                ConvSpec.of(3, 3))), "520 output channels: the weight gradient takes them");
        assertFalse(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 16, 9, 9), Shape.of(4, 16, 3, 3),
                ConvSpec.of(3, 3))), "49 positions an image: images grouped on the column-matrix path");
    }
}
