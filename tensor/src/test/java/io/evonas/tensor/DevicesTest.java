package io.evonas.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DevicesTest {
    @Test
    void cpuIsAlwaysFirst() {
        assertSame(Devices.cpu(), Devices.available().getFirst());
        assertSame(Devices.cpu(), Devices.get("cpu"));
        assertTrue(Devices.cpu().isCpu());
    }

    @Test
    void unknownDevicesExplainWhy() {
        // The tensor module alone has no provider for CUDA: the message must say so rather than fail obscurely.
        var e = assertThrows(IllegalArgumentException.class, () -> Devices.get("cuda:0"));
        assertTrue(e.getMessage().contains("cuda:0") && e.getMessage().contains("not available"), e.getMessage());
    }

    @Test
    void movingToTheSameDeviceReturnsTheTensorItself() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
        assertSame(x, x.to(Devices.cpu()));
        assertEquals(Devices.cpu(), x.device());
    }
}
