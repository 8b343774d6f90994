package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The launch arithmetic of the CUDA backend, which needs no GPU. */
class LaunchShapesTest {
    @Test
    void strideGridsCoverSmallSizesAndCapLargeOnes() {
        assertEquals(Dim3.of(1), LaunchShapes.strideGrid(0));
        assertEquals(Dim3.of(1), LaunchShapes.strideGrid(256));
        assertEquals(Dim3.of(2), LaunchShapes.strideGrid(257));
        assertEquals(Dim3.of(65535 * 8), LaunchShapes.strideGrid(1L << 40));
        assertEquals(3, LaunchShapes.ceilDiv(129, 64));
        assertEquals(0, LaunchShapes.ceilDiv(0, 64));
    }

    @Test
    void rowBlocksArePowersOfTwoGrowingWithTheRow() {
        int previous = 0;
        for (long n : new long[] {0, 1, 31, 64, 100, 128, 511, 512, 1 << 20}) {
            int b = LaunchShapes.rowBlock(n);
            assertTrue(b >= 32 && b <= 1024 && Integer.bitCount(b) == 1, "block " + b + " for " + n);
            assertTrue(b >= previous);
            previous = b;
        }
        assertEquals(256, LaunchShapes.rowBlock(4096));
        assertEquals(Dim3.of(1), LaunchShapes.rowGrid(0));
        assertEquals(Dim3.of(10), LaunchShapes.rowGrid(10));
    }

    @Test
    void weightGradientsSplitOnlyWhenTheWeightIsSmallAndTheSumLong() {
        // 16 x 27 weight (one tile), 128 * 32 * 32 positions: split to fill 132 SMs twice, capped
        assertEquals(LaunchShapes.MAX_SPLITS, LaunchShapes.convSplits(16, 27, 128L * 32 * 32, 132));
        // 512 x 4608 weight: 8 x 72 tiles already fill the GPU
        assertEquals(1, LaunchShapes.convSplits(512, 4608, 128L * 8 * 8, 132));
        // few positions: at least 16 per split
        assertEquals(2, LaunchShapes.convSplits(4, 18, 36, 132));
        assertEquals(1, LaunchShapes.convSplits(4, 18, 0, 132));
    }

    @Test
    void batchNormChunksFillTheGpuWithoutTinyChunks() {
        assertEquals(264 / 16, LaunchShapes.batchNormChunks(16, 128L * 32 * 32, 132));
        assertEquals(1, LaunchShapes.batchNormChunks(512, 1 << 20, 132));
        assertEquals(1, LaunchShapes.batchNormChunks(4, 2, 132));
        assertEquals(4, LaunchShapes.batchNormChunks(4, 1024, 132));
    }
}
