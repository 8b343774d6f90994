package io.evonas.kernels;

import static io.evonas.kernels.CudaBackendTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.CpuBackend;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The device's default backend where cuBLAS and cuDNN are present: matrix products through cuBLAS and convolutions
 * through cuDNN (FP32: pedantic and FMA math) agree with the CPU to float rounding, cuDNN's backward passes give
 * the same bits twice, geometries cuDNN cannot take (asymmetric padding) fall back to the kernels, and the plan
 * cache stays bounded. Skips, with the reason, without CUDA, or without the library a test needs.
 */
class CudaLibraryBackendTest {
    private static final CpuBackend CPU = CpuBackend.instance();
    private final SplittableRandom rng = new SplittableRandom(31);
    private CudaDevice device;
    private CudaBackend gpu;

    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        assumeTrue(!CudaLibraries.found().tf32(), "TF32 is allowed (-Devonas.cuda.tf32=true): FP32 checks do not "
                + "apply");
        device = Cuda.devices().getFirst();
        gpu = device.backend();
    }

    private Tensor rand(int... dims) {
        return Tensor.uniform(rng, -1, 1, dims);
    }

    private Tensor on(Tensor t) {
        return t.to(device);
    }

    @Test
    void cublasProductsOfEveryTranspositionAgreeWithTheCpu() {
        CudaLibraries.Found f = CudaLibraries.found();
        assumeTrue(f.cublas() != null, () -> "cuBLAS: " + f.cublasNote());
        int[][] shapes = {{29, 37, 131}, {1, 64, 10}, {128, 288, 77}, {300, 1, 5}};
        for (int[] s : shapes) {
            for (int t = 0; t < 4; t++) {
                boolean ta = t >= 2;
                boolean tb = (t & 1) == 1;
                Tensor a = ta ? rand(s[1], s[0]) : rand(s[0], s[1]);
                Tensor b = tb ? rand(s[2], s[1]) : rand(s[1], s[2]);
                assertClose(CPU.matmul(a, ta, b, tb), gpu.matmul(on(a), ta, on(b), tb), 1e-5,
                        "cuBLAS matmul " + ta + " " + tb + " " + Arrays.toString(s));
            }
        }
        // a view with an offset: the address passed to cuBLAS includes it
        Tensor big = rand(10, 8);
        Tensor b = rand(8, 6);
        assertClose(CPU.matmul(big.slice(3, 7), false, b, false), gpu.matmul(on(big).slice(3, 7), false, on(b),
                false), 1e-5, "cuBLAS matmul of rows 3 to 7, a view at an offset");
    }

    @Test
    void cudnnConvolutionsAndGradientsAgreeWithTheCpuAndRepeatBitForBit() {
        CudaLibraries.Found f = CudaLibraries.found();
        assumeTrue(f.cudnn() != null, () -> "cuDNN: " + f.cudnnNote());
        ConvSpec[] specs = {ConvSpec.same(3, 3), new ConvSpec(3, 2, 2, 1, 1, 1, 0, 0, 1, 2), ConvSpec.of(5, 5, 2, 2),
            ConvSpec.same(2, 2)}; // the last is asymmetric: the kernels compute it
        for (ConvSpec spec : specs) {
            Tensor x = rand(3, 4, 11, 9);
            Tensor w = rand(6, 4, spec.kh(), spec.kw());
            Tensor bias = rand(6);
            Tensor y = CPU.conv2d(x, w, bias, spec);
            assertClose(y, gpu.conv2d(on(x), on(w), on(bias), spec), 1e-5, "cuDNN conv2d " + spec);
            Tensor dy = rand(y.shape().dims());
            Tensor dx = gpu.conv2dBackwardInput(on(dy), on(w), spec, x.shape());
            assertClose(CPU.conv2dBackwardInput(dy, w, spec, x.shape()), dx, 1e-5, "cuDNN backward data " + spec);
            assertArrayEquals(dx.toArray(), gpu.conv2dBackwardInput(on(dy), on(w), spec, x.shape()).toArray(),
                    "backward data twice " + spec);
            for (boolean accumulate : new boolean[] {false, true}) {
                Tensor dw = rand(w.shape().dims());
                Tensor db = rand(6);
                Tensor gdw = on(dw);
                Tensor gdb = on(db);
                Tensor again = on(dw);
                CPU.conv2dBackwardWeights(x, dy, spec, dw, db, accumulate);
                gpu.conv2dBackwardWeights(on(x), on(dy), spec, gdw, gdb, accumulate);
                gpu.conv2dBackwardWeights(on(x), on(dy), spec, again, null, accumulate);
                assertClose(dw, gdw, 1e-5, "cuDNN dw " + spec + " accumulate " + accumulate);
                assertClose(db, gdb, 1e-5, "db " + spec + " accumulate " + accumulate);
                assertArrayEquals(gdw.toArray(), again.toArray(), "backward filter twice " + spec);
            }
        }
        ConvSpec spec = ConvSpec.of1d(3, 2, 1, 2);
        Tensor x = rand(2, 3, 17);
        Tensor w = rand(4, 3, 3);
        Tensor y = CPU.conv1d(x, w, null, spec);
        assertClose(y, gpu.conv1d(on(x), on(w), null, spec), 1e-5, "cuDNN conv1d");
    }

    @Test
    void thePlanCacheKeepsTheLastGeometriesOnly() {
        CudaLibraries.Found f = CudaLibraries.found();
        assumeTrue(f.cudnn() != null, () -> "cuDNN: " + f.cudnnNote());
        Tensor w = on(rand(2, 1, 3, 3));
        for (int size = 3; size < 3 + LibraryHandles.PLANS + 6; size++) {
            Tensor x = rand(1, 1, size, 4);
            Tensor y = gpu.conv2d(on(x), w, null, ConvSpec.same(3, 3));
            assertEquals(size, y.dim(2));
        }
        assertTrue(device.libraries().planCount() <= LibraryHandles.PLANS, "plans " + device.libraries().planCount());
    }
}
