package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.Conv2dTest.rejects;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConvSpecTest {

    @Test
    void factoriesFillEveryField() {
        assertEquals(new ConvSpec(3, 5, 1, 1, 0, 0, 0, 0, 1, 1), ConvSpec.of(3, 5));
        assertEquals(new ConvSpec(3, 3, 2, 2, 1, 1, 1, 1, 1, 1), ConvSpec.of(3, 3, 2, 1));
        assertEquals(new ConvSpec(1, 4, 1, 1, 0, 0, 0, 0, 1, 1), ConvSpec.of1d(4));
        assertEquals(new ConvSpec(1, 4, 1, 2, 0, 0, 3, 3, 1, 2), ConvSpec.of1d(4, 2, 3, 2));
        ConvSpec s = ConvSpec.of(3, 3).withStride(2, 3).withPadding(1, 2, 3, 4).withDilation(2, 1);
        assertEquals(new ConvSpec(3, 3, 2, 3, 1, 2, 3, 4, 2, 1), s);
    }

    @Test
    void samePadsLikePyTorchForOddAndEvenKernels() {
        // total = d*(k-1), before = total/2, after = total - before
        assertEquals(new ConvSpec(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), ConvSpec.same(3, 3));
        assertEquals(new ConvSpec(4, 4, 1, 1, 1, 2, 1, 2, 1, 1), ConvSpec.same(4, 4));
        assertEquals(new ConvSpec(2, 1, 1, 1, 0, 1, 0, 0, 1, 1), ConvSpec.same(2, 1));
        assertEquals(new ConvSpec(4, 3, 1, 1, 3, 3, 2, 2, 2, 2), ConvSpec.same(4, 3, 1, 1, 2, 2));
        assertEquals(new ConvSpec(1, 6, 1, 1, 0, 0, 2, 3, 1, 1), ConvSpec.same1d(6, 1, 1));
    }

    @Test
    void sameKeepsTheSizeWithStrideOneAndGivesCeilWithStride() {
        for (int k = 1; k <= 8; k++) {
            for (int d = 1; d <= 3; d++) {
                for (int h = 1; h <= 20; h++) {
                    ConvSpec s = ConvSpec.same(k, k, 1, 1, d, d);
                    assertEquals(h, s.outH(h), s + " height " + h);
                    assertEquals(h, s.outW(h), s + " width " + h);
                    for (int st = 2; st <= 3; st++) {
                        ConvSpec strided = ConvSpec.same(k, k, st, st, d, d);
                        assertEquals((h + st - 1) / st, strided.outH(h), strided + " height " + h);
                    }
                }
            }
        }
    }

    @Test
    void outputSizeFollowsTheFormula() {
        // floor((h + p0 + p1 - d*(k-1) - 1) / s) + 1
        assertEquals(26, ConvSpec.of(3, 3).outH(28));
        assertEquals(11, ConvSpec.of(3, 3).outW(13));
        assertEquals(16, ConvSpec.of(3, 3, 2, 1).outH(32));
        assertEquals(3, new ConvSpec(3, 1, 2, 1, 0, 1, 0, 0, 2, 1).outH(8)); // (8 + 1 - 5) / 2 + 1
        assertEquals(1, ConvSpec.of(5, 5).outW(5));
        assertEquals(2, ConvSpec.of(1, 1, 3, 0).outH(4));
    }

    @Test
    void emptyOutputNamesTheSizes() {
        rejects("input height 2 (padded 2) is smaller than the kernel's extent 3 (kernel 3, dilation 1)",
                () -> ConvSpec.of(3, 3).outH(2));
        rejects("input width 4 (padded 5) is smaller than the kernel's extent 7 (kernel 4, dilation 2)",
                () -> new ConvSpec(1, 4, 1, 1, 0, 0, 1, 0, 1, 2).outW(4));
        rejects("input height 0 must be positive", () -> ConvSpec.of(1, 1).outH(0));
        rejects("input width -3 must be positive", () -> ConvSpec.of(1, 1).outW(-3));
    }

    @Test
    void rejectsInvalidGeometry() {
        rejects("kernel 0×3 must be positive", () -> ConvSpec.of(0, 3));
        rejects("kernel 3×-1 must be positive", () -> ConvSpec.of(3, -1));
        rejects("stride (0, 1) must be positive", () -> ConvSpec.of(3, 3).withStride(0, 1));
        rejects("dilation (1, 0) must be positive", () -> ConvSpec.of(3, 3).withDilation(1, 0));
        rejects("padding (top 0, bottom -1, left 0, right 0) must be non-negative",
                () -> ConvSpec.of(3, 3).withPadding(0, -1, 0, 0));
        rejects("ConvSpec.same: kernel 0×3", () -> ConvSpec.same(0, 3));
    }

    @Test
    void oneDimensionalSpecsAreRecognised() {
        assertTrue(ConvSpec.of1d(5, 2, 1, 3).is1d());
        assertTrue(ConvSpec.same1d(4, 1, 2).is1d());
        assertFalse(ConvSpec.of(3, 3).is1d());
        assertFalse(ConvSpec.of(1, 3).withPadding(1, 0, 0, 0).is1d());
    }
}
