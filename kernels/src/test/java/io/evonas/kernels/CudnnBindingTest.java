package io.evonas.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.kernels.CudaBackend.ConvGeometry;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Conv2d;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.CpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Cudnn}'s downcalls against {@link FakeCudnn}, which computes what the descriptors it was given describe:
 * forward, data and filter gradients must equal {@link CpuBackend}'s for strides, paddings, dilations and
 * rectangular kernels that differ per axis, so a height passed where a width belongs, or a filter's dimensions in
 * the wrong order, fails. Also the algorithm choice (the first that runs, deterministic for the backward passes),
 * the math type, the workspace sizes, and the errors.
 */
class CudnnBindingTest {
    private static final CpuBackend CPU = CpuBackend.instance();
    private final SplittableRandom rng = new SplittableRandom(11);

    /** {N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW}, padded alike on both sides of each axis. */
    private static final int[][] CASES = {
        {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1},
        {1, 2, 9, 8, 3, 3, 2, 2, 1, 1, 0, 1, 2},
        {2, 1, 5, 11, 2, 1, 5, 1, 2, 0, 2, 1, 1},
        {2, 3, 1, 10, 2, 1, 3, 1, 2, 0, 1, 1, 2},
        {3, 2, 6, 4, 1, 2, 3, 3, 2, 2, 1, 2, 1},
    };

    @Test
    void forwardDataAndFilterGradientsEqualTheCpusForEveryGeometry() {
        for (int[] c : CASES) {
            try (Arena arena = Arena.ofConfined()) {
                FakeCudnn fake = new FakeCudnn(arena);
                Cudnn dnn = Cudnn.open(fake.library());
                MemorySegment handle = dnn.create();
                ConvSpec spec = new ConvSpec(c[5], c[6], c[7], c[8], c[9], c[9], c[10], c[10], c[11], c[12]);
                Tensor x = rand(c[0], c[1], c[2], c[3]);
                Tensor w = rand(c[4], c[1], c[5], c[6]);
                Tensor bias = rand(c[4]);
                Tensor y = CPU.conv2d(x, w, bias, spec);
                ConvGeometry g = ConvGeometry.of(x.shape(), y.shape(), c[4], spec);
                String what = Arrays.toString(c);
                assertTrue(Cudnn.supports(g), what);

                Cudnn.Plan plan = dnn.plan(handle, g, false);
                assertEquals(1, plan.forwardAlgorithm(), what);
                assertEquals(1, plan.dataAlgorithm(), what);
                assertEquals(3, plan.filterAlgorithm(), what);
                assertEquals(4096, plan.forwardBytes());
                assertEquals(0, plan.dataBytes());
                assertEquals(256, plan.filterBytes());
                assertEquals(Cudnn.FMA_MATH, fake.mathType(plan.convolution()));
                MemorySegment workspace = arena.allocate(4096);

                MemorySegment dy = device(arena, y.shape(), Float.NaN);
                dnn.forward(handle, plan, device(arena, x).address(), device(arena, w).address(),
                        device(arena, bias).address(), dy.address(), workspace.address());
                assertClose(y, dy, what + " forward");
                MemorySegment noBias = device(arena, y.shape(), Float.NaN);
                dnn.forward(handle, plan, device(arena, x).address(), device(arena, w).address(), 0,
                        noBias.address(), workspace.address());
                assertClose(CPU.conv2d(x, w, null, spec), noBias, what + " forward without bias");

                Tensor grad = rand(y.shape().dims());
                MemorySegment dx = device(arena, x.shape(), Float.NaN);
                dnn.backwardData(handle, plan, device(arena, w).address(), device(arena, grad).address(),
                        dx.address(), 0);
                assertClose(CPU.conv2dBackwardInput(grad, w, spec, x.shape()), dx, what + " backward data");

                Tensor dw = Tensor.zeros(w.shape().dims());
                CPU.conv2dBackwardWeights(x, grad, spec, dw, null, false);
                MemorySegment gw = device(arena, w.shape(), Float.NaN);
                dnn.backwardFilter(handle, plan, device(arena, x).address(), device(arena, grad).address(),
                        gw.address(), false, workspace.address());
                assertClose(dw, gw, what + " backward filter");
                Tensor before = rand(w.shape().dims());
                MemorySegment acc = device(arena, before);
                dnn.backwardFilter(handle, plan, device(arena, x).address(), device(arena, grad).address(),
                        acc.address(), true, workspace.address());
                assertClose(CPU.add(before, dw), acc, what + " backward filter, accumulated");

                assertEquals(5, fake.convolutions, fake.lastError);
                assertEquals(5, fake.liveDescriptors);
                dnn.destroy(plan);
                assertEquals(0, fake.liveDescriptors);
            }
        }
    }

    @Test
    void tf32IsCudnnsDefaultMathAndFp32ItsFmaMath() {
        try (Arena arena = Arena.ofConfined()) {
            FakeCudnn fake = new FakeCudnn(arena);
            Cudnn dnn = Cudnn.open(fake.library());
            ConvGeometry g = geometry(ConvSpec.of(3, 3, 1, 1), 1, 2, 6, 6, 3);
            assertEquals(Cudnn.DEFAULT_MATH, fake.mathType(dnn.plan(dnn.create(), g, true).convolution()));
            assertEquals(Cudnn.FMA_MATH, fake.mathType(dnn.plan(dnn.create(), g, false).convolution()));
        }
    }

    @Test
    void asymmetricPaddingIsLeftToTheKernels() {
        ConvGeometry same2x2 = geometry(ConvSpec.same(2, 2), 1, 1, 6, 6, 1);
        assertFalse(Cudnn.supports(same2x2));
        assertTrue(Cudnn.supports(geometry(ConvSpec.same(3, 3), 1, 1, 6, 6, 1)));
        // extra padding at the bottom that no output reads changes nothing
        assertTrue(Cudnn.supports(geometry(new ConvSpec(3, 3, 2, 2, 1, 2, 1, 1, 1, 1), 1, 1, 7, 7, 1)));
        try (Arena arena = Arena.ofConfined()) {
            Cudnn dnn = Cudnn.open(new FakeCudnn(arena).library());
            var e = assertThrows(IllegalArgumentException.class, () -> dnn.plan(dnn.create(), same2x2, false));
            assertTrue(e.getMessage().contains("asymmetric padding"), e.getMessage());
        }
    }

    @Test
    void noDeterministicAlgorithmIsAnErrorListingWhatWasOffered() {
        try (Arena arena = Arena.ofConfined()) {
            FakeCudnn fake = new FakeCudnn(arena);
            fake.filterOffer = new int[][] {{0, FakeCudnn.SUCCESS, 0}, {2, FakeCudnn.NOT_SUPPORTED, 1}};
            Cudnn dnn = Cudnn.open(fake.library());
            var e = assertThrows(IllegalStateException.class,
                    () -> dnn.plan(dnn.create(), geometry(ConvSpec.of(3, 3), 2, 2, 5, 5, 2), false));
            assertEquals("libcudnn.so.fake: cudnnGetConvolutionBackwardFilterAlgorithm_v7 offered no usable "
                    + "deterministic algorithm (offered: 0 (non-deterministic), 2 (status 3000))", e.getMessage());
        }
    }

    @Test
    void aFailedCallNamesTheLibraryTheFunctionAndTheStatus() {
        try (Arena arena = Arena.ofConfined()) {
            FakeCudnn fake = new FakeCudnn(arena);
            Cudnn dnn = Cudnn.open(fake.library());
            MemorySegment handle = dnn.create();
            ConvGeometry g = geometry(ConvSpec.of(3, 3), 1, 1, 5, 5, 1);
            Cudnn.Plan plan = dnn.plan(handle, g, false);
            MemorySegment m = arena.allocate(1024);
            // the forward algorithm needs 4096 bytes of workspace; none is given
            var e = assertThrows(IllegalStateException.class, () -> dnn.forward(handle, plan, m.address(),
                    m.address(), 0, m.address(), 0));
            assertEquals("libcudnn.so.fake: cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (cuDNN status "
                    + "2000)", e.getMessage());
            assertTrue(fake.lastError.contains("needs a 4096-byte workspace"), fake.lastError);
            assertEquals(91000, dnn.version());
        }
    }

    private static ConvGeometry geometry(ConvSpec spec, int n, int c, int h, int w, int oc) {
        Shape x = Shape.of(n, c, h, w);
        Shape y = Conv2d.outputShape(x, Shape.of(oc, c, spec.kh(), spec.kw()), spec);
        return ConvGeometry.of(x, y, oc, spec);
    }

    private Tensor rand(int... dims) {
        return Tensor.uniform(rng, -1, 1, dims);
    }

    /** Host memory standing for device memory, holding {@code t}'s elements. */
    private static MemorySegment device(Arena arena, Tensor t) {
        return arena.allocateFrom(JAVA_FLOAT, t.toArray());
    }

    private static MemorySegment device(Arena arena, Shape shape, float fill) {
        float[] v = new float[shape.size()];
        Arrays.fill(v, fill);
        return arena.allocateFrom(JAVA_FLOAT, v);
    }

    private static void assertClose(Tensor expected, MemorySegment got, String what) {
        float[] e = expected.toArray();
        float[] g = got.toArray(JAVA_FLOAT);
        assertEquals(e.length, g.length, what);
        for (int i = 0; i < e.length; i++) {
            assertEquals(e[i], g[i], 1e-5 * Math.max(1, Math.abs(e[i])), what + ": element " + i);
        }
    }
}
