package io.evonas.kernels;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Device memory with a cache of freed blocks, so that the tensors of a training step, freed and asked for again at
 * the next step, cost no {@code cuMemAlloc}/{@code cuMemFree} (both synchronise the device).
 *
 * <p>Sizes are rounded up to size classes ({@link #roundSize}):
 * <ul>
 *   <li>small, up to {@link #SMALL_LIMIT} (1 MiB): multiples of {@link #SMALL_GRANULE} (512 bytes), at least one;
 *       a freed block is reused only for its own class;</li>
 *   <li>large, above 1 MiB: multiples of {@link #LARGE_GRANULE} (2 MiB); a freed block is reused for a request of
 *       its class or of a class up to 1/8 smaller, so that tensors whose sizes drift a little (a layer that gained
 *       a few neurons) still find a block, while at most 1/8 of a large block is wasted.</li>
 * </ul>
 * Blocks are never split or merged. When the raw memory is out of memory the allocator frees every cached block
 * ({@link #emptyCache}) and tries once more; only then does {@link CudaOutOfMemoryException} reach the caller.
 *
 * <p>Work on the device is ordered on one stream, so a block freed while a kernel still reads it may be handed out
 * again at once: the next user's work runs after that kernel. Thread-safe: every method locks the allocator.
 */
public final class CachingAllocator {
    /** Largest size of the small classes, in bytes. */
    public static final long SMALL_LIMIT = 1L << 20;
    /** Step of the small classes, in bytes. */
    public static final long SMALL_GRANULE = 512;
    /** Step of the large classes, in bytes. */
    public static final long LARGE_GRANULE = 2L << 20;

    private final RawMemory raw;
    /** Cached blocks: size -> addresses. */
    private final TreeMap<Long, ArrayDeque<Long>> cached = new TreeMap<>();
    /** Blocks handed out: address -> size. */
    private final Map<Long, Long> inUse = new HashMap<>();
    private long bytesInUse;
    private long bytesCached;
    private long peakBytesInUse;
    private long rawAllocations;
    private long cacheHits;
    private long cacheFlushes;

    /** An allocator over {@code raw}, with an empty cache. */
    public CachingAllocator(RawMemory raw) {
        this.raw = Objects.requireNonNull(raw, "raw");
    }

    /** A block of device memory: its address and its size in bytes (the size class, not the size asked for). */
    public record Block(long address, long bytes) {
    }

    /**
     * What the allocator holds, in bytes of size classes.
     *
     * @param bytesInUse blocks handed out and not freed
     * @param bytesCached freed blocks kept for reuse
     * @param peakBytesInUse the most {@code bytesInUse} has been
     * @param rawAllocations calls to {@link RawMemory#allocate} that succeeded
     * @param cacheHits allocations served from the cache
     * @param cacheFlushes times the cache was emptied to retry an allocation that ran out of memory
     */
    public record Stats(long bytesInUse, long bytesCached, long peakBytesInUse, long rawAllocations, long cacheHits,
            long cacheFlushes) {
    }

    /** The size class of a request of {@code bytes} bytes; see the class comment. */
    public static long roundSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("CachingAllocator: negative size " + bytes);
        }
        if (bytes <= SMALL_LIMIT) {
            return Math.max(SMALL_GRANULE, roundUp(bytes, SMALL_GRANULE));
        }
        return roundUp(bytes, LARGE_GRANULE);
    }

    private static long roundUp(long bytes, long step) {
        return Math.ceilDiv(bytes, step) * step;
    }

    /**
     * A block of at least {@code bytes} bytes, from the cache when one fits, else from the raw memory.
     *
     * @throws CudaOutOfMemoryException when the raw memory has no room even after the cache was emptied
     */
    public synchronized Block allocate(long bytes) {
        long size = roundSize(bytes);
        Block block = fromCache(size);
        if (block != null) {
            cacheHits++;
        } else {
            block = new Block(rawAllocate(bytes, size), size);
            rawAllocations++;
        }
        inUse.put(block.address(), block.bytes());
        bytesInUse += block.bytes();
        peakBytesInUse = Math.max(peakBytesInUse, bytesInUse);
        return block;
    }

    /** How many times {@link #allocate(long, Runnable)} reclaims and retries before giving up. */
    public static final int RECLAIM_ATTEMPTS = 3;

    /**
     * As {@link #allocate(long)}, but when the memory is full even after emptying the cache, runs {@code reclaim}
     * and tries again, up to {@link #RECLAIM_ATTEMPTS} times. The device passes a garbage collection there: the
     * blocks of tensors that are no longer reachable come back only when their {@code Cleaner}s run, and a large
     * Java heap may not have collected them when the device fills. Not synchronized itself, so the blocks that
     * {@code reclaim} brings back can reach {@link #free} from other threads meanwhile.
     *
     * @throws CudaOutOfMemoryException when the memory is still full after the last attempt
     */
    public Block allocate(long bytes, Runnable reclaim) {
        Objects.requireNonNull(reclaim, "reclaim");
        for (int attempt = 0; ; attempt++) {
            try {
                return allocate(bytes);
            } catch (CudaOutOfMemoryException e) {
                if (attempt == RECLAIM_ATTEMPTS) {
                    throw e;
                }
                reclaim.run();
            }
        }
    }

    private Block fromCache(long size) {
        Long blockSize = size <= SMALL_LIMIT ? (cached.containsKey(size) ? size : null) : cached.ceilingKey(size);
        if (blockSize == null || blockSize - blockSize / 8 > size) {
            return null;
        }
        ArrayDeque<Long> addresses = cached.get(blockSize);
        long address = addresses.pop();
        if (addresses.isEmpty()) {
            cached.remove(blockSize);
        }
        bytesCached -= blockSize;
        return new Block(address, blockSize);
    }

    private long rawAllocate(long asked, long size) {
        try {
            return raw.allocate(size);
        } catch (CudaOutOfMemoryException first) {
            if (bytesCached == 0) {
                throw outOfMemory(asked, size, first);
            }
            emptyCache();
            cacheFlushes++;
            try {
                return raw.allocate(size);
            } catch (CudaOutOfMemoryException second) {
                second.addSuppressed(first);
                throw outOfMemory(asked, size, second);
            }
        }
    }

    private CudaOutOfMemoryException outOfMemory(long asked, long size, CudaOutOfMemoryException cause) {
        return new CudaOutOfMemoryException("out of device memory allocating " + asked + " bytes (size class " + size
                + "): " + bytesInUse + " bytes in use by live tensors, cache emptied (" + cause.getMessage() + ")",
                cause);
    }

    /**
     * Returns a block to the cache; the raw memory is not freed until {@link #emptyCache}.
     *
     * @throws IllegalArgumentException when the block is not in use (freed twice, or from another allocator)
     */
    public synchronized void free(Block block) {
        Objects.requireNonNull(block, "block");
        Long size = inUse.get(block.address());
        if (size == null || size != block.bytes()) {
            throw new IllegalArgumentException("CachingAllocator.free: block at 0x" + Long.toHexString(block.address())
                    + " of " + block.bytes() + " bytes is not in use (freed twice, or not from this allocator)");
        }
        inUse.remove(block.address());
        bytesInUse -= size;
        cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(block.address());
        bytesCached += size;
    }

    /** Frees every cached block back to the raw memory; blocks in use stay valid. */
    public synchronized void emptyCache() {
        RuntimeException failure = null;
        for (var entry : cached.entrySet()) {
            for (long address : entry.getValue()) {
                try {
                    raw.free(address);
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
        }
        cached.clear();
        bytesCached = 0;
        if (failure != null) {
            throw failure;
        }
    }

    /** A snapshot of the counters. */
    public synchronized Stats stats() {
        return new Stats(bytesInUse, bytesCached, peakBytesInUse, rawAllocations, cacheHits, cacheFlushes);
    }

    /** Sets {@link Stats#peakBytesInUse} to what is in use now, to measure the peak of the next piece of work. */
    public synchronized void resetPeak() {
        peakBytesInUse = bytesInUse;
    }
}
