package io.evonas.kernels;

/**
 * A CUDA grid or block size, {@code x * y * z} blocks or threads.
 *
 * <pre>{@code
 * Dim3 block = Dim3.of(256);
 * Dim3 grid = Dim3.blocksFor(n, 256);   // ceil(n / 256) blocks
 * }</pre>
 */
public record Dim3(int x, int y, int z) {
    /** Each extent at least 1. */
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) {
            throw new IllegalArgumentException("Dim3: extents must be at least 1, got (" + x + ", " + y + ", " + z
                    + ")");
        }
    }

    /** {@code (x, 1, 1)}. */
    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    /** {@code (x, y, 1)}. */
    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }

    /** {@code (x, y, z)}. */
    public static Dim3 of(int x, int y, int z) {
        return new Dim3(x, y, z);
    }

    /**
     * A one-dimensional grid of {@code ceil(n / threadsPerBlock)} blocks (at least one), capped at the CUDA limit of
     * {@code 2^31 - 1}; kernels loop with a grid stride, so a capped grid still covers {@code n}.
     */
    public static Dim3 blocksFor(long n, int threadsPerBlock) {
        if (n < 0 || threadsPerBlock < 1) {
            throw new IllegalArgumentException("Dim3.blocksFor: n = " + n + ", threadsPerBlock = " + threadsPerBlock);
        }
        long blocks = Math.max(1, (n + threadsPerBlock - 1) / threadsPerBlock);
        return of((int) Math.min(blocks, Integer.MAX_VALUE));
    }

    /** {@code x * y * z}. */
    public long count() {
        return (long) x * y * z;
    }
}
