package io.evonas.kernels;

/**
 * Raw device memory under a {@link CachingAllocator}: on a GPU, {@code cuMemAlloc} and {@code cuMemFree}; in tests, a
 * fake. Addresses are plain {@code long}s so that the allocator needs no driver.
 */
public interface RawMemory {
    /**
     * Allocates {@code bytes} bytes and returns the address of the block.
     *
     * @throws CudaOutOfMemoryException when the device has too little free memory; the allocator then empties its
     *     cache and tries once more
     */
    long allocate(long bytes);

    /** Frees a block that {@link #allocate} returned. */
    void free(long address);
}
