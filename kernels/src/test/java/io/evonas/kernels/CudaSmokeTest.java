package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jcuda.driver.CUfunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The runtime on a real GPU: memory, copies, the caching allocator, a kernel launch, every PTX module. Skips, with
 * the reason from {@link Cuda}, where CUDA cannot work.
 */
class CudaSmokeTest {
    private CudaDevice device;

    /** Each test skips on its own, so that every one reports the reason. */
    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        device = Cuda.devices().getFirst();
    }

    @Test
    void storageStartsZeroedAndCopiesBothWaysWithOffsets() {
        try (CudaStorage s = device.allocate(1000)) {
            float[] all = new float[1000];
            Arrays.fill(all, -1);
            s.copyToHost(0, all, 0, 1000);
            assertArrayEquals(new float[1000], all, "a fresh storage is zeroed");
            float[] src = {9, 1, 2, 3, 9};
            s.copyFromHost(src, 1, 500, 3);
            float[] dst = new float[7];
            s.copyToHost(499, dst, 1, 5);
            assertArrayEquals(new float[] {0, 0, 1, 2, 3, 0, 0}, dst);
            assertThrows(IndexOutOfBoundsException.class, () -> s.copyToHost(998, dst, 0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> s.copyFromHost(src, 3, 0, 3));
        }
    }

    @Test
    void fillKernelWritesEveryElementAndOnlyThose() {
        int n = 1_000_003;
        CUfunction fill = device.modules().function("selftest", "evonas_fill");
        try (CudaStorage s = device.allocate(n)) {
            device.modules().launch(fill, Dim3.blocksFor(n, 256), Dim3.of(256), 0, s, 1.5f, n);
            device.modules().launch(fill, Dim3.of(1), Dim3.of(32), 0, s.pointer().withByteOffset(4L * 10), 7f, 5);
            float[] back = new float[n];
            s.copyToHost(0, back, 0, n);
            for (int i = 0; i < n; i++) {
                float expected = i >= 10 && i < 15 ? 7f : 1.5f;
                if (back[i] != expected) {
                    throw new AssertionError("element " + i + " is " + back[i] + ", expected " + expected);
                }
            }
        }
    }

    @Test
    void tensorsMoveToTheGpuAndBack() {
        Tensor x = Tensor.of(new float[] {1, -2, 3.5f, 4, 5, 6}, 2, 3);
        Tensor onGpu = x.to(Devices.get(device.name()));
        assertEquals(device, onGpu.device());
        assertThrows(IllegalStateException.class, onGpu::data, "GPU data is not readable as a host array");
        assertArrayEquals(x.toArray(), onGpu.toArray());
        assertArrayEquals(x.toArray(), onGpu.to(Devices.cpu()).toArray());
        assertArrayEquals(new float[] {4, 5, 6}, onGpu.slice(1, 2).toArray());
    }

    @Test
    void closedBlocksAreReusedAndClosedStorageRejectsUse() {
        CachingAllocator.Stats before = device.allocator().stats();
        CudaStorage a = device.allocate(12_345);
        long address = a.address();
        a.close();
        a.close();
        assertTrue(a.isClosed());
        assertThrows(IllegalStateException.class, () -> a.copyToHost(0, new float[1], 0, 1));
        try (CudaStorage b = device.allocate(12_300)) {
            assertEquals(address, b.address(), "same size class: the cached block");
            float[] zero = new float[12_300];
            b.copyToHost(0, zero, 0, zero.length);
            assertArrayEquals(new float[12_300], zero, "a reused block is zeroed again");
        }
        CachingAllocator.Stats after = device.allocator().stats();
        assertEquals(before.bytesInUse(), after.bytesInUse());
        assertTrue(after.cacheHits() > before.cacheHits());
    }

    @Test
    void unreachableStorageReturnsToTheCache() throws InterruptedException {
        long inUse = device.allocator().stats().bytesInUse();
        device.allocate(1 << 20);
        assertEquals(inUse + 4L * (1 << 20), device.allocator().stats().bytesInUse());
        for (int i = 0; i < 200 && device.allocator().stats().bytesInUse() > inUse; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertEquals(inUse, device.allocator().stats().bytesInUse(), "the cleaner gave the block back");
    }

    @Test
    void allocatingMoreThanTheGpuHasThrowsOutOfMemory() {
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> device.allocator().allocate(2 * device.totalMemory()));
        assertTrue(e.getMessage().contains("out of device memory"), e.getMessage());
    }

    @Test
    void otherThreadsUseTheDeviceToo() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                float value = t;
                results.add(pool.submit(() -> {
                    try (CudaStorage s = device.allocate(4096)) {
                        device.modules().launch(device.modules().function("selftest", "evonas_fill"),
                                Dim3.blocksFor(4096, 128), Dim3.of(128), 0, s, value, 4096);
                        float[] back = new float[4096];
                        s.copyToHost(0, back, 0, back.length);
                        return back;
                    }
                }));
            }
            for (int t = 0; t < results.size(); t++) {
                float[] expected = new float[4096];
                Arrays.fill(expected, t);
                assertArrayEquals(expected, results.get(t).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void everyPtxModuleInTheJarLoads() {
        List<String> modules = CudaModules.available();
        assertTrue(modules.contains("selftest"), "modules: " + modules);
        for (String m : modules) {
            device.modules().module(m);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> device.modules().function("selftest", "no_such_kernel"));
        assertTrue(e.getMessage().contains("CUDA_ERROR_NOT_FOUND"), e.getMessage());
    }
}
