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
 * The weight gradient with the input's channels last ({@link ConvTaps}) against the column-matrix path
 * ({@link ConvGemm#im2colWeights}), which sums the same products in the same order, so the two agree bit for bit;
 * and through {@link Conv2d#backwardWeights} against the double-precision reference, on one and two threads.
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
        assertArrayEquals(expected, actual, what + ": the column-matrix path's sums");

        ConvReference ref = new ConvReference(n, c, h, w, oc, spec);
        double[] dwRef = ref.backwardWeights(toDouble(x.data()), toDouble(dy.data()));
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
        assertFalse(ConvTaps.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 16, 9, 9), Shape.of(4, 16, 3, 3),
                ConvSpec.of(3, 3))), "49 positions an image: images grouped on the column-matrix path");
    }
}
