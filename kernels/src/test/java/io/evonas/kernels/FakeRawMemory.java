package io.evonas.kernels;

import java.util.HashMap;
import java.util.Map;

/** Raw memory with a byte budget, handing out made-up addresses, for allocator tests without a GPU. */
final class FakeRawMemory implements RawMemory {
    private final long capacity;
    private final Map<Long, Long> live = new HashMap<>();
    private long nextAddress = 0x7f00_0000_0000L;
    private long used;
    int allocations;
    int frees;

    FakeRawMemory(long capacity) {
        this.capacity = capacity;
    }

    @Override
    public synchronized long allocate(long bytes) {
        if (used + bytes > capacity) {
            throw new CudaOutOfMemoryException("fake: " + bytes + " bytes asked, " + (capacity - used) + " free");
        }
        long address = nextAddress;
        nextAddress += bytes + 4096;
        live.put(address, bytes);
        used += bytes;
        allocations++;
        return address;
    }

    @Override
    public synchronized void free(long address) {
        Long bytes = live.remove(address);
        if (bytes == null) {
            throw new IllegalArgumentException("fake: free of unknown address " + address);
        }
        used -= bytes;
        frees++;
    }

    synchronized long used() {
        return used;
    }

    synchronized int liveBlocks() {
        return live.size();
    }
}
