package io.evonas.kernels;

import static io.evonas.kernels.LaunchShapes.THREADS;
import static io.evonas.kernels.LaunchShapes.ceilDiv;
import static io.evonas.kernels.LaunchShapes.strideGrid;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.Broadcast;
import io.evonas.tensor.cpu.Conv1d;
import io.evonas.tensor.cpu.Conv2d;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.random.RandomGenerator;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * The {@link Backend} of one GPU: every operation launches the kernels of {@code src/main/cuda} (whose header
 * comments give each kernel's signature, launch shape and the CPU method it mirrors) on the tensors' device memory,
 * queued on the device's default stream. Nothing runs on the host but shape checks, launch arithmetic and dropout's
 * random bits, and nothing synchronises except a host read: {@link Tensor#item()}, {@link #allFinite}, and the
 * cross-entropy gradient, which reads {@code dLoss} as the CPU does.
 *
 * <pre>{@code
 * CudaDevice gpu = Cuda.devices().getFirst();
 * Tensor a = Tensor.uniform(rng, -1, 1, 64, 32).to(gpu);
 * Tensor y = gpu.backend().matmul(a, false, a, true);     // [64, 64] on the GPU, FP32 SGEMM
 * }</pre>
 *
 * <p><b>Bits.</b> Elementwise arithmetic, activations (to within an ulp), pooling, dropout (the mask is drawn on the
 * host from the same {@link RandomGenerator} stream as the CPU's and uploaded) and the optimiser steps give the
 * CPU's bits; sums, softmax, batch-norm statistics, losses and the FP32 matrix products agree with it to float
 * rounding (their summation order differs). Max pooling's winners stay on the device as {@link DeviceIndices}.
 */
public final class CudaBackend implements Backend {
    private static final String ELEMENTWISE = "elementwise";
    private static final String REDUCE = "reduce";
    private static final String GEMM = "gemm";
    private static final String CONV = "conv";
    private static final String POOL = "pool";
    private static final String BATCHNORM = "batchnorm";
    private static final String LOSS = "loss";
    private static final String OPTIMISER = "optimiser";
    /** A null device pointer, for the kernels' optional arguments. */
    private static final CUdeviceptr NULL = new CUdeviceptr();

    private final CudaDevice device;
    private final boolean useLibraries;

    /**
     * @param useLibraries whether matrix products and convolutions go to cuBLAS and cuDNN where {@link
     *     CudaLibraries} found them (otherwise, and for what they do not cover, evonas's kernels run)
     */
    CudaBackend(CudaDevice device, boolean useLibraries) {
        this.device = Objects.requireNonNull(device, "device");
        this.useLibraries = useLibraries;
    }

    /** Whether this backend hands matrix products and convolutions to cuBLAS and cuDNN where they are present. */
    public boolean usesLibraries() {
        return useLibraries;
    }

    /** The device's cuBLAS/cuDNN state, or null when this backend runs only evonas's kernels. */
    private LibraryHandles libraries() {
        return useLibraries ? device.libraries() : null;
    }

    /**
     * Max pooling's winners in device memory: per output element, {@code iy * W + ix} in its plane, as
     * {@code int}s (the buffer's 4-byte elements).
     *
     * @param buffer the device buffer holding {@code size} ints
     * @param size the number of indices
     */
    public record DeviceIndices(CudaStorage buffer, int size) implements Indices {
        /** Checks the buffer holds {@code size} ints. */
        public DeviceIndices {
            Objects.requireNonNull(buffer, "buffer");
            if (size < 0 || size > buffer.size()) {
                throw new IllegalArgumentException("DeviceIndices: " + size + " indices in a buffer of "
                        + buffer.size());
            }
        }

        /** Copies the indices to the host (synchronising), for tests and diagnostics. */
        public int[] toArray() {
            float[] raw = new float[size];
            buffer.copyToHost(0, raw, 0, size);
            int[] out = new int[size];
            for (int i = 0; i < size; i++) {
                out[i] = Float.floatToRawIntBits(raw[i]);
            }
            return out;
        }
    }

    @Override
    public CudaDevice device() {
        return device;
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return binary("add", a, b, null);
    }

    @Override
    public Tensor add(Tensor a, Tensor b, Tensor out) {
        return binary("add", a, b, Objects.requireNonNull(out, "out"));
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        return binary("sub", a, b, null);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b, Tensor out) {
        return binary("sub", a, b, Objects.requireNonNull(out, "out"));
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        return binary("mul", a, b, null);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        return binary("div", a, b, null);
    }

    @Override
    public Tensor addScalar(Tensor x, float s) {
        return scalar("addScalar", "add_scalar", x, s, null);
    }

    @Override
    public Tensor mulScalar(Tensor x, float s) {
        return scalar("mulScalar", "mul_scalar", x, s, null);
    }

    @Override
    public Tensor mulScalar(Tensor x, float s, Tensor out) {
        return scalar("mulScalar", "mul_scalar", x, s, Objects.requireNonNull(out, "out"));
    }

    @Override
    public Tensor neg(Tensor x) {
        return scalar("neg", "mul_scalar", x, -1f, null);
    }

    @Override
    public Tensor addScaledInPlace(Tensor acc, float alpha, Tensor x) {
        Objects.requireNonNull(acc, "acc");
        Objects.requireNonNull(x, "x");
        if (!acc.shape().equals(x.shape())) {
            throw new IllegalArgumentException("addScaledInPlace: acc " + acc.shape() + " and x " + x.shape()
                    + " differ in shape");
        }
        checkAlias("addScaledInPlace", "acc", acc, "x", x);
        long n = acc.size();
        if (n > 0) {
            launch(ELEMENTWISE, "evonas_elementwise_add_scaled", strideGrid(n), THREADS, ptr(acc), alpha, ptr(x), n);
        }
        return acc;
    }

    @Override
    public Tensor sumTo(Tensor grad, Shape target) {
        Objects.requireNonNull(grad, "grad");
        Objects.requireNonNull(target, "target");
        if (!Broadcast.broadcastsTo(target, grad.shape())) {
            throw new IllegalArgumentException("sumTo: shape " + target + " does not broadcast to gradient "
                    + grad.shape());
        }
        Tensor out = allocate(target);
        if (grad.size() == 0) {
            return out;
        }
        BroadcastPlan p = BroadcastPlan.of(grad.shape(), target);
        int[] dims = p.dims();
        int[] st = p.strides()[0];
        int first = -1;
        int last = -1;
        for (int g = 0; g < dims.length; g++) {
            if (st[g] == 0 && dims[g] > 1) {
                last = g;
                first = first < 0 ? g : first;
            }
        }
        if (last < 0) {
            return copy(grad, out);
        }
        if (p.rank() <= BroadcastPlan.KERNEL_DIMS) {
            int[] d = p.last4();
            int[] s = p.last4Strides(0);
            int[] r = new int[4];
            for (int i = 0; i < 4; i++) {
                r[i] = s[i] == 0 && d[i] > 1 ? 1 : 0;
            }
            launch(ELEMENTWISE, "evonas_elementwise_sum_to", Dim3.of(out.size()), THREADS, ptr(grad), ptr(out),
                    d[0], d[1], d[2], d[3], r[0], r[1], r[2], r[3]);
            return out;
        }
        // more merged dims than the kernel takes: one summed axis at a time, innermost first, as the CPU does
        Tensor cur = grad;
        int[] d = dims.clone();
        for (int g = last; g >= first; g--) {
            if (st[g] != 0 || d[g] == 1) {
                continue;
            }
            int outer = product(d, 0, g);
            int inner = product(d, g + 1, d.length);
            Tensor dst = g == first ? out : allocate(Shape.of(outer * inner));
            sumAxis("sum", cur, dst, outer, d[g], inner, false);
            cur = dst;
            d[g] = 1;
        }
        return out;
    }

    @Override
    public Tensor mulGradA(Tensor dy, Tensor a, Tensor b) {
        checkGrad("mulGradA", dy, a, b);
        return reduceTo(mul(dy, b), a.shape());
    }

    @Override
    public Tensor mulGradB(Tensor dy, Tensor a, Tensor b) {
        checkGrad("mulGradB", dy, a, b);
        return reduceTo(mul(dy, a), b.shape());
    }

    @Override
    public Tensor divGradA(Tensor dy, Tensor a, Tensor b) {
        checkGrad("divGradA", dy, a, b);
        return reduceTo(div(dy, b), a.shape());
    }

    @Override
    public Tensor divGradB(Tensor dy, Tensor a, Tensor b) {
        checkGrad("divGradB", dy, a, b);
        Tensor t = mul(dy, a);
        binary("div", t, b, t);
        binary("div", t, b, t);
        Tensor r = reduceTo(t, b.shape());
        return mulScalar(r, -1f, r);
    }

    private Tensor binary(String op, Tensor a, Tensor b, Tensor out) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Shape s = Broadcast.shape(op, a.shape(), b.shape());
        if (out == null) {
            out = allocate(s);
        } else {
            if (!out.shape().equals(s)) {
                throw new IllegalArgumentException(op + ": out " + out.shape() + " must have shape " + s
                        + ", the broadcast of " + a.shape() + " and " + b.shape());
            }
            checkAlias(op, "out", out, "a", a);
            checkAlias(op, "out", out, "b", b);
        }
        if (s.size() == 0) {
            return out;
        }
        if (a.shape().equals(s) && b.shape().equals(s)) {
            long n = s.size();
            launch(ELEMENTWISE, "evonas_elementwise_" + op, strideGrid(n), THREADS, ptr(a), ptr(b), ptr(out), n);
            return out;
        }
        BroadcastPlan p = BroadcastPlan.of(s, a.shape(), b.shape());
        int[] d = p.last4();
        int[] sa = p.last4Strides(0);
        int[] sb = p.last4Strides(1);
        long inner = p.innerSize();
        for (int o = 0; o < p.outerCount(); o++) {
            launch(ELEMENTWISE, "evonas_elementwise_" + op + "_bcast", strideGrid(inner), THREADS,
                    ptr(a, p.outerOffset(0, o)), ptr(b, p.outerOffset(1, o)), ptr(out, o * inner),
                    d[0], d[1], d[2], d[3], sa[0], sa[1], sa[2], sa[3], sb[0], sb[1], sb[2], sb[3]);
        }
        return out;
    }

    private Tensor scalar(String op, String kernel, Tensor x, float s, Tensor out) {
        Objects.requireNonNull(x, "x");
        if (out == null) {
            out = allocate(x.shape());
        } else {
            if (!out.shape().equals(x.shape())) {
                throw new IllegalArgumentException(op + ": out " + out.shape() + " must have the shape of x "
                        + x.shape());
            }
            checkAlias(op, "out", out, "x", x);
        }
        long n = x.size();
        if (n > 0) {
            launch(ELEMENTWISE, "evonas_elementwise_" + kernel, strideGrid(n), THREADS, ptr(x), s, ptr(out), n);
        }
        return out;
    }

    private static void checkGrad(String op, Tensor dy, Tensor a, Tensor b) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Shape s = Broadcast.shape(op, a.shape(), b.shape());
        if (!dy.shape().equals(s)) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must have shape " + s
                    + ", the broadcast of a " + a.shape() + " and b " + b.shape());
        }
    }

    private Tensor reduceTo(Tensor t, Shape shape) {
        return t.shape().equals(shape) ? t : sumTo(t, shape);
    }

    // ---------------------------------------------------------------- layout

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        Objects.requireNonNull(parts, "parts");
        if (parts.length == 0) {
            throw new IllegalArgumentException("concat: no inputs");
        }
        Shape first = parts[0].shape();
        int a = first.normaliseAxis(axis);
        int total = 0;
        for (Tensor t : parts) {
            Shape s = t.shape();
            boolean compatible = s.rank() == first.rank();
            for (int d = 0; compatible && d < s.rank(); d++) {
                compatible = d == a || s.dim(d) == first.dim(d);
            }
            if (!compatible) {
                throw new IllegalArgumentException("concat along axis " + a + ": shapes "
                        + Arrays.toString(Arrays.stream(parts).map(Tensor::shape).toArray()) + " differ outside it");
            }
            total += s.dim(a);
        }
        Tensor out = allocate(first.withDim(a, total));
        long outer = first.sizeOf(0, a);
        long inner = first.sizeOf(a + 1, first.rank());
        long at = 0;
        for (Tensor t : parts) {
            long block = t.dim(a) * inner;
            if (block > 0 && outer > 0) {
                launch(ELEMENTWISE, "evonas_elementwise_copy_rows", strideGrid(outer * block), THREADS,
                        ptr(t), block, 0L, ptr(out), total * inner, at, outer, block);
            }
            at += block;
        }
        return out;
    }

    @Override
    public Tensor slice(Tensor x, int axis, int from, int length) {
        Objects.requireNonNull(x, "x");
        Shape s = x.shape();
        int a = s.normaliseAxis(axis);
        if (from < 0 || length < 0 || from + length > s.dim(a)) {
            throw new IllegalArgumentException("slice of " + s + " along axis " + a + ": [" + from + ", "
                    + (from + length) + ") is outside [0, " + s.dim(a) + ")");
        }
        Tensor out = allocate(s.withDim(a, length));
        long outer = s.sizeOf(0, a);
        long inner = s.sizeOf(a + 1, s.rank());
        long block = length * inner;
        if (block > 0 && outer > 0) {
            launch(ELEMENTWISE, "evonas_elementwise_copy_rows", strideGrid(outer * block), THREADS,
                    ptr(x), s.dim(a) * inner, from * inner, ptr(out), block, 0L, outer, block);
        }
        return out;
    }

    // ---------------------------------------------------------------- matmul

    @Override
    public Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (a.rank() != 2 || b.rank() != 2) {
            throw new IllegalArgumentException("matmul: needs rank-2 tensors, got a " + a.shape() + ", b "
                    + b.shape());
        }
        int m = a.dim(transA ? 1 : 0);
        int k = a.dim(transA ? 0 : 1);
        int kb = b.dim(transB ? 1 : 0);
        int n = b.dim(transB ? 0 : 1);
        if (k != kb) {
            throw new IllegalArgumentException("matmul: a " + a.shape() + (transA ? "ᵀ" : "") + " × b " + b.shape()
                    + (transB ? "ᵀ" : "") + " do not agree (inner " + k + " vs " + kb + ")");
        }
        Tensor out = allocate(Shape.of(m, n));
        if (m == 0 || n == 0) {
            return out;
        }
        LibraryHandles libs = libraries();
        if (libs != null && libs.multiplies()) {
            libs.sgemm(transA, transB, m, n, k, address(a), a.dim(1), address(b), b.dim(1), address(out), n);
            return out;
        }
        String kernel = "evonas_gemm_" + (CudaLibraries.found().tf32() ? "tf32_" : "sgemm_") + (transA ? "t" : "n")
                + (transB ? "t" : "n");
        Dim3 grid = Dim3.of(ceilDiv(n, LaunchShapes.GEMM_TILE), ceilDiv(m, LaunchShapes.GEMM_TILE));
        launch(GEMM, kernel, grid, THREADS, m, n, k, 1f, ptr(a), a.dim(1), ptr(b), b.dim(1), 0f, ptr(out), n);
        return out;
    }

    // ---------------------------------------------------------------- activations, softmax

    @Override
    public Tensor activationForward(Activation f, Tensor x) {
        Objects.requireNonNull(f, "f");
        Objects.requireNonNull(x, "x");
        Tensor y = allocate(x.shape());
        long n = x.size();
        if (n == 0) {
            return y;
        }
        if (f == Activation.IDENTITY) {
            return copy(x, y);
        }
        String kernel = "evonas_elementwise_" + kernelName(f) + "_forward";
        if (f instanceof Activation.LeakyRelu leaky) {
            launch(ELEMENTWISE, kernel, strideGrid(n), THREADS, ptr(x), ptr(y), n, leaky.slope());
        } else {
            launch(ELEMENTWISE, kernel, strideGrid(n), THREADS, ptr(x), ptr(y), n);
        }
        return y;
    }

    @Override
    public Tensor activationBackward(Activation f, Tensor x, Tensor y, Tensor dy) {
        Objects.requireNonNull(f, "f");
        Objects.requireNonNull(dy, "dy");
        Tensor dx = allocate(dy.shape());
        long n = dy.size();
        if (f == Activation.IDENTITY) {
            return n == 0 ? dx : copy(dy, dx);
        }
        String neededName = f.backwardNeedsInput() ? "x" : "y";
        Tensor needed = Objects.requireNonNull(f.backwardNeedsInput() ? x : y, neededName);
        if (!needed.shape().equals(dy.shape())) {
            throw new IllegalArgumentException(f.name() + " backward: " + neededName + " " + needed.shape()
                    + " and dy " + dy.shape() + " differ in shape");
        }
        if (n == 0) {
            return dx;
        }
        String kernel = "evonas_elementwise_" + kernelName(f) + "_backward";
        if (f instanceof Activation.LeakyRelu leaky) {
            launch(ELEMENTWISE, kernel, strideGrid(n), THREADS, ptr(needed), ptr(dy), ptr(dx), n, leaky.slope());
        } else {
            launch(ELEMENTWISE, kernel, strideGrid(n), THREADS, ptr(needed), ptr(dy), ptr(dx), n);
        }
        return dx;
    }

    /** {@code relu}, {@code leaky_relu}, ...: the kernels' name of {@code f}. */
    static String kernelName(Activation f) {
        return f.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public Tensor softmax(Tensor x, int axis) {
        return softmaxFamily("softmax", "softmax", x, null, axis);
    }

    @Override
    public Tensor logSoftmax(Tensor x, int axis) {
        return softmaxFamily("logSoftmax", "log_softmax", x, null, axis);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy, int axis) {
        return softmaxFamily("softmaxBackward", "softmax_backward", y, Objects.requireNonNull(dy, "dy"), axis);
    }

    @Override
    public Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis) {
        return softmaxFamily("logSoftmaxBackward", "log_softmax_backward", y, Objects.requireNonNull(dy, "dy"),
                axis);
    }

    /** Softmax or log-softmax ({@code dy} null) or their backward passes, along {@code axis}. */
    private Tensor softmaxFamily(String op, String kernel, Tensor x, Tensor dy, int axis) {
        Objects.requireNonNull(x, dy == null ? "x" : "y");
        if (dy != null && !dy.shape().equals(x.shape())) {
            throw new IllegalArgumentException(op + ": y " + x.shape() + " and dy " + dy.shape()
                    + " differ in shape");
        }
        Shape s = x.shape();
        int a = s.normaliseAxis(axis);
        long outer = s.sizeOf(0, a);
        long n = s.dim(a);
        long inner = s.sizeOf(a + 1, s.rank());
        Tensor out = allocate(s);
        if (s.size() == 0) {
            return out;
        }
        Object[] io = dy == null ? new Object[] {ptr(x), ptr(out)} : new Object[] {ptr(x), ptr(dy), ptr(out)};
        if (inner == 1) {
            launch(REDUCE, "evonas_reduce_" + kernel + "_rows", LaunchShapes.rowGrid(outer),
                    LaunchShapes.rowBlock(n), join(io, outer, n));
        } else {
            launch(REDUCE, "evonas_reduce_" + kernel + "_cols", strideGrid(outer * inner), THREADS,
                    join(io, outer, n, inner));
        }
        return out;
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public Tensor sum(Tensor x, int axis) {
        return reduceAxis("sum", x, axis, false);
    }

    @Override
    public Tensor mean(Tensor x, int axis) {
        return reduceAxis("mean", x, axis, true);
    }

    private Tensor reduceAxis(String op, Tensor x, int axis, boolean mean) {
        Objects.requireNonNull(x, "x");
        Shape s = x.shape();
        int a = s.normaliseAxis(axis);
        Tensor out = allocate(dropAxis(s, a));
        sumAxis(op, x, out, s.sizeOf(0, a), s.dim(a), s.sizeOf(a + 1, s.rank()), mean);
        return out;
    }

    /** {@code out[o, i] = Σ_k x[o, k, i]} (or the mean) through the rows or columns kernel. */
    private void sumAxis(String op, Tensor x, Tensor out, long outer, long n, long inner, boolean mean) {
        if (outer * inner == 0) {
            return;
        }
        String kernel = "evonas_reduce_" + (mean ? "mean" : "sum");
        if (inner == 1) {
            launch(REDUCE, kernel + "_rows", LaunchShapes.rowGrid(outer), LaunchShapes.rowBlock(n), ptr(x),
                    ptr(out), outer, n);
        } else {
            launch(REDUCE, kernel + "_cols", strideGrid(outer * inner), THREADS, ptr(x), ptr(out), outer, n, inner);
        }
    }

    private static Shape dropAxis(Shape s, int a) {
        int[] d = new int[s.rank() - 1];
        for (int i = 0, j = 0; i < s.rank(); i++) {
            if (i != a) {
                d[j++] = s.dim(i);
            }
        }
        return Shape.of(d);
    }

    @Override
    public Tensor sumBackward(Tensor dy, Shape inputShape, int axis) {
        return expand("sumBackward", dy, inputShape, axis, false);
    }

    @Override
    public Tensor meanBackward(Tensor dy, Shape inputShape, int axis) {
        return expand("meanBackward", dy, inputShape, axis, true);
    }

    private Tensor expand(String op, Tensor dy, Shape inputShape, int axis, boolean mean) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(inputShape, "inputShape");
        int a = inputShape.normaliseAxis(axis);
        long outer = inputShape.sizeOf(0, a);
        int n = inputShape.dim(a);
        long inner = inputShape.sizeOf(a + 1, inputShape.rank());
        if (dy.size() != outer * inner) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " does not match " + inputShape
                    + " reduced along axis " + axis);
        }
        Tensor dx = allocate(inputShape);
        if (dx.size() > 0) {
            launch(REDUCE, "evonas_reduce_expand", strideGrid(dx.size()), THREADS, ptr(dy), ptr(dx), outer, (long) n,
                    inner, mean ? (float) n : 1f);
        }
        return dx;
    }

    @Override
    public Tensor sumAll(Tensor x) {
        return reduceAll(x, false);
    }

    @Override
    public Tensor meanAll(Tensor x) {
        return reduceAll(x, true);
    }

    private Tensor reduceAll(Tensor x, boolean mean) {
        Objects.requireNonNull(x, "x");
        Tensor out = allocate(Shape.of());
        long n = x.size();
        launch(REDUCE, "evonas_reduce_" + (mean ? "mean" : "sum") + "_rows", Dim3.of(1), LaunchShapes.rowBlock(n),
                ptr(x), ptr(out), 1L, n);
        return out;
    }

    @Override
    public Tensor sumAllBackward(Tensor dy, Shape inputShape) {
        return fillFromScalar("sumAllBackward", dy, inputShape, 1f);
    }

    @Override
    public Tensor meanAllBackward(Tensor dy, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return fillFromScalar("meanAllBackward", dy, inputShape, (float) inputShape.size());
    }

    /** A tensor of {@code shape} filled with {@code dy}'s one element divided by {@code divisor}, on the device. */
    private Tensor fillFromScalar(String op, Tensor dy, Shape shape, float divisor) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(shape, "inputShape");
        if (dy.size() != 1) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must have one element");
        }
        Tensor dx = allocate(shape);
        if (dx.size() > 0) {
            launch(REDUCE, "evonas_reduce_expand", strideGrid(dx.size()), THREADS, ptr(dy), ptr(dx), 1L,
                    (long) dx.size(), 1L, divisor);
        }
        return dx;
    }

    // ---------------------------------------------------------------- convolution

    /** The 15 geometry arguments of the convolution kernels, {@code N, C, H, W, OC, OH, OW, KH, ..., DW}. */
    record ConvGeometry(int n, int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int sh, int sw, int pt,
                        int pl, int dh, int dw) {
        /** From an input {@code [N, C, H, W]} (or {@code [N, C, L]}: H = 1) and the output's shape. */
        static ConvGeometry of(Shape x, Shape y, int oc, ConvSpec spec) {
            boolean oneD = x.rank() == 3;
            return new ConvGeometry(x.dim(0), x.dim(1), oneD ? 1 : x.dim(2), x.dim(oneD ? 2 : 3), oc,
                    oneD ? 1 : y.dim(2), y.dim(oneD ? 2 : 3), spec.kh(), spec.kw(), spec.sh(), spec.sw(), spec.top(),
                    spec.left(), spec.dh(), spec.dw());
        }

        Object[] args() {
            return new Object[] {n, c, h, w, oc, oh, ow, kh, kw, sh, sw, pt, pl, dh, dw};
        }

        /** Columns of the weight seen as a matrix: {@code C * KH * KW}. */
        int ckk() {
            return c * kh * kw;
        }

        /** Output positions, the weight gradient's sum: {@code N * OH * OW}. */
        long positions() {
            return (long) n * oh * ow;
        }
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return convForward("conv2d", x, w, bias, spec, false);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        return convBackwardInput("conv2dBackwardInput", dy, w, spec, inputShape, false);
    }

    @Override
    public void conv2dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        convBackwardWeights("conv2dBackwardWeights", x, dy, spec, dw, db, accumulate, false);
    }

    @Override
    public Tensor conv1d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return convForward("conv1d", x, w, bias, spec, true);
    }

    @Override
    public Tensor conv1dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        return convBackwardInput("conv1dBackwardInput", dy, w, spec, inputShape, true);
    }

    @Override
    public void conv1dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        convBackwardWeights("conv1dBackwardWeights", x, dy, spec, dw, db, accumulate, true);
    }

    private static Shape convOutput(Shape x, Shape w, ConvSpec spec, boolean oneD) {
        return oneD ? Conv1d.outputShape(x, w, spec) : Conv2d.outputShape(x, w, spec);
    }

    private Tensor convForward(String op, Tensor x, Tensor w, Tensor bias, ConvSpec spec, boolean oneD) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(spec, "spec");
        Shape ys = convOutput(x.shape(), w.shape(), spec, oneD);
        int oc = w.dim(0);
        checkBias(op, "bias", bias, oc);
        Tensor y = allocate(ys);
        if (y.size() == 0) {
            return y;
        }
        ConvGeometry g = ConvGeometry.of(x.shape(), ys, oc, spec);
        LibraryHandles libs = libraries();
        if (libs != null && libs.convolves(g)) {
            libs.convForward(g, address(x), address(w), bias == null ? 0 : address(bias), address(y));
            return y;
        }
        Dim3 grid = Dim3.of(ceilDiv(g.positions(), LaunchShapes.CONV_TILE), ceilDiv(oc, LaunchShapes.CONV_TILE));
        launch(CONV, "evonas_conv_forward", grid, THREADS,
                join(new Object[] {ptr(x), ptr(w), bias == null ? NULL : ptr(bias), ptr(y)}, g.args()));
        return y;
    }

    private Tensor convBackwardInput(String op, Tensor dy, Tensor w, ConvSpec spec, Shape inputShape,
                                     boolean oneD) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(inputShape, "inputShape");
        Shape ys = convOutput(inputShape, w.shape(), spec, oneD);
        if (!ys.equals(dy.shape())) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must be " + ys + " for input "
                    + inputShape + " and weight " + w.shape());
        }
        Tensor dx = allocate(inputShape);
        if (dx.size() == 0) {
            return dx;
        }
        ConvGeometry g = ConvGeometry.of(inputShape, ys, w.dim(0), spec);
        LibraryHandles libs = libraries();
        if (libs != null && libs.convolves(g)) {
            libs.convBackwardData(g, address(w), address(dy), address(dx));
            return dx;
        }
        Dim3 grid = Dim3.of(ceilDiv((long) g.n() * g.h() * g.w(), LaunchShapes.CONV_TILE),
                ceilDiv(g.c(), LaunchShapes.CONV_TILE));
        launch(CONV, "evonas_conv_backward_data", grid, THREADS,
                join3(new Object[] {ptr(dy), ptr(w), ptr(dx)}, g.args(), 0f));
        return dx;
    }

    private void convBackwardWeights(String op, Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db,
                                     boolean accumulate, boolean oneD) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(dw, "dw");
        Shape ys = convOutput(x.shape(), dw.shape(), spec, oneD);
        if (!ys.equals(dy.shape())) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must be " + ys + " for input "
                    + x.shape() + " and weight " + dw.shape());
        }
        int oc = dw.dim(0);
        checkBias(op, "db", db, oc);
        float beta = accumulate ? 1f : 0f;
        ConvGeometry g = ConvGeometry.of(x.shape(), ys, oc, spec);
        int ckk = g.ckk();
        long count = (long) oc * ckk;
        LibraryHandles libs = libraries();
        if (count > 0 && libs != null && libs.convolves(g) && g.positions() > 0) {
            libs.convBackwardFilter(g, address(x), address(dy), address(dw), accumulate);
        } else if (count > 0) {
            int splits = LaunchShapes.convSplits(oc, ckk, g.positions(), device.multiprocessors());
            splits = (int) Math.max(1, Math.min(splits, Integer.MAX_VALUE / count));
            Dim3 tiles = Dim3.of(ceilDiv(ckk, LaunchShapes.CONV_TILE), ceilDiv(oc, LaunchShapes.CONV_TILE), splits);
            if (splits == 1) {
                launch(CONV, "evonas_conv_backward_weight", tiles, THREADS,
                        join3(new Object[] {ptr(x), ptr(dy), ptr(dw)}, g.args(), beta, 0L));
            } else {
                try (CudaStorage partials = device.allocate((int) (splits * count))) {
                    launch(CONV, "evonas_conv_backward_weight", tiles, THREADS,
                            join3(new Object[] {ptr(x), ptr(dy), partials}, g.args(), 0f, count));
                    launch(CONV, "evonas_conv_sum_partials", strideGrid(count), THREADS, partials, splits, count,
                            ptr(dw), beta);
                }
            }
        }
        if (db != null && oc > 0) {
            launch(CONV, "evonas_conv_backward_bias", Dim3.of(oc), THREADS, ptr(dy), ptr(db), g.n(), oc,
                    g.oh() * g.ow(), beta);
        }
    }

    private static void checkBias(String op, String name, Tensor bias, int oc) {
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != oc)) {
            throw new IllegalArgumentException(op + ": " + name + " " + bias.shape() + " must be [" + oc
                    + "], one per output channel");
        }
    }

    // ---------------------------------------------------------------- pooling

    /** The pooling kernels' geometry {@code planes, H, W, OH, OW, KH, KW, SH, SW, PT, PL} for input {@code x}. */
    private static Object[] poolArgs(String op, Shape x, PoolSpec spec) {
        requireRank4(op, x);
        int h = x.dim(2);
        int w = x.dim(3);
        return new Object[] {x.dim(0) * x.dim(1), h, w, spec.outHeight(h), spec.outWidth(w), spec.kh(), spec.kw(),
                spec.sh(), spec.sw(), spec.padTop(), spec.padLeft()};
    }

    private static Shape pooledShape(Shape x, PoolSpec spec) {
        return Shape.of(x.dim(0), x.dim(1), spec.outHeight(x.dim(2)), spec.outWidth(x.dim(3)));
    }

    private static void requireRank4(String op, Shape x) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException(op + ": input " + x + " must be [N, C, H, W]");
        }
    }

    private static void checkPooledGradient(String op, Tensor dy, Shape expected) {
        Objects.requireNonNull(dy, "dy");
        if (dy.size() != expected.size()) {
            throw new IllegalArgumentException(op + ": gradient " + dy.shape() + " must be " + expected);
        }
    }

    private DeviceIndices indices(String op, Indices argmax, int size) {
        Objects.requireNonNull(argmax, "argmax");
        if (!(argmax instanceof DeviceIndices d) || d.buffer().device() != device) {
            throw new IllegalArgumentException(op + ": indices " + argmax.getClass().getSimpleName()
                    + " were not made by the backend of " + device.name());
        }
        if (d.size() != size) {
            throw new IllegalArgumentException(op + ": " + d.size() + " indices for a gradient of " + size);
        }
        return d;
    }

    @Override
    public MaxPooled maxPool2d(Tensor x, PoolSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(spec, "spec");
        Object[] geo = poolArgs("maxPool2d", x.shape(), spec);
        Tensor y = allocate(pooledShape(x.shape(), spec));
        CudaStorage argmax = device.allocate(y.size());
        if (y.size() > 0) {
            launch(POOL, "evonas_pool_max_forward", strideGrid(y.size()), THREADS,
                    join(new Object[] {ptr(x), ptr(y), argmax}, geo));
        }
        return new MaxPooled(y, new DeviceIndices(argmax, y.size()));
    }

    @Override
    public Tensor maxPool2dBackward(Tensor dy, Indices argmax, PoolSpec spec, Shape inputShape) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(inputShape, "inputShape");
        Object[] geo = poolArgs("maxPool2dBackward", inputShape, spec);
        checkPooledGradient("maxPool2dBackward", dy, pooledShape(inputShape, spec));
        DeviceIndices idx = indices("maxPool2dBackward", argmax, dy.size());
        Tensor dx = allocate(inputShape);
        if (dx.size() > 0) {
            launch(POOL, "evonas_pool_max_backward", strideGrid(dx.size()), THREADS,
                    join(new Object[] {ptr(dy), idx.buffer(), ptr(dx)}, geo));
        }
        return dx;
    }

    @Override
    public Tensor meanPool2d(Tensor x, PoolSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(spec, "spec");
        Object[] geo = poolArgs("meanPool2d", x.shape(), spec);
        Tensor y = allocate(pooledShape(x.shape(), spec));
        if (y.size() > 0) {
            int twoByTwo = spec.equals(PoolSpec.of(2)) ? 1 : 0;
            launch(POOL, "evonas_pool_mean_forward", strideGrid(y.size()), THREADS,
                    join3(new Object[] {ptr(x), ptr(y)}, geo, twoByTwo));
        }
        return y;
    }

    @Override
    public Tensor meanPool2dBackward(Tensor dy, PoolSpec spec, Shape inputShape) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(inputShape, "inputShape");
        Object[] geo = poolArgs("meanPool2dBackward", inputShape, spec);
        checkPooledGradient("meanPool2dBackward", dy, pooledShape(inputShape, spec));
        Tensor dx = allocate(inputShape);
        if (dx.size() > 0) {
            launch(POOL, "evonas_pool_mean_backward", strideGrid(dx.size()), THREADS,
                    join(new Object[] {ptr(dy), ptr(dx)}, geo));
        }
        return dx;
    }

    @Override
    public MaxPooled globalMaxPool(Tensor x) {
        Objects.requireNonNull(x, "x");
        requireRank4("globalMaxPool", x.shape());
        int planes = x.dim(0) * x.dim(1);
        int hw = x.dim(2) * x.dim(3);
        requirePlane("globalMaxPool", x.shape(), hw);
        Tensor y = allocate(Shape.of(x.dim(0), x.dim(1), 1, 1));
        CudaStorage argmax = device.allocate(planes);
        if (planes > 0) {
            launch(POOL, "evonas_pool_global_max_forward", Dim3.of(planes), THREADS, ptr(x), ptr(y), argmax, planes,
                    hw);
        }
        return new MaxPooled(y, new DeviceIndices(argmax, planes));
    }

    @Override
    public Tensor globalMaxPoolBackward(Tensor dy, Indices argmax, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        requireRank4("globalMaxPoolBackward", inputShape);
        int planes = inputShape.dim(0) * inputShape.dim(1);
        int hw = inputShape.dim(2) * inputShape.dim(3);
        checkPooledGradient("globalMaxPoolBackward", dy, Shape.of(inputShape.dim(0), inputShape.dim(1), 1, 1));
        DeviceIndices idx = indices("globalMaxPoolBackward", argmax, planes);
        Tensor dx = allocate(inputShape);
        if (dx.size() > 0) {
            launch(POOL, "evonas_pool_global_max_backward", strideGrid(dx.size()), THREADS, ptr(dy), idx.buffer(),
                    ptr(dx), planes, hw);
        }
        return dx;
    }

    @Override
    public Tensor globalMeanPool(Tensor x) {
        Objects.requireNonNull(x, "x");
        requireRank4("globalMeanPool", x.shape());
        int planes = x.dim(0) * x.dim(1);
        int hw = x.dim(2) * x.dim(3);
        requirePlane("globalMeanPool", x.shape(), hw);
        Tensor y = allocate(Shape.of(x.dim(0), x.dim(1), 1, 1));
        if (planes > 0) {
            launch(POOL, "evonas_pool_global_mean_forward", Dim3.of(planes), THREADS, ptr(x), ptr(y), planes, hw);
        }
        return y;
    }

    @Override
    public Tensor globalMeanPoolBackward(Tensor dy, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        requireRank4("globalMeanPoolBackward", inputShape);
        int planes = inputShape.dim(0) * inputShape.dim(1);
        int hw = inputShape.dim(2) * inputShape.dim(3);
        checkPooledGradient("globalMeanPoolBackward", dy, Shape.of(inputShape.dim(0), inputShape.dim(1), 1, 1));
        Tensor dx = allocate(inputShape);
        if (dx.size() > 0) {
            launch(POOL, "evonas_pool_global_mean_backward", strideGrid(dx.size()), THREADS, ptr(dy), ptr(dx),
                    planes, hw);
        }
        return dx;
    }

    private static void requirePlane(String op, Shape x, int hw) {
        if (hw == 0) {
            throw new IllegalArgumentException(op + ": input " + x + " has empty planes");
        }
    }

    // ---------------------------------------------------------------- batch norm

    /** Batch norm's view of {@code x}: {@code [n, c, s]}. */
    private record BnGeometry(int n, int c, int s) {
        long m() {
            return (long) n * s;
        }
    }

    private static BnGeometry bnGeometry(String op, Tensor x) {
        Objects.requireNonNull(x, "x");
        if (x.rank() < 2) {
            throw new IllegalArgumentException(op + ": input " + x.shape()
                    + " must have a channel axis: [N, C], [N, C, L] or [N, C, H, W]");
        }
        return new BnGeometry(x.dim(0), x.dim(1), x.shape().sizeOf(2, x.rank()));
    }

    private static void checkChannel(String op, String name, Tensor t, Tensor x) {
        Objects.requireNonNull(t, name);
        int c = x.dim(1);
        if (t.rank() != 1 || t.dim(0) != c) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be [" + c
                    + "], one per channel of input " + x.shape());
        }
    }

    private static void checkLike(String op, String name, Tensor t, Tensor x) {
        Objects.requireNonNull(t, name);
        if (!t.shape().equals(x.shape())) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must have the shape of x "
                    + x.shape());
        }
    }

    @Override
    public BatchNormTraining batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                               Tensor runningVar, float momentum, float eps, boolean relu) {
        String op = "batchNorm";
        BnGeometry g = bnGeometry(op, x);
        checkChannel(op, "gamma", gamma, x);
        checkChannel(op, "beta", beta, x);
        checkChannel(op, "runningMean", runningMean, x);
        checkChannel(op, "runningVar", runningVar, x);
        checkEps(op, eps);
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(op + ": momentum " + momentum + " must be in [0, 1]");
        }
        if (g.m() < 2 && g.c() > 0) {
            throw new IllegalArgumentException(op + ": training needs more than one value per channel; input "
                    + x.shape() + " has " + g.m() + " (variance undefined)");
        }
        Tensor out = allocate(x.shape());
        Tensor mean = allocate(Shape.of(g.c()));
        Tensor invStd = allocate(Shape.of(g.c()));
        if (g.c() == 0) {
            return new BatchNormTraining(out, mean, invStd);
        }
        int chunks = LaunchShapes.batchNormChunks(g.c(), g.m(), device.multiprocessors());
        try (CudaStorage ws = device.allocate(4 * g.c() * chunks);
             CudaStorage coef = device.allocate(3 * g.c())) {
            launch(BATCHNORM, "evonas_batchnorm_stats_partial", Dim3.of(chunks, g.c()), THREADS, ptr(x), g.n(),
                    g.c(), g.s(), chunks, ws);
            launch(BATCHNORM, "evonas_batchnorm_stats_finalize", Dim3.of(ceilDiv(g.c(), THREADS)), THREADS, ws,
                    chunks, ptr(x), g.n(), g.c(), g.s(), momentum, eps, ptr(gamma), ptr(beta), ptr(runningMean),
                    ptr(runningVar), ptr(mean), ptr(invStd), coef);
            normalise(x, out, g, ptr(mean), coef, relu);
        }
        return new BatchNormTraining(out, mean, invStd);
    }

    /** {@code y = ((x - hi) - lo) * scale + shift} per channel, then ReLU in place when {@code relu}. */
    private void normalise(Tensor x, Tensor y, BnGeometry g, CUdeviceptr hi, CudaStorage coef, boolean relu) {
        long size = x.size();
        if (size == 0) {
            return;
        }
        launch(BATCHNORM, "evonas_batchnorm_normalise", strideGrid(size), THREADS, ptr(x), ptr(y), g.n(), g.c(),
                g.s(), hi, coef);
        if (relu) {
            launch(ELEMENTWISE, "evonas_elementwise_relu_forward", strideGrid(size), THREADS, ptr(y), ptr(y), size);
        }
    }

    private static void checkEps(String op, float eps) {
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(op + ": eps " + eps + " must be positive and finite");
        }
    }

    @Override
    public BatchNormGradients batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd,
                                                Tensor reluOutput) {
        String op = "batchNormBackward";
        BnGeometry g = bnGeometry(op, x);
        checkChannel(op, "mean", mean, x);
        checkChannel(op, "invStd", invStd, x);
        return bnBackward(op, x, dy, gamma, ptr(mean), ptr(invStd), reluOutput, true, g);
    }

    @Override
    public Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                     float eps, boolean relu) {
        String op = "batchNormInference";
        BnGeometry g = bnGeometry(op, x);
        checkChannel(op, "gamma", gamma, x);
        checkChannel(op, "beta", beta, x);
        checkChannel(op, "runningMean", runningMean, x);
        checkChannel(op, "runningVar", runningVar, x);
        checkEps(op, eps);
        Tensor out = allocate(x.shape());
        if (g.c() == 0 || x.size() == 0) {
            return out;
        }
        try (CudaStorage coef = device.allocate(3 * g.c())) {
            launch(BATCHNORM, "evonas_batchnorm_inference_coef", strideGrid(g.c()), THREADS, ptr(gamma), ptr(beta),
                    ptr(runningVar), eps, g.c(), coef);
            normalise(x, out, g, ptr(runningMean), coef, relu);
        }
        return out;
    }

    @Override
    public BatchNormGradients batchNormInferenceBackward(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                                         Tensor runningVar, float eps, Tensor reluOutput) {
        String op = "batchNormInferenceBackward";
        BnGeometry g = bnGeometry(op, x);
        checkChannel(op, "runningMean", runningMean, x);
        checkChannel(op, "runningVar", runningVar, x);
        checkEps(op, eps);
        try (CudaStorage invStd = device.allocate(g.c())) {
            if (g.c() > 0) {
                launch(BATCHNORM, "evonas_batchnorm_inv_std", strideGrid(g.c()), THREADS, ptr(runningVar), eps,
                        g.c(), invStd);
            }
            return bnBackward(op, x, dy, gamma, ptr(runningMean), invStd.pointer(), reluOutput, false, g);
        }
    }

    private BatchNormGradients bnBackward(String op, Tensor x, Tensor dy, Tensor gamma, CUdeviceptr mean,
                                          CUdeviceptr invStd, Tensor reluOutput, boolean training, BnGeometry g) {
        checkLike(op, "dy", dy, x);
        checkChannel(op, "gamma", gamma, x);
        Tensor dx = allocate(x.shape());
        Tensor dgamma = allocate(Shape.of(g.c()));
        Tensor dbeta = allocate(Shape.of(g.c()));
        if (g.c() == 0) {
            return new BatchNormGradients(dx, dgamma, dbeta);
        }
        Tensor gy = dy;
        if (reluOutput != null) {
            checkLike(op, "reluOutput", reluOutput, x);
            gy = allocate(x.shape());
            if (x.size() > 0) {
                launch(ELEMENTWISE, "evonas_elementwise_relu_backward", strideGrid(x.size()), THREADS,
                        ptr(reluOutput), ptr(dy), ptr(gy), (long) x.size());
            }
        }
        int chunks = LaunchShapes.batchNormChunks(g.c(), g.m(), device.multiprocessors());
        try (CudaStorage ws = device.allocate(4 * g.c() * chunks);
             CudaStorage coef = device.allocate(3 * g.c())) {
            launch(BATCHNORM, "evonas_batchnorm_backward_partial", Dim3.of(chunks, g.c()), THREADS, ptr(x), ptr(gy),
                    mean, g.n(), g.c(), g.s(), chunks, ws);
            launch(BATCHNORM, "evonas_batchnorm_backward_finalize", Dim3.of(ceilDiv(g.c(), THREADS)), THREADS, ws,
                    chunks, g.n(), g.c(), g.s(), ptr(gamma), invStd, training ? 1 : 0, ptr(dgamma), ptr(dbeta),
                    coef);
            if (x.size() > 0) {
                launch(BATCHNORM, "evonas_batchnorm_backward_dx", strideGrid(x.size()), THREADS, ptr(x), ptr(gy),
                        ptr(dx), mean, coef, g.n(), g.c(), g.s());
            }
        }
        return new BatchNormGradients(dx, dgamma, dbeta);
    }

    // ---------------------------------------------------------------- dropout

    @Override
    public Dropped dropout(Tensor x, double p, RandomGenerator rng) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(rng, "rng");
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: probability " + p + " must be in [0, 1) for input "
                    + x.shape());
        }
        Tensor out = allocate(x.shape());
        Tensor mask = allocate(x.shape());
        long n = x.size();
        if (n == 0) {
            return new Dropped(out, mask);
        }
        if (p == 0) {
            launch(ELEMENTWISE, "evonas_elementwise_fill", strideGrid(n), THREADS, ptr(mask), 1f, n);
            copy(x, out);
            return new Dropped(out, mask);
        }
        long threshold = (long) Math.ceil(p * 0x1p32);
        float scale = (float) (1 / (1 - p));
        try (CudaStorage bits = upload(dropoutBits(rng, x.size()))) {
            launch(ELEMENTWISE, "evonas_elementwise_dropout_bits", strideGrid(n), THREADS, ptr(x), bits, threshold,
                    scale, ptr(out), ptr(mask), n);
        }
        return new Dropped(out, mask);
    }

    /**
     * The CPU's draws for dropout of {@code n} elements: {@code bits[2j]} the low and {@code bits[2j + 1]} the high
     * 32 bits of the j-th {@code nextLong()}, and one more {@code nextLong()}'s low bits for an odd last element.
     */
    static int[] dropoutBits(RandomGenerator rng, int n) {
        int[] bits = new int[n];
        int i = 0;
        for (; i + 1 < n; i += 2) {
            long r = rng.nextLong();
            bits[i] = (int) r;
            bits[i + 1] = (int) (r >>> 32);
        }
        if (i < n) {
            bits[i] = (int) rng.nextLong();
        }
        return bits;
    }

    @Override
    public Tensor dropoutBackward(Tensor dy, Tensor mask) {
        Objects.requireNonNull(dy, "dy");
        checkLike("dropoutBackward", "mask", mask, dy);
        Tensor dx = allocate(dy.shape());
        long n = dy.size();
        if (n > 0) {
            launch(ELEMENTWISE, "evonas_elementwise_dropout_backward", strideGrid(n), THREADS, ptr(dy), ptr(mask),
                    ptr(dx), n);
        }
        return dx;
    }

    // ---------------------------------------------------------------- losses

    private static void checkLogits(String op, Tensor logits) {
        Objects.requireNonNull(logits, "logits");
        if (logits.rank() != 2) {
            throw new IllegalArgumentException(op + ": logits " + logits.shape() + " must be [N, C]");
        }
    }

    private static void checkLabels(String op, Tensor logits, int[] labels) {
        checkLogits(op, logits);
        Objects.requireNonNull(labels, "labels");
        int n = logits.dim(0);
        int c = logits.dim(1);
        if (labels.length != n) {
            throw new IllegalArgumentException(op + ": " + labels.length + " labels for logits " + logits.shape());
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= c) {
                throw new IllegalArgumentException(op + ": label " + labels[i] + " of row " + i
                        + " is outside [0, " + c + ")");
            }
        }
    }

    @Override
    public Tensor crossEntropy(Tensor logits, int[] labels) {
        checkLabels("crossEntropy", logits, labels);
        try (CudaStorage lab = upload(labels)) {
            return crossEntropyForward("labels", logits, lab);
        }
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor targets) {
        checkLogits("crossEntropy", logits);
        checkLike("crossEntropy", "targets", targets, logits);
        return crossEntropyForward("targets", logits, ptr(targets));
    }

    private Tensor crossEntropyForward(String kind, Tensor logits, Object target) {
        int n = logits.dim(0);
        int c = logits.dim(1);
        Tensor out = allocate(Shape.of());
        try (CudaStorage rowLoss = device.allocate(2 * n)) {
            if (n > 0) {
                launch(LOSS, "evonas_loss_cross_entropy_" + kind + "_forward", lossGrid(n), THREADS, ptr(logits),
                        target, rowLoss, n, c);
            }
            launch(LOSS, "evonas_loss_reduce", Dim3.of(1), THREADS, rowLoss, n, 1, ptr(out), NULL);
        }
        return out;
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, int[] labels, Tensor dLoss) {
        checkLabels("crossEntropyBackward", logits, labels);
        try (CudaStorage lab = upload(labels)) {
            return crossEntropyGradient("labels", logits, lab, dLoss);
        }
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dLoss) {
        checkLogits("crossEntropyBackward", logits);
        checkLike("crossEntropyBackward", "targets", targets, logits);
        return crossEntropyGradient("targets", logits, ptr(targets), dLoss);
    }

    /** The gradient kernel takes {@code dLoss} by value: read from the device, as the CPU reads it. */
    private Tensor crossEntropyGradient(String kind, Tensor logits, Object target, Tensor dLoss) {
        Objects.requireNonNull(dLoss, "dLoss");
        float scale = dLoss.item();
        int n = logits.dim(0);
        int c = logits.dim(1);
        Tensor dx = allocate(logits.shape());
        if (n > 0 && c > 0) {
            launch(LOSS, "evonas_loss_cross_entropy_" + kind + "_backward", lossGrid(n), THREADS, ptr(logits),
                    target, ptr(dx), n, c, scale, 1);
        }
        return dx;
    }

    private static Dim3 lossGrid(int rows) {
        return Dim3.of(Math.max(1, Math.min(ceilDiv(rows, LaunchShapes.LOSS_ROWS_PER_BLOCK),
                LaunchShapes.MAX_STRIDE_BLOCKS)));
    }

    // ---------------------------------------------------------------- optimiser steps

    private static void checkState(String op, Tensor g, Tensor... state) {
        Objects.requireNonNull(g, "g");
        for (Tensor t : state) {
            if (t != null && t.size() != g.size()) {
                throw new IllegalArgumentException(op + ": state " + t.shape() + " does not match gradient "
                        + g.shape());
            }
        }
    }

    @Override
    public void momentumStep(Tensor g, Tensor buffer, Tensor out, float lr, float mu, boolean nesterov,
                             boolean apply) {
        checkState("momentumStep", g, Objects.requireNonNull(buffer, "buffer"), Objects.requireNonNull(out, "out"));
        long n = g.size();
        if (n > 0) {
            launch(OPTIMISER, nesterov ? "evonas_optimiser_nesterov" : "evonas_optimiser_momentum", strideGrid(n),
                    THREADS, ptr(out), ptr(g), ptr(buffer), n, (double) lr, (double) mu, apply ? 1 : 0);
        }
    }

    @Override
    public void adaGradStep(Tensor g, Tensor sum, Tensor out, float lr, float eps, boolean apply) {
        checkState("adaGradStep", g, Objects.requireNonNull(sum, "sum"), Objects.requireNonNull(out, "out"));
        long n = g.size();
        if (n > 0) {
            launch(OPTIMISER, "evonas_optimiser_adagrad", strideGrid(n), THREADS, ptr(out), ptr(g), ptr(sum), n,
                    (double) lr, (double) eps, apply ? 1 : 0);
        }
    }

    @Override
    public void adamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor p, Tensor out, double lr, double beta1,
                         double beta2, double eps, double weightDecay, boolean apply) {
        checkState("adamStep", g, Objects.requireNonNull(m, "m"), Objects.requireNonNull(v, "v"),
                Objects.requireNonNull(steps, "steps"), p, Objects.requireNonNull(out, "out"));
        long n = g.size();
        if (n == 0) {
            return;
        }
        // apply: the value is out; else out is g and the value is p, which only the decoupled decay reads
        CUdeviceptr value = apply || p == null ? ptr(out) : ptr(p);
        if (weightDecay == 0) {
            launch(OPTIMISER, "evonas_optimiser_adam", strideGrid(n), THREADS, value, ptr(g), ptr(m), ptr(v),
                    ptr(steps), n, lr, beta1, beta2, eps, apply ? 1 : 0);
        } else {
            Objects.requireNonNull(p, "p");
            launch(OPTIMISER, "evonas_optimiser_adamw", strideGrid(n), THREADS, value, ptr(g), ptr(m), ptr(v),
                    ptr(steps), n, lr, beta1, beta2, eps, weightDecay, apply ? 1 : 0);
        }
    }

    @Override
    public void nAdamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor muProducts, Tensor out, double lr,
                          double beta1, double beta2, double eps, double momentumDecay, boolean apply) {
        checkState("nAdamStep", g, Objects.requireNonNull(m, "m"), Objects.requireNonNull(v, "v"),
                Objects.requireNonNull(steps, "steps"), Objects.requireNonNull(muProducts, "muProducts"),
                Objects.requireNonNull(out, "out"));
        long n = g.size();
        if (n > 0) {
            launch(OPTIMISER, "evonas_optimiser_nadam", strideGrid(n), THREADS, ptr(out), ptr(g), ptr(m), ptr(v),
                    ptr(steps), ptr(muProducts), n, lr, beta1, beta2, eps, momentumDecay, apply ? 1 : 0);
        }
    }

    @Override
    public void rmsPropStep(Tensor g, Tensor square, Tensor gradAvg, Tensor buffer, Tensor out, double lr,
                            double alpha, double eps, double momentum, boolean apply) {
        checkState("rmsPropStep", g, Objects.requireNonNull(square, "square"), gradAvg, buffer,
                Objects.requireNonNull(out, "out"));
        if (buffer != null && !(momentum > 0)) {
            throw new IllegalArgumentException("rmsPropStep: a momentum buffer needs momentum > 0, got " + momentum);
        }
        long n = g.size();
        if (n > 0) {
            // the square sum stands in for state this configuration does not keep; the kernel never touches it
            launch(OPTIMISER, "evonas_optimiser_rmsprop", strideGrid(n), THREADS, ptr(out), ptr(g), ptr(square),
                    gradAvg == null ? ptr(square) : ptr(gradAvg), buffer == null ? ptr(square) : ptr(buffer), n, lr,
                    alpha, eps, buffer == null ? 0.0 : momentum, gradAvg == null ? 0 : 1, apply ? 1 : 0);
        }
    }

    /** {@code Σ x · 0}: 0 when every element is finite, NaN otherwise; one synchronising read. */
    @Override
    public boolean allFinite(Tensor t) {
        Objects.requireNonNull(t, "t");
        long n = t.size();
        if (n == 0) {
            return true;
        }
        Tensor zeros = scalar("allFinite", "mul_scalar", t, 0f, null);
        return sumAll(zeros).item() == 0f;
    }

    // ---------------------------------------------------------------- plumbing

    /** Zeroed device memory for {@code shape}. */
    private Tensor allocate(Shape shape) {
        return Tensor.zeros(shape, device);
    }

    /** {@code dst = src} (same size), on the device. */
    private Tensor copy(Tensor src, Tensor dst) {
        long n = src.size();
        if (n > 0) {
            launch(ELEMENTWISE, "evonas_elementwise_copy", strideGrid(n), THREADS, ptr(src), ptr(dst), n);
        }
        return dst;
    }

    /** The device pointer of {@code t}'s first element. */
    private CUdeviceptr ptr(Tensor t) {
        return ptr(t, 0);
    }

    /** The device address of {@code t}'s first element, for cuBLAS and cuDNN. */
    private long address(Tensor t) {
        return storage(t).address() + 4L * t.offset();
    }

    /** {@code t}'s storage, which must be on this device. */
    private CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s) || s.device() != device) {
            throw new IllegalArgumentException(device.name() + ": tensor " + t.shape() + " lives on "
                    + t.device().name() + "; move it with Tensor.to");
        }
        return s;
    }

    /** The device pointer of {@code t}'s element {@code plus}. */
    private CUdeviceptr ptr(Tensor t, long plus) {
        CudaStorage s = storage(t);
        long offset = t.offset() + plus;
        return offset == 0 ? s.pointer() : s.pointer().withByteOffset(4L * offset);
    }

    /** Device ints: a storage of {@code values.length} 4-byte elements holding {@code values}' bits. */
    private CudaStorage upload(int[] values) {
        CudaStorage s = device.allocate(values.length);
        if (values.length > 0) {
            device.makeCurrent();
            Cuda.check(JCudaDriver.cuMemcpyHtoD(s.pointer(), Pointer.to(values), 4L * values.length),
                    device.name() + ": cuMemcpyHtoD(" + values.length + " ints)");
        }
        return s;
    }

    private void launch(String module, String kernel, Dim3 grid, int threads, Object... args) {
        launch(module, kernel, grid, Dim3.of(threads), args);
    }

    private void launch(String module, String kernel, Dim3 grid, Dim3 block, Object... args) {
        CudaModules modules = device.modules();
        modules.launch(modules.function(module, kernel), grid, block, 0, args);
    }

    /** {@code head}, then {@code tail}, as one argument list. */
    static Object[] join(Object[] head, Object... tail) {
        Object[] r = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, r, head.length, tail.length);
        return r;
    }

    /** {@code head}, then {@code middle}, then {@code tail}, as one argument list. */
    private static Object[] join3(Object[] head, Object[] middle, Object... tail) {
        return join(join(head, middle), tail);
    }

    private static int product(int[] d, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) {
            p *= d[i];
        }
        return p;
    }

    /**
     * Rejects {@code out} overlapping {@code in} unless both are exactly the same elements, which the elementwise
     * kernels handle.
     */
    private static void checkAlias(String op, String outName, Tensor out, String name, Tensor in) {
        if (out.storage() != in.storage() || out.size() == 0 || in.size() == 0) {
            return;
        }
        int o0 = out.offset();
        int i0 = in.offset();
        if (o0 + out.size() <= i0 || i0 + in.size() <= o0 || o0 == i0 && out.size() == in.size()) {
            return;
        }
        throw new IllegalArgumentException(op + ": " + outName + " " + out.shape() + " overlaps " + name + " "
                + in.shape() + " without being the same elements");
    }

    @Override
    public String toString() {
        return device.name() + " backend";
    }
}
