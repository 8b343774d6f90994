package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Launch geometry and kernel arguments, which need no GPU. */
class KernelArgumentsTest {
    @Test
    void gridCoversNWithAGridStrideCap() {
        assertEquals(Dim3.of(4), Dim3.blocksFor(1000, 256));
        assertEquals(Dim3.of(1), Dim3.blocksFor(0, 256));
        assertEquals(Dim3.of(1), Dim3.blocksFor(256, 256));
        assertEquals(Integer.MAX_VALUE, Dim3.blocksFor(Long.MAX_VALUE / 2, 1).x());
        assertEquals(24, Dim3.of(2, 3, 4).count());
        assertThrows(IllegalArgumentException.class, () -> Dim3.of(0));
        assertThrows(IllegalArgumentException.class, () -> Dim3.blocksFor(10, 0));
    }

    @Test
    void supportedArgumentTypesBuildAParameterArray() {
        CudaModules.kernelParams(1, 2.5f, 3L, 4.0, new jcuda.driver.CUdeviceptr());
    }

    @Test
    void unsupportedArgumentsAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CudaModules.kernelParams(1, "two"));
        assertTrue(e.getMessage().contains("argument 1 is a java.lang.String"), e.getMessage());
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
                () -> CudaModules.kernelParams(1, null));
        assertTrue(n.getMessage().contains("argument 1 is null"), n.getMessage());
    }
}
