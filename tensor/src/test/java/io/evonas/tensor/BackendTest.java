package io.evonas.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.cpu.CpuBackend;
import io.evonas.tensor.cpu.Elementwise;
import io.evonas.tensor.cpu.PoolSpec;
import io.evonas.tensor.testing.Loopback;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Dispatch to the backend of the inputs' device, and the loopback test device every other module's tests reuse. */
class BackendTest {
    private final SplittableRandom rng = new SplittableRandom(7);

    @Test
    void theCpuDeviceHasTheCpuBackend() {
        Tensor x = Tensor.zeros(2, 3);
        assertSame(CpuBackend.instance(), Backend.of("add", x, x));
        assertSame(Devices.cpu(), Devices.cpu().backend().device());
    }

    @Test
    void opsRunOnTheDeviceOfTheirInputsWithTheCpuBits() {
        Tensor a = Tensor.uniform(rng, -1, 1, 2, 3, 4);
        Tensor b = Tensor.uniform(rng, -1, 1, 3, 1);
        Tensor la = a.to(Loopback.DEVICE);
        Tensor lb = b.to(Loopback.DEVICE);
        Tensor y = Backend.of("mul", la, lb).mul(la, lb);
        assertSame(Loopback.DEVICE, y.device());
        assertArrayEquals(Elementwise.mul(a, b).toArray(), y.toArray());
        assertThrows(IllegalStateException.class, y::data);
        Backend.MaxPooled p = Backend.of("maxPool2d", la).maxPool2d(la.reshape(1, 2, 3, 4), PoolSpec.of(2));
        assertSame(Loopback.DEVICE, p.output().device());
        assertEquals(2 * 1 * 2, p.argmax().size());
    }

    @Test
    void inputsOnDifferentDevicesAreRefusedNamingTheOpAndBothDevices() {
        Tensor cpu = Tensor.zeros(2, 3);
        Tensor loop = Tensor.zeros(Shape.of(3), Loopback.DEVICE);
        var e = assertThrows(IllegalArgumentException.class, () -> Backend.of("add", cpu, loop));
        assertTrue(e.getMessage().startsWith("add: "), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 3] on cpu") && e.getMessage().contains("[3] on loopback"),
                e.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> Backend.of("conv2d", loop, null, cpu));
        assertTrue(e3.getMessage().contains("conv2d") && e3.getMessage().contains("cpu"), e3.getMessage());
    }

    @Test
    void aDeviceWithoutABackendSaysSo() {
        Device gpu = Loopback.storageOnly("fake:0");
        Tensor x = Tensor.of(new float[] {1, 2}, 2).to(gpu);
        assertArrayEquals(new float[] {1, 2}, x.toArray());
        var e = assertThrows(UnsupportedOperationException.class, () -> Backend.of("add", x, x));
        assertEquals("fake:0: tensor operations are not available on this device yet", e.getMessage());
    }

    @Test
    void scalarsComeBackThroughTheStorage() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(Loopback.DEVICE);
        Tensor s = Backend.of("sumAll", x).sumAll(x);
        assertSame(Loopback.DEVICE, s.device());
        assertEquals(10f, s.item());
    }
}
