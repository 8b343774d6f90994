package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * B packed straight from the images ({@link ConvPanels}) against the column matrix that {@link Im2col} writes,
 * multiplied by {@link Sgemm}: the same products for groups of one to five images, so panels that cross image
 * boundaries (and the group's end) are covered, with padding, dilation, 5×5 and 1-D kernels, rows whose padding
 * columns make the panel windows nearly full, and output channel counts that are not multiples of the GEMM's row
 * panels. {@code Conv2dTest}'s double-precision references run through this path too.
 */
class ConvPanelsTest {
    private static void check(String what, int c, int h, int w, int oc, ConvSpec spec) {
        for (int gn = 1; gn <= 5; gn += 2) {
            SplittableRandom rng = new SplittableRandom(17L * h + w + gn);
            Tensor x = Tensor.uniform(rng, -1, 1, gn, c, h, w);
            Tensor wt = Tensor.uniform(rng, -0.5f, 0.5f, oc, c, spec.kh(), spec.kw());
            ConvGeometry g = ConvChecks.geometry("conv2d", 4, x.shape(), wt.shape(), spec);
            assertTrue(ConvPanels.applies(g), what + ": takes the panel path");
            int k = g.k();
            int ld = gn * g.p();
            float[] col = new float[k * (ld + Im2col.SLACK)];
            for (int i = 0; i < gn; i++) {
                Im2col.im2col(g, x.data(), i * g.inImage(), col, i * g.p(), ld + Im2col.SLACK);
            }
            Tensor expected = Tensor.zeros(oc, ld);
            Sgemm.sgemm(false, false, oc, ld, k, 1f, wt.data(), 0, k, col, 0, ld + Im2col.SLACK, 0f,
                    expected.data(), 0, ld);
            float[] img = new float[ConvPanels.scratchSize(g, gn)];
            MemorySegment bp = SgemmWorkspace.get().b((long) SgemmKernel.NR * k
                    * ((ld + SgemmKernel.NR - 1) / SgemmKernel.NR));
            Tensor actual = Tensor.zeros(oc, ld);
            ConvPanels.product(g, x.data(), 0, gn, ConvPanels.packWeights(g, wt.data(), 0), img, bp,
                    actual.data(), ld, SgemmWorkspace.get());
            BatchNormMaxPoolTest.assertClose(expected, actual, 1e-6, what + ", " + gn + " images");
            // the images inside a larger array, with room after them: read in place when there is no padding
            float[] wide = new float[7 + x.size() + ConvPanels.scratchSize(g, gn)];
            java.util.Arrays.fill(wide, Float.NaN);
            System.arraycopy(x.data(), 0, wide, 7, x.size());
            Tensor inPlace = Tensor.zeros(oc, ld);
            ConvPanels.product(g, wide, 7, gn, ConvPanels.packWeights(g, wt.data(), 0), img, bp, inPlace.data(), ld,
                    SgemmWorkspace.get());
            BatchNormMaxPoolTest.assertClose(expected, inPlace, 1e-6, what + ", " + gn + " images at an offset");
        }
    }

    @Test
    void agreesWithTheColumnMatrix() {
        check("conv2", 32, 13, 13, 64, ConvSpec.of(3, 3));
        check("same padding", 5, 9, 12, 7, ConvSpec.same(3, 3));
        check("dilation 2", 3, 12, 14, 20, new ConvSpec(3, 3, 1, 1, 2, 2, 2, 2, 2, 2));
        check("5×5", 4, 9, 11, 13, ConvSpec.same(5, 5));
        check("1-D as 2-D", 6, 1, 40, 9, new ConvSpec(1, 3, 1, 1, 0, 0, 1, 1, 1, 1));
        // rows of 6 outputs in 8 columns: a panel's 32 positions reach over 40 floats into the input row
        check("narrow rows", 4, 8, 8, 5, ConvSpec.of(3, 3));
    }

    @Test
    void otherGeometriesKeepTheColumnMatrix() {
        Shape x = Shape.of(2, 8, 13, 13);
        assertFalse(ConvPanels.applies(ConvChecks.geometry("conv2d", 4, x, Shape.of(4, 8, 3, 3),
                new ConvSpec(3, 3, 2, 2, 0, 0, 0, 0, 1, 1))), "stride 2");
        assertFalse(ConvPanels.applies(ConvChecks.geometry("conv2d", 4, x, Shape.of(4, 8, 1, 1), ConvSpec.of(1, 1))),
                "1×1: a plain product");
        assertFalse(ConvPanels.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 64, 13, 13),
                Shape.of(4, 64, 3, 3), ConvSpec.of(3, 3))), "depth 576: more than one GEMM step block");
        assertFalse(ConvPanels.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 8, 6, 6), Shape.of(4, 8, 3, 3),
                ConvSpec.of(3, 3))), "16 positions an image: less than a panel");
        assertFalse(ConvPanels.applies(ConvChecks.geometry("conv2d", 4, Shape.of(2, 8, 6, 40), Shape.of(4, 8, 1, 19),
                new ConvSpec(1, 19, 1, 1, 0, 0, 0, 0, 1, 1))), "18 columns skipped a row: past the window");
    }
}
