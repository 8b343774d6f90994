package io.evonas.kernels;

/**
 * The launch arithmetic of {@link CudaBackend}, as the kernels' header comments ask for it: grid sizes, block
 * sizes, the split-K factor of the convolution weight gradient and the chunk count of batch norm's statistics.
 * Pure functions, so that they are tested without a GPU.
 */
final class LaunchShapes {
    /** Threads per block of the grid-stride kernels. */
    static final int THREADS = 256;
    /** The most blocks a grid-stride launch uses (the headers' {@code 65535 * 8}). */
    static final int MAX_STRIDE_BLOCKS = 65535 * 8;
    /** Output tile edge of the convolution GEMMs. */
    static final int CONV_TILE = 64;
    /** Output tile edge of the SGEMM kernels. */
    static final int GEMM_TILE = 128;
    /** Rows of the loss kernels per block of 256 threads (one warp per row). */
    static final int LOSS_ROWS_PER_BLOCK = 8;
    /** The most split-K partial sums of the weight gradient. */
    static final int MAX_SPLITS = 64;

    private LaunchShapes() {
    }

    /** A grid-stride grid over {@code n} elements: {@code min(ceil(n / 256), 65535 * 8)} blocks, at least one. */
    static Dim3 strideGrid(long n) {
        long blocks = Math.max(1, (n + THREADS - 1) / THREADS);
        return Dim3.of((int) Math.min(blocks, MAX_STRIDE_BLOCKS));
    }

    /** {@code ceil(a / b)} for {@code a >= 0, b >= 1}. */
    static int ceilDiv(long a, int b) {
        return (int) ((a + b - 1) / b);
    }

    /**
     * Block size of a {@code *_rows} reduction over rows of {@code n}: a power of two in [32, 256], 32 for short rows
     * and 256 from 512 on; fixed per {@code n}, so the summation tree and the bits are too.
     */
    static int rowBlock(long n) {
        if (n >= 512) {
            return 256;
        }
        if (n >= 128) {
            return 128;
        }
        return n >= 64 ? 64 : 32;
    }

    /** One block per row, at most {@code 65535 * 8} (the kernels loop over rows with a grid stride). */
    static Dim3 rowGrid(long rows) {
        return Dim3.of((int) Math.max(1, Math.min(rows, MAX_STRIDE_BLOCKS)));
    }

    /**
     * The split-K factor of {@code evonas_conv_backward_weight}: enough blocks to fill {@code sms} multiprocessors
     * twice when the weight's {@code oc x ckk} tiles are few, each split keeping at least 16 positions of the
     * {@code positions = N * OH * OW} sum; at most {@value #MAX_SPLITS}.
     */
    static int convSplits(int oc, int ckk, long positions, int sms) {
        long tiles = (long) ceilDiv(ckk, CONV_TILE) * ceilDiv(oc, CONV_TILE);
        long wanted = Math.max(1, (2L * sms + tiles - 1) / tiles);
        long byWork = Math.max(1, positions / 16);
        return (int) Math.max(1, Math.min(MAX_SPLITS, Math.min(wanted, byWork)));
    }

    /**
     * Chunks per channel of batch norm's partial sums: {@code max(1, 2 * sms / c)} as the header suggests, but no
     * more than one chunk per 256 of the channel's {@code m} values.
     */
    static int batchNormChunks(int c, long m, int sms) {
        int wanted = Math.max(1, 2 * sms / Math.max(1, c));
        int byWork = (int) Math.max(1, Math.min(Integer.MAX_VALUE, m / THREADS));
        return Math.min(wanted, byWork);
    }
}
