package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The caching allocator over a fake raw memory: size classes, reuse, statistics, out-of-memory retry, threads. */
class CachingAllocatorTest {
    private static final long MIB = 1L << 20;

    @Test
    void roundsSmallSizesTo512BytesAndLargeSizesTo2MiB() {
        assertEquals(512, CachingAllocator.roundSize(0));
        assertEquals(512, CachingAllocator.roundSize(1));
        assertEquals(512, CachingAllocator.roundSize(512));
        assertEquals(1024, CachingAllocator.roundSize(513));
        assertEquals(MIB, CachingAllocator.roundSize(MIB));
        assertEquals(2 * MIB, CachingAllocator.roundSize(MIB + 1));
        assertEquals(4 * MIB, CachingAllocator.roundSize(2 * MIB + 1));
        assertEquals(1024 * MIB, CachingAllocator.roundSize(1024 * MIB));
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.roundSize(-1));
    }

    @Test
    void reusesAFreedBlockOfTheSameClassWithoutTouchingRawMemory() {
        FakeRawMemory raw = new FakeRawMemory(64 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        CachingAllocator.Block b1 = a.allocate(1000);
        assertEquals(1024, b1.bytes());
        a.free(b1);
        CachingAllocator.Block b2 = a.allocate(900);
        assertEquals(b1.address(), b2.address(), "same size class: the cached block comes back");
        assertEquals(1, raw.allocations);
        CachingAllocator.Block b3 = a.allocate(2000);
        assertNotEquals(b1.address(), b3.address(), "another class: a new block");
        assertEquals(2, raw.allocations);
        assertEquals(new CachingAllocator.Stats(1024 + 2048, 0, 1024 + 2048, 2, 1, 0), a.stats());
    }

    @Test
    void smallBlocksAreNotReusedForOtherClasses() {
        FakeRawMemory raw = new FakeRawMemory(64 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        a.free(a.allocate(4096));
        a.allocate(1024);
        assertEquals(2, raw.allocations, "a cached 4 KiB block does not serve 1 KiB");
    }

    @Test
    void largeBlocksServeRequestsUpToAnEighthSmaller() {
        FakeRawMemory raw = new FakeRawMemory(1024 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        CachingAllocator.Block big = a.allocate(64 * MIB);
        a.free(big);
        CachingAllocator.Block near = a.allocate(57 * MIB);
        assertEquals(big, near, "the 58 MiB class fits the 64 MiB block (at most 1/8 wasted): reused whole");
        a.free(near);
        CachingAllocator.Block far = a.allocate(40 * MIB);
        assertNotEquals(big.address(), far.address(), "40 MiB would waste more than 1/8 of the 64 MiB block");
        CachingAllocator.Block bigger = a.allocate(65 * MIB);
        assertNotEquals(big.address(), bigger.address(), "a block is never handed out for more than its size");
        assertEquals(66 * MIB, bigger.bytes());
    }

    @Test
    void tracksBytesInUseCachedAndPeak() {
        CachingAllocator a = new CachingAllocator(new FakeRawMemory(64 * MIB));
        CachingAllocator.Block x = a.allocate(10_000);
        CachingAllocator.Block y = a.allocate(3 * MIB);
        long xb = CachingAllocator.roundSize(10_000);
        assertEquals(xb + 4 * MIB, a.stats().bytesInUse());
        a.free(y);
        assertEquals(xb, a.stats().bytesInUse());
        assertEquals(4 * MIB, a.stats().bytesCached());
        assertEquals(xb + 4 * MIB, a.stats().peakBytesInUse());
        a.resetPeak();
        assertEquals(xb, a.stats().peakBytesInUse());
        a.free(x);
        assertEquals(0, a.stats().bytesInUse());
        assertEquals(xb + 4 * MIB, a.stats().bytesCached());
    }

    @Test
    void emptyCacheFreesCachedBlocksOnlyAndTheyAreNotReused() {
        FakeRawMemory raw = new FakeRawMemory(64 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        CachingAllocator.Block kept = a.allocate(MIB);
        a.free(a.allocate(8 * MIB));
        a.free(a.allocate(512));
        a.emptyCache();
        assertEquals(2, raw.frees);
        assertEquals(MIB, raw.used(), "the block in use stays allocated");
        assertEquals(0, a.stats().bytesCached());
        a.allocate(8 * MIB);
        assertEquals(4, raw.allocations, "nothing cached any more");
        a.free(kept);
    }

    @Test
    void outOfMemoryEmptiesTheCacheAndRetries() {
        FakeRawMemory raw = new FakeRawMemory(10 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        a.free(a.allocate(4 * MIB));
        a.free(a.allocate(2 * MIB));
        assertEquals(6 * MIB, raw.used());
        CachingAllocator.Block b = a.allocate(8 * MIB);
        assertEquals(8 * MIB, b.bytes());
        assertEquals(8 * MIB, raw.used(), "both cached blocks were freed to make room");
        assertEquals(1, a.stats().cacheFlushes());
        assertEquals(0, a.stats().bytesCached());
    }

    @Test
    void outOfMemoryAfterTheRetrySaysWhatIsInUse() {
        FakeRawMemory raw = new FakeRawMemory(10 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        a.allocate(6 * MIB);
        a.free(a.allocate(2 * MIB));
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(6 * MIB));
        assertTrue(e.getMessage().contains("6291456 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("in use"), e.getMessage());
        assertEquals(6 * MIB, raw.used(), "the cache was emptied before giving up");
        assertEquals(6 * MIB, a.stats().bytesInUse(), "a failed allocation changes nothing in use");
        assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(20 * MIB), "nothing cached: fails at once");
    }

    @Test
    void freeingABlockTwiceOrAForeignBlockThrows() {
        CachingAllocator a = new CachingAllocator(new FakeRawMemory(MIB));
        CachingAllocator.Block b = a.allocate(100);
        a.free(b);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.free(b));
        assertTrue(e.getMessage().contains("not in use"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.free(new CachingAllocator.Block(42, 512)));
    }

    @Test
    void threadsAllocatingAndFreeingNeverShareABlockAndBalanceTheBooks() throws InterruptedException {
        FakeRawMemory raw = new FakeRawMemory(1L << 40);
        CachingAllocator a = new CachingAllocator(raw);
        Set<Long> live = ConcurrentHashMap.newKeySet();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            SplittableRandom random = new SplittableRandom(17 + t);
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    List<CachingAllocator.Block> mine = new ArrayList<>();
                    for (int i = 0; i < 5_000; i++) {
                        if (mine.isEmpty() || random.nextInt(3) > 0) {
                            long bytes = random.nextInt(4) == 0 ? random.nextLong(3 * MIB) : random.nextLong(8192);
                            CachingAllocator.Block b = a.allocate(bytes);
                            if (!live.add(b.address())) {
                                failures.add(new AssertionError("block handed out twice: " + b));
                            }
                            mine.add(b);
                        } else {
                            CachingAllocator.Block b = mine.remove(random.nextInt(mine.size()));
                            live.remove(b.address());
                            a.free(b);
                        }
                    }
                    for (CachingAllocator.Block b : mine) {
                        live.remove(b.address());
                        a.free(b);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertEquals(List.of(), failures);
        CachingAllocator.Stats s = a.stats();
        assertEquals(0, s.bytesInUse());
        assertEquals(raw.used(), s.bytesCached(), "every raw block is cached once all are freed");
        assertTrue(s.cacheHits() > 0, "some reuse happened: " + s);
        a.emptyCache();
        assertEquals(0, raw.liveBlocks());
        assertEquals(new HashSet<>(), new HashSet<>(live));
    }

    @Test
    void reclaimsUnreachableBlocksBeforeGivingUp() {
        FakeRawMemory raw = new FakeRawMemory(8 * MIB);
        CachingAllocator a = new CachingAllocator(raw);
        java.util.List<CachingAllocator.Block> garbage = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            garbage.add(a.allocate(2 * MIB));
        }
        // The device is full of blocks nobody uses any more; reclaiming (a GC in real life) returns them.
        int[] calls = {0};
        CachingAllocator.Block b = a.allocate(2 * MIB, () -> {
            calls[0]++;
            garbage.forEach(a::free);
            garbage.clear();
        });
        org.junit.jupiter.api.Assertions.assertNotNull(b);
        assertEquals(1, calls[0], "one reclaim was enough");

        // When reclaiming finds nothing, it is tried RECLAIM_ATTEMPTS times and then the error comes through.
        for (int i = 0; i < 3; i++) {
            a.allocate(2 * MIB);
        }
        int[] tries = {0};
        assertThrows(CudaOutOfMemoryException.class, () -> a.allocate(2 * MIB, () -> tries[0]++));
        assertEquals(CachingAllocator.RECLAIM_ATTEMPTS, tries[0]);
    }
}
