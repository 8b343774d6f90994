package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Device;
import io.evonas.tensor.DeviceProvider;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * What {@link Devices} says about CUDA on this machine: without a GPU, that it is unavailable and why (without
 * libcuda.so.1, naming it); with one, that {@code cuda} is a working device.
 */
class CudaAvailabilityTest {
    @Test
    void theProviderIsRegisteredForTheCudaFamily() {
        List<DeviceProvider> cuda = new ArrayList<>();
        ServiceLoader.load(DeviceProvider.class).forEach(p -> {
            if (p.family().equals("cuda")) {
                cuda.add(p);
            }
        });
        assertEquals(1, cuda.size());
        assertTrue(cuda.getFirst() instanceof CudaDeviceProvider);
    }

    @Test
    void devicesSayWhyCudaIsUnavailableOrGiveAWorkingDevice() {
        Cuda.Status status = Cuda.status();
        if (status.available()) {
            Device d = Devices.get("cuda");
            assertEquals("cuda:" + status.devices().getFirst().ordinal(), d.name());
            assertTrue(Devices.available().contains(d));
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor back = x.to(d).to(Devices.cpu());
            assertArrayEquals(x.toArray(), back.toArray());
            return;
        }
        String reason = status.unavailableReason();
        assertFalse(reason.isBlank());
        assertEquals(List.of(), status.devices());
        assertEquals(List.of(Devices.cpu()), Devices.available());
        CudaDeviceProvider provider = new CudaDeviceProvider();
        assertEquals(List.of(), provider.devices());
        assertEquals(reason, provider.unavailableReason());
        for (String name : List.of("cuda", "cuda:0")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Devices.get(name));
            assertEquals("device " + name + " is not available: " + reason, e.getMessage());
        }
        if (!libcudaInstalled()) {
            assertTrue(reason.contains("libcuda.so.1"), reason);
            assertEquals(0, status.driverVersion());
        }
    }

    @Test
    void initialisationHappensOnceWhicheverThreadsAsk() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Cuda.Status>> asks = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                asks.add(Cuda::status);
            }
            Cuda.Status first = Cuda.status();
            for (Future<Cuda.Status> f : pool.invokeAll(asks)) {
                assertSame(first, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Whether libcuda.so.1 is in a usual library directory or on LD_LIBRARY_PATH. */
    static boolean libcudaInstalled() {
        List<String> dirs = new ArrayList<>(List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib",
                "/lib/x86_64-linux-gnu", "/usr/lib/wsl/lib", "/usr/local/nvidia/lib64"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(":")));
        }
        return dirs.stream().filter(d -> !d.isEmpty()).anyMatch(d -> Files.exists(Path.of(d, "libcuda.so.1")));
    }
}
