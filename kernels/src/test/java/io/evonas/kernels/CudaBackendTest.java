package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.CpuBackend;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend} op by op against {@link CpuBackend}: the CPU's bits where the kernel headers promise them
 * (elementwise arithmetic, layout, pooling, dropout, optimiser steps), float rounding (1e-5 of the result's scale)
 * where the summation order differs. This runs evonas's own kernels ({@link CudaDevice#kernelBackend()}), even where
 * cuBLAS and cuDNN are present; {@link CudaLibraryBackendTest} checks the products and convolutions that go to
 * them. Skips, with the reason, where CUDA cannot work.
 */
class CudaBackendTest {
    private static final CpuBackend CPU = CpuBackend.instance();
    private final SplittableRandom rng = new SplittableRandom(23);
    private CudaDevice device;
    private CudaBackend gpu;

    @BeforeEach
    void needsCuda() {
        assumeTrue(Cuda.isAvailable(), () -> "CUDA unavailable: " + Cuda.unavailableReason());
        device = Cuda.devices().getFirst();
        gpu = device.kernelBackend();
    }

    private Tensor rand(int... dims) {
        return Tensor.uniform(rng, -1, 1, dims);
    }

    private Tensor on(Tensor t) {
        return t.to(device);
    }

    private static void assertBits(Tensor cpu, Tensor gpu, String what) {
        assertEquals(cpu.shape(), gpu.shape(), what);
        float[] a = cpu.toArray();
        float[] b = gpu.toArray();
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])
                    && !(Float.isNaN(a[i]) && Float.isNaN(b[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + b[i] + " on the GPU, " + a[i]
                        + " on the CPU");
            }
        }
    }

    /** Agreement to {@code rel} of the larger of the element and the tensor's largest magnitude times 1e-3. */
    static void assertClose(Tensor cpu, Tensor gpu, double rel, String what) {
        assertEquals(cpu.shape(), gpu.shape(), what);
        float[] a = cpu.toArray();
        float[] b = gpu.toArray();
        double scale = 0;
        for (float v : a) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < a.length; i++) {
            double tol = rel * Math.max(Math.abs(a[i]), 1e-3 * scale) + 1e-30;
            if (!(Math.abs(a[i] - b[i]) <= tol) && !(Float.isNaN(a[i]) && Float.isNaN(b[i]))) {
                throw new AssertionError(what + ": element " + i + " is " + b[i] + " on the GPU, " + a[i]
                        + " on the CPU (tolerance " + tol + ")");
            }
        }
    }

    @Test
    void theDeviceDispatchesToThisBackend() {
        Tensor x = on(rand(3));
        assertSame(device.backend(), Backend.of("add", x, x));
        assertTrue(device.backend().usesLibraries());
        assertFalse(gpu.usesLibraries());
        assertSame(device, gpu.add(x, x).device());
    }

    @Test
    void arithmeticWithBroadcastingHasTheCpuBits() {
        Shape[][] cases = {
                {Shape.of(2, 3, 4, 5), Shape.of(2, 3, 4, 5)},
                {Shape.of(2, 3, 4, 5), Shape.of(1, 3, 1, 1)},
                {Shape.of(7, 5), Shape.of(5)},
                {Shape.of(4, 1), Shape.of(1, 6)},
                {Shape.of(3), Shape.of()},
                {Shape.of(2, 3, 2, 3, 2, 3), Shape.of(2, 1, 2, 1, 2, 1)},   // six merged dims: split launches
                {Shape.of(1, 3, 1, 3, 1, 3, 2), Shape.of(2, 1, 2, 1, 2, 1, 1)},
        };
        for (Shape[] c : cases) {
            Tensor a = Tensor.uniform(rng, 0.5f, 1.5f, c[0].dims());
            Tensor b = Tensor.uniform(rng, 0.5f, 1.5f, c[1].dims());
            String what = c[0] + " op " + c[1];
            assertBits(CPU.add(a, b), gpu.add(on(a), on(b)), "add " + what);
            assertBits(CPU.sub(a, b), gpu.sub(on(a), on(b)), "sub " + what);
            assertBits(CPU.mul(a, b), gpu.mul(on(a), on(b)), "mul " + what);
            assertBits(CPU.div(a, b), gpu.div(on(a), on(b)), "div " + what);
            Tensor dy = rand(CPU.add(a, b).shape().dims());
            assertBits(CPU.mulGradA(dy, a, b), gpu.mulGradA(on(dy), on(a), on(b)), "mulGradA " + what);
            assertClose(CPU.mulGradB(dy, a, b), gpu.mulGradB(on(dy), on(a), on(b)), 1e-5, "mulGradB " + what);
            assertClose(CPU.divGradB(dy, a, b), gpu.divGradB(on(dy), on(a), on(b)), 1e-5, "divGradB " + what);
            assertClose(CPU.sumTo(dy, b.shape()), gpu.sumTo(on(dy), b.shape()), 1e-5, "sumTo " + what);
        }
        Tensor x = rand(5, 7);
        assertBits(CPU.addScalar(x, 0.3f), gpu.addScalar(on(x), 0.3f), "addScalar");
        assertBits(CPU.mulScalar(x, -1.7f), gpu.mulScalar(on(x), -1.7f), "mulScalar");
        assertBits(CPU.neg(x), gpu.neg(on(x)), "neg");
        Tensor acc = rand(5, 7);
        Tensor gacc = on(acc);
        CPU.addScaledInPlace(acc, 0.37f, x);
        gpu.addScaledInPlace(gacc, 0.37f, on(x));
        assertBits(acc, gacc, "addScaledInPlace");
    }

    @Test
    void viewsWithAnOffsetAndInPlaceOutputsWork() {
        Tensor a = rand(6, 4);
        Tensor b = rand(4);
        Tensor ga = on(a);
        Tensor view = ga.slice(2, 5);   // rows 2..4: a view at float offset 8
        assertEquals(8, view.offset());
        assertBits(CPU.add(a.slice(2, 5), b), gpu.add(view, on(b)), "add on a view");
        gpu.add(view, on(b), view);
        Tensor expected = a.copy();
        CPU.add(expected.slice(2, 5), b, expected.slice(2, 5));
        assertBits(expected, ga, "add in place into a view");
        assertThrows(IllegalArgumentException.class, () -> gpu.add(ga.slice(0, 3), ga.slice(1, 4), ga.slice(0, 3)));
    }

    @Test
    void concatSliceMatmulActivationsSoftmaxAndReductions() {
        Tensor p = rand(2, 3, 4);
        Tensor q = rand(2, 1, 4);
        assertBits(CPU.concat(1, p, q, p), gpu.concat(1, on(p), on(q), on(p)), "concat");
        assertBits(CPU.slice(p, 2, 1, 2), gpu.slice(on(p), 2, 1, 2), "slice");
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = ta ? rand(37, 29) : rand(29, 37);
                Tensor b = tb ? rand(131, 37) : rand(37, 131);
                assertClose(CPU.matmul(a, ta, b, tb), gpu.matmul(on(a), ta, on(b), tb), 1e-5,
                        "matmul " + ta + " " + tb);
            }
        }
        Tensor x = rand(3, 257);
        Tensor dy = rand(3, 257);
        for (Activation f : Activation.values()) {
            Tensor y = CPU.activationForward(f, x);
            assertClose(y, gpu.activationForward(f, on(x)), 2e-7, f + " forward");
            assertClose(CPU.activationBackward(f, x, y, dy), gpu.activationBackward(f, on(x), on(y), on(dy)), 2e-7,
                    f + " backward");
        }
        Tensor s = rand(4, 5, 6);
        Tensor ds = rand(4, 5, 6);
        for (int axis : new int[] {0, 1, 2, -1}) {
            Tensor y = CPU.softmax(s, axis);
            assertClose(y, gpu.softmax(on(s), axis), 1e-5, "softmax " + axis);
            Tensor ly = CPU.logSoftmax(s, axis);
            assertClose(ly, gpu.logSoftmax(on(s), axis), 1e-5, "logSoftmax " + axis);
            assertClose(CPU.softmaxBackward(y, ds, axis), gpu.softmaxBackward(on(y), on(ds), axis), 1e-5,
                    "softmaxBackward " + axis);
            assertClose(CPU.logSoftmaxBackward(ly, ds, axis), gpu.logSoftmaxBackward(on(ly), on(ds), axis), 1e-5,
                    "logSoftmaxBackward " + axis);
            assertClose(CPU.sum(s, axis), gpu.sum(on(s), axis), 1e-5, "sum " + axis);
            assertClose(CPU.mean(s, axis), gpu.mean(on(s), axis), 1e-5, "mean " + axis);
            Tensor r = CPU.sum(s, axis);
            assertBits(CPU.sumBackward(r, s.shape(), axis), gpu.sumBackward(on(r), s.shape(), axis), "sumBackward");
            assertBits(CPU.meanBackward(r, s.shape(), axis), gpu.meanBackward(on(r), s.shape(), axis),
                    "meanBackward");
        }
        assertEquals(CPU.sumAll(s).item(), gpu.sumAll(on(s)).item(), 1e-5);
        assertEquals(0, gpu.sumAll(on(s)).rank());
        assertEquals(CPU.meanAll(s).item(), gpu.meanAll(on(s)).item(), 1e-6);
        Tensor seed = Tensor.scalar(0.7f);
        assertBits(CPU.sumAllBackward(seed, s.shape()), gpu.sumAllBackward(on(seed), s.shape()), "sumAllBackward");
        assertBits(CPU.meanAllBackward(seed, s.shape()), gpu.meanAllBackward(on(seed), s.shape()),
                "meanAllBackward");
    }

    @Test
    void convolutionsAndTheirGradients() {
        ConvSpec[] specs = {ConvSpec.same(3, 3), new ConvSpec(3, 3, 2, 1, 1, 0, 2, 1, 1, 2), ConvSpec.same(1, 1)};
        for (ConvSpec spec : specs) {
            Tensor x = rand(3, 4, 9, 8);
            Tensor w = rand(5, 4, spec.kh(), spec.kw());
            Tensor bias = rand(5);
            Tensor y = CPU.conv2d(x, w, bias, spec);
            assertClose(y, gpu.conv2d(on(x), on(w), on(bias), spec), 1e-5, "conv2d " + spec);
            Tensor dy = rand(y.shape().dims());
            assertClose(CPU.conv2dBackwardInput(dy, w, spec, x.shape()),
                    gpu.conv2dBackwardInput(on(dy), on(w), spec, x.shape()), 1e-5, "conv2dBackwardInput " + spec);
            for (boolean accumulate : new boolean[] {false, true}) {
                Tensor dw = rand(w.shape().dims());
                Tensor db = rand(5);
                Tensor gdw = on(dw);
                Tensor gdb = on(db);
                CPU.conv2dBackwardWeights(x, dy, spec, dw, db, accumulate);
                gpu.conv2dBackwardWeights(on(x), on(dy), spec, gdw, gdb, accumulate);
                assertClose(dw, gdw, 1e-5, "conv2d dw " + spec + " accumulate " + accumulate);
                assertClose(db, gdb, 1e-5, "conv2d db " + spec + " accumulate " + accumulate);
            }
        }
        ConvSpec spec = ConvSpec.of1d(3, 2, 1, 1);
        Tensor x = rand(2, 3, 11);
        Tensor w = rand(4, 3, 3);
        Tensor y = CPU.conv1d(x, w, null, spec);
        assertClose(y, gpu.conv1d(on(x), on(w), null, spec), 1e-5, "conv1d");
        Tensor dy = rand(y.shape().dims());
        assertClose(CPU.conv1dBackwardInput(dy, w, spec, x.shape()),
                gpu.conv1dBackwardInput(on(dy), on(w), spec, x.shape()), 1e-5, "conv1dBackwardInput");
        Tensor dw = Tensor.zeros(4, 3, 3);
        Tensor gdw = on(dw);
        CPU.conv1dBackwardWeights(x, dy, spec, dw, null, false);
        gpu.conv1dBackwardWeights(on(x), on(dy), spec, gdw, null, false);
        assertClose(dw, gdw, 1e-5, "conv1d dw");
    }

    @Test
    void aLongWeightGradientSumIsSplitAndStillAgrees() {
        Tensor x = rand(64, 3, 16, 16);
        Tensor dy = rand(64, 4, 16, 16);
        ConvSpec spec = ConvSpec.same(3, 3);
        assertTrue(LaunchShapes.convSplits(4, 27, 64L * 256, device.multiprocessors()) > 1);
        Tensor dw = Tensor.zeros(4, 3, 3, 3);
        Tensor gdw = on(dw);
        CPU.conv2dBackwardWeights(x, dy, spec, dw, null, false);
        gpu.conv2dBackwardWeights(on(x), on(dy), spec, gdw, null, false);
        assertClose(dw, gdw, 1e-5, "split-K dw");
    }

    @Test
    void poolingHasTheCpuBitsAndIndices() {
        Tensor x = rand(2, 3, 7, 6);
        for (PoolSpec spec : new PoolSpec[] {PoolSpec.of(2), PoolSpec.of(3, 2).withStride(1, 2)}) {
            Backend.MaxPooled c = CPU.maxPool2d(x, spec);
            Backend.MaxPooled g = gpu.maxPool2d(on(x), spec);
            assertBits(c.output(), g.output(), "maxPool2d " + spec);
            assertArrayEquals(((CpuBackend.HostIndices) c.argmax()).array(),
                    ((CudaBackend.DeviceIndices) g.argmax()).toArray(), "argmax " + spec);
            Tensor dy = rand(c.output().shape().dims());
            assertBits(CPU.maxPool2dBackward(dy, c.argmax(), spec, x.shape()),
                    gpu.maxPool2dBackward(on(dy), g.argmax(), spec, x.shape()), "maxPool2dBackward " + spec);
            assertBits(CPU.meanPool2d(x, spec), gpu.meanPool2d(on(x), spec), "meanPool2d " + spec);
            assertBits(CPU.meanPool2dBackward(dy, spec, x.shape()), gpu.meanPool2dBackward(on(dy), spec, x.shape()),
                    "meanPool2dBackward " + spec);
        }
        Backend.MaxPooled c = CPU.globalMaxPool(x);
        Backend.MaxPooled g = gpu.globalMaxPool(on(x));
        assertBits(c.output(), g.output(), "globalMaxPool");
        Tensor dy = rand(2, 3, 1, 1);
        assertBits(CPU.globalMaxPoolBackward(dy, c.argmax(), x.shape()),
                gpu.globalMaxPoolBackward(on(dy), g.argmax(), x.shape()), "globalMaxPoolBackward");
        assertClose(CPU.globalMeanPool(x), gpu.globalMeanPool(on(x)), 1e-6, "globalMeanPool");
        assertBits(CPU.globalMeanPoolBackward(dy, x.shape()), gpu.globalMeanPoolBackward(on(dy), x.shape()),
                "globalMeanPoolBackward");
        var e = assertThrows(IllegalArgumentException.class,
                () -> gpu.maxPool2dBackward(on(rand(2, 3, 3, 3)), c.argmax(), PoolSpec.of(2), x.shape()));
        assertTrue(e.getMessage().contains("not made by"), e.getMessage());
    }

    @Test
    void batchNormAgreesAndUpdatesTheRunningStatisticsOnTheDevice() {
        for (int[] dims : new int[][] {{8, 3, 5, 4}, {16, 6}}) {
            Tensor x = rand(dims);
            int c = dims[1];
            Tensor gamma = Tensor.uniform(rng, 0.5f, 1.5f, c);
            Tensor beta = rand(c);
            for (boolean relu : new boolean[] {false, true}) {
                Tensor rm = rand(c);
                Tensor rv = Tensor.uniform(rng, 0.5f, 1.5f, c);
                Tensor grm = on(rm);
                Tensor grv = on(rv);
                Backend.BatchNormTraining ct = CPU.batchNormTraining(x, gamma, beta, rm, rv, 0.1f, 1e-5f, relu);
                Backend.BatchNormTraining gt = gpu.batchNormTraining(on(x), on(gamma), on(beta), grm, grv, 0.1f,
                        1e-5f, relu);
                String what = "batch norm " + x.shape() + " relu " + relu;
                assertClose(ct.output(), gt.output(), 1e-5, what + " output");
                assertClose(ct.mean(), gt.mean(), 1e-5, what + " mean");
                assertClose(ct.invStd(), gt.invStd(), 1e-5, what + " invStd");
                assertClose(rm, grm, 1e-5, what + " runningMean");
                assertClose(rv, grv, 1e-5, what + " runningVar");
                Tensor dy = rand(dims);
                Tensor ry = relu ? ct.output() : null;
                Backend.BatchNormGradients cg = CPU.batchNormBackward(x, dy, gamma, ct.mean(), ct.invStd(), ry);
                Backend.BatchNormGradients gg = gpu.batchNormBackward(on(x), on(dy), on(gamma), gt.mean(),
                        gt.invStd(), relu ? gt.output() : null);
                assertClose(cg.dx(), gg.dx(), 1e-4, what + " dx");
                assertClose(cg.dgamma(), gg.dgamma(), 1e-5, what + " dgamma");
                assertClose(cg.dbeta(), gg.dbeta(), 1e-5, what + " dbeta");
                Tensor ci = CPU.batchNormInference(x, gamma, beta, rm, rv, 1e-5f, relu);
                assertClose(ci, gpu.batchNormInference(on(x), on(gamma), on(beta), on(rm), on(rv), 1e-5f, relu), 1e-5,
                        what + " inference");
                Backend.BatchNormGradients cig = CPU.batchNormInferenceBackward(x, dy, gamma, rm, rv, 1e-5f,
                        relu ? ci : null);
                Backend.BatchNormGradients gig = gpu.batchNormInferenceBackward(on(x), on(dy), on(gamma), on(rm),
                        on(rv), 1e-5f, relu ? on(ci) : null);
                assertClose(cig.dx(), gig.dx(), 1e-5, what + " inference dx");
                assertClose(cig.dgamma(), gig.dgamma(), 1e-5, what + " inference dgamma");
                assertClose(cig.dbeta(), gig.dbeta(), 1e-5, what + " inference dbeta");
            }
        }
    }

    @Test
    void dropoutDrawsTheCpuMaskFromTheSameGenerator() {
        for (int n : new int[] {1, 10, 333}) {
            Tensor x = rand(n);
            for (double p : new double[] {0, 0.25, 0.75}) {
                Backend.Dropped c = CPU.dropout(x, p, new SplittableRandom(n));
                Backend.Dropped g = gpu.dropout(on(x), p, new SplittableRandom(n));
                assertBits(c.mask(), g.mask(), "mask n " + n + " p " + p);
                assertBits(c.output(), g.output(), "output n " + n + " p " + p);
                Tensor dy = rand(n);
                assertBits(CPU.dropoutBackward(dy, c.mask()), gpu.dropoutBackward(on(dy), g.mask()), "backward");
            }
        }
    }

    @Test
    void crossEntropyAgreesToFloatRounding() {
        Tensor logits = rand(37, 11);
        int[] labels = rng.ints(37, 0, 11).toArray();
        Tensor targets = CPU.softmax(rand(37, 11), 1);
        Tensor dLoss = Tensor.scalar(1.3f);
        assertEquals(CPU.crossEntropy(logits, labels).item(), gpu.crossEntropy(on(logits), labels).item(), 1e-6);
        assertEquals(CPU.crossEntropy(logits, targets).item(), gpu.crossEntropy(on(logits), on(targets)).item(),
                1e-6);
        assertClose(CPU.crossEntropyBackward(logits, labels, dLoss),
                gpu.crossEntropyBackward(on(logits), labels, on(dLoss)), 1e-6, "labels backward");
        assertClose(CPU.crossEntropyBackward(logits, targets, dLoss),
                gpu.crossEntropyBackward(on(logits), on(targets), on(dLoss)), 1e-6, "targets backward");
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.crossEntropy(on(logits), new int[] {1}));
        assertTrue(e.getMessage().startsWith("crossEntropy: "), e.getMessage());
    }

    @Test
    void optimiserStepsHaveTheCpuBits() {
        for (boolean apply : new boolean[] {false, true}) {
            step("momentum", apply, (b, t) -> {
                b.momentumStep(t[0], t[1], t[apply ? 2 : 0], 0.05f, 0.9f, false, apply);
                return null;
            });
            step("nesterov", apply, (b, t) -> {
                b.momentumStep(t[0], t[1], t[apply ? 2 : 0], 0.05f, 0.9f, true, apply);
                return null;
            });
            step("adaGrad", apply, (b, t) -> {
                b.adaGradStep(t[0], t[1], t[apply ? 2 : 0], 0.1f, 1e-10f, apply);
                return null;
            });
            step("rmsProp", apply, (b, t) -> {
                b.rmsPropStep(t[0], t[1], t[3], t[4], t[apply ? 2 : 0], 0.01, 0.99, 1e-8, 0.5, apply);
                return null;
            });
            step("rmsProp plain", apply, (b, t) -> {
                b.rmsPropStep(t[0], t[1], null, null, t[apply ? 2 : 0], 0.01, 0.99, 1e-8, 0, apply);
                return null;
            });
        }
    }

    /**
     * Three steps of {@code rule} on the CPU and the GPU from the same state {@code [g, s1, value, s2, s3]}; the
     * gradient and the value are fresh each step, the state carries over.
     */
    private void step(String rule, boolean apply, BiFunction<Backend, Tensor[], Void> stepOnce) {
        int n = 1000;
        Tensor[] cpu = new Tensor[5];
        Tensor[] dev = new Tensor[5];
        for (int i = 1; i < 5; i++) {
            cpu[i] = i == 2 ? rand(n) : Tensor.zeros(n);
            dev[i] = on(cpu[i]);
        }
        for (int s = 0; s < 3; s++) {
            cpu[0] = rand(n);
            dev[0] = on(cpu[0]);
            stepOnce.apply(CPU, cpu);
            stepOnce.apply(gpu, dev);
            for (int i = 0; i < 5; i++) {
                assertBits(cpu[i], dev[i], rule + " apply " + apply + " step " + s + " tensor " + i);
            }
        }
    }

    @Test
    void adamFamilyStepsAgreeToTheLastBitsOfPow() {
        for (boolean apply : new boolean[] {false, true}) {
            for (double wd : new double[] {0, 0.01}) {
                int n = 513;
                Tensor p = rand(n);
                Tensor[] cpu = {null, Tensor.zeros(n), Tensor.zeros(n), Tensor.zeros(n), p.copy(), Tensor.zeros(n)};
                Tensor[] dev = new Tensor[6];
                for (int i = 1; i < 6; i++) {
                    dev[i] = on(cpu[i]);
                }
                for (int s = 0; s < 3; s++) {
                    cpu[0] = rand(n);
                    dev[0] = on(cpu[0]);
                    CPU.adamStep(cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], apply ? cpu[4] : cpu[0], 0.01, 0.9, 0.999,
                            1e-8, wd, apply);
                    gpu.adamStep(dev[0], dev[1], dev[2], dev[3], dev[4], apply ? dev[4] : dev[0], 0.01, 0.9, 0.999,
                            1e-8, wd, apply);
                    for (int i = 0; i < 5; i++) {
                        assertClose(cpu[i], dev[i], 1e-6, "adam wd " + wd + " apply " + apply + " tensor " + i);
                    }
                }
                Tensor[] nc = {null, Tensor.zeros(n), Tensor.zeros(n), Tensor.zeros(n), Tensor.zeros(n), p.copy()};
                Tensor[] nd = new Tensor[6];
                for (int i = 1; i < 6; i++) {
                    nd[i] = on(nc[i]);
                }
                for (int s = 0; s < 3; s++) {
                    nc[0] = rand(n);
                    nd[0] = on(nc[0]);
                    CPU.nAdamStep(nc[0], nc[1], nc[2], nc[3], nc[4], apply ? nc[5] : nc[0], 0.002, 0.9, 0.999, 1e-8,
                            0.004, apply);
                    gpu.nAdamStep(nd[0], nd[1], nd[2], nd[3], nd[4], apply ? nd[5] : nd[0], 0.002, 0.9, 0.999, 1e-8,
                            0.004, apply);
                    for (int i = 0; i < 6; i++) {
                        assertClose(nc[i], nd[i], 1e-6, "nAdam apply " + apply + " tensor " + i);
                    }
                }
            }
        }
    }

    @Test
    void nonFiniteValuesAreFound() {
        Tensor x = rand(1000);
        assertTrue(gpu.allFinite(on(x)));
        x.set(Float.NaN, 517);
        assertFalse(gpu.allFinite(on(x)));
        x.set(Float.POSITIVE_INFINITY, 517);
        assertFalse(gpu.allFinite(on(x)));
        assertTrue(gpu.allFinite(on(Tensor.zeros(0))));
    }

    @Test
    void aTensorOfAnotherDeviceIsRefusedNamingIt() {
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.neg(Tensor.zeros(3)));
        assertTrue(e.getMessage().contains("cpu"), e.getMessage());
    }
}
