package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2D pooling over NCHW images, forward and backward: max and mean pooling with a {@link PoolSpec} window, and
 * global max and mean pooling over the whole {@code H × W} plane. Each {@code (n, c)} plane is pooled on its
 * own; large tensors are split over planes with {@link Parallel}.
 *
 * <p><b>Max pooling</b> {@code y[n,c,oy,ox] = max over the window of x[n,c,iy,ix]}, the window being rows
 * {@code oy*sh - padTop + [0, kh)} and columns {@code ox*sw - padLeft + [0, kw)}. Padding positions never win
 * (they count as {@code -inf}; a {@link PoolSpec} guarantees a real element in every window). The winner is the
 * first maximum in row-major window order, except that a NaN in the window wins and propagates (PyTorch's rule
 * {@code v > best || isnan(v)}, so of several NaNs the last). The winner's index in its input plane,
 * {@code iy * W + ix}, is recorded per output element in {@code argmax} (PyTorch's {@code return_indices}); the
 * backward pass scatter-adds {@code dy} there, so overlapping windows accumulate:
 * {@code dx[n,c,i] = sum of dy[n,c,o] over outputs o with argmax[n,c,o] == i}.
 *
 * <p><b>Mean pooling</b> {@code y = (sum of the real elements in the window) / (kh * kw)}: the divisor is the
 * full window size, padding included (PyTorch's {@code count_include_pad=True}, and Flux's {@code MeanPool}),
 * so padding acts as zeros. Backward: {@code dx[i] = sum over windows o containing i of dy[o] / (kh * kw)}.
 *
 * <p><b>Global pooling</b> reduces each {@code H × W} plane to one value: output {@code [N, C, 1, 1]} (as ONNX
 * {@code GlobalAveragePool} and PyTorch {@code AdaptiveAvgPool2d(1)}); {@code reshape(N, C)} is a free view for
 * a dense layer. The {@code out} and {@code dy} arguments of the global kernels may also be {@code [N, C]}.
 *
 * <p>Speed: the common 2×2 stride-2 unpadded window has fast paths: max (with and without indices) and mean
 * split one vector of each input row into even and odd columns, and its mean backward writes each quarter
 * directly. Other windows with column stride 1 or 2 compute a vector of outputs at a time wherever their windows
 * lie inside the row, and one output at a time near the left and right borders; other strides, and the
 * backward passes' scatter, are scalar. Global pools reduce planes with vectors. The vector and scalar paths
 * pick the same winners. Measured on 2 shared Xeon cores, one thread, x [64, 32, 32, 32]: max 2×2 with indices
 * ~1 ms (scalar: ~12 ms), max 3×3 stride 2 pad 1 with indices ~6 ms (scalar: ~25 ms).
 *
 * <p>Shapes: {@code x, dx: [N, C, H, W]}; {@code y, dy: [N, C, outH, outW]} with sizes from
 * {@link PoolSpec#outputShape}; {@code argmax: int[N * C * outH * outW]}. Kernels that take an {@code out}
 * overwrite it completely and return it; {@code out} must not share storage with an input.
 *
 * <pre>{@code
 * Tensor x = Tensor.normal(rng, 0, 1, 8, 16, 28, 28);
 * Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, PoolSpec.of(2));        // output [8, 16, 14, 14]
 * Tensor dx = Pool2d.maxPoolBackward(dy, p.argmax(), PoolSpec.of(2), x.shape());
 * Tensor g = Pool2d.globalMeanPool(x).reshape(8, 16);                        // [8, 16]
 * }</pre>
 */
public final class Pool2d {
    /** Max pooling's output and, per output element, its winner's index {@code iy * W + ix} in its plane. */
    public record MaxPooled(Tensor output, int[] argmax) {
        public MaxPooled {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(argmax, "argmax");
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int VL = F.length();
    /** Ints in half a vector of {@link #F}: one per 2×2 window of a vector step. */
    private static final VectorSpecies<Integer> IH =
            VectorSpecies.of(int.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int HALF = IH.length();
    /** Floats in half a vector of {@link #F}. */
    private static final VectorSpecies<Float> FH = IH.withLanes(float.class);
    /** Ints in a vector of {@link #F}. */
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** {@code 0, 1, 2, ...}: column offsets of a stride-1 vector step. */
    private static final IntVector IOTA = IntVector.zero(I).addIndex(1);
    /** {@code 0, 2, 4, ...}: column offsets of a stride-2 vector step. */
    private static final IntVector TWICE = IntVector.zero(IH).addIndex(2);
    /** A vector's worth of outputs and their indices, for a row's last partial step. */
    private static final ThreadLocal<float[]> TAIL = ThreadLocal.withInitial(() -> new float[VL]);
    private static final ThreadLocal<int[]> TAIL_INDICES = ThreadLocal.withInitial(() -> new int[VL]);
    /** One thread's pooled plane of narrow rows ({@link #maxPlane2x2}). */
    private static final ThreadLocal<PlaneScratch> PLANE = ThreadLocal.withInitial(PlaneScratch::new);
    /** Lane selections of the even ({@code 0, 2, 4, ...}) and odd columns of two concatenated vectors. */
    private static final FloatVector EVEN_LANES;
    private static final FloatVector ODD_LANES;
    /** {@code 0, 2, 4, ...} over a whole vector: column offsets of a wide 2×2 step. */
    private static final IntVector TWICE_FULL = IntVector.zero(I).addIndex(2);

    static {
        float[] even = new float[VL];
        float[] odd = new float[VL];
        for (int l = 0; l < VL; l++) {
            even[l] = 2 * l;
            odd[l] = 2 * l + 1;
        }
        EVEN_LANES = FloatVector.fromArray(F, even, 0);
        ODD_LANES = FloatVector.fromArray(F, odd, 0);
    }
    /** The window with fast paths. */
    static final PoolSpec TWO_BY_TWO = PoolSpec.of(2);
    /** Input elements per parallel part at least, so that small tensors stay on the calling thread. */
    private static final int PARALLEL_WORK = 1 << 15;
    /** Plane elements summed in float lanes before the partial sum is added in double. */
    private static final int SUM_BLOCK = 1024;

    private Pool2d() {
    }

    // ---------------------------------------------------------------- max pooling

    /** Max pooling of {@code x [N, C, H, W]} into a new {@code [N, C, outH, outW]} tensor (no indices). */
    public static Tensor maxPool(Tensor x, PoolSpec spec) {
        return maxPool(x, spec, Tensor.zeros(outputShape("maxPool", x, spec)));
    }

    /** Max pooling into a new tensor, with the winners' indices for {@link #maxPoolBackward}. */
    public static MaxPooled maxPoolWithIndices(Tensor x, PoolSpec spec) {
        Tensor out = Tensor.zeros(outputShape("maxPool", x, spec));
        int[] argmax = new int[out.size()];
        maxPool(x, spec, out, argmax);
        return new MaxPooled(out, argmax);
    }

    /** Max pooling of {@code x} into {@code out [N, C, outH, outW]}; returns {@code out}. */
    public static Tensor maxPool(Tensor x, PoolSpec spec, Tensor out) {
        checkPool("maxPool", x, spec, out);
        maxPoolUnchecked(x, spec, out, null);
        return out;
    }

    /**
     * Max pooling of {@code x} into {@code out}, writing each output's winner index {@code iy * W + ix} into
     * {@code argmax} (length {@code out.size()}); returns {@code out}.
     */
    public static Tensor maxPool(Tensor x, PoolSpec spec, Tensor out, int[] argmax) {
        checkPool("maxPool", x, spec, out);
        checkIndices("maxPool", argmax, out);
        maxPoolUnchecked(x, spec, out, argmax);
        return out;
    }

    /** Gradient of max pooling into a new tensor of {@code inputShape}; see the class comment. */
    public static Tensor maxPoolBackward(Tensor dy, int[] argmax, PoolSpec spec, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return maxPoolBackward(dy, argmax, spec, Tensor.zeros(inputShape));
    }

    /**
     * Gradient of max pooling: overwrites {@code dx [N, C, H, W]} with {@code dy [N, C, outH, outW]} scatter-added
     * at the forward pass's {@code argmax}; returns {@code dx}.
     */
    public static Tensor maxPoolBackward(Tensor dy, int[] argmax, PoolSpec spec, Tensor dx) {
        checkPool("maxPoolBackward", dx, spec, dy);
        checkIndices("maxPoolBackward", argmax, dy);
        checkIndexRange("maxPoolBackward", argmax, dx);
        scatterUnchecked(dy, argmax, dx);
        return dx;
    }

    // ---------------------------------------------------------------- mean pooling

    /** Mean pooling (divisor {@code kh * kw}, padding included) into a new tensor. */
    public static Tensor meanPool(Tensor x, PoolSpec spec) {
        return meanPool(x, spec, Tensor.zeros(outputShape("meanPool", x, spec)));
    }

    /** Mean pooling of {@code x} into {@code out [N, C, outH, outW]}; returns {@code out}. */
    public static Tensor meanPool(Tensor x, PoolSpec spec, Tensor out) {
        checkPool("meanPool", x, spec, out);
        int h = x.dim(2);
        int w = x.dim(3);
        int oh = out.dim(2);
        int ow = out.dim(3);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        boolean twoByTwo = spec.equals(TWO_BY_TWO);
        Parallel.forRange(x.dim(0) * x.dim(1), grain(h * w), (from, to) -> {
            for (int p = from; p < to; p++) {
                if (twoByTwo) {
                    meanPlane2x2(xd, xo + p * h * w, w, yd, yo + p * oh * ow, oh, ow);
                } else {
                    meanPlane(xd, xo + p * h * w, h, w, yd, yo + p * oh * ow, oh, ow, spec);
                }
            }
        });
        return out;
    }

    /** Gradient of mean pooling into a new tensor of {@code inputShape}. */
    public static Tensor meanPoolBackward(Tensor dy, PoolSpec spec, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return meanPoolBackward(dy, spec, Tensor.zeros(inputShape));
    }

    /**
     * Gradient of mean pooling: overwrites {@code dx [N, C, H, W]} with {@code dy[o] / (kh * kw)} summed over the
     * windows {@code o} holding each element; returns {@code dx}.
     */
    public static Tensor meanPoolBackward(Tensor dy, PoolSpec spec, Tensor dx) {
        checkPool("meanPoolBackward", dx, spec, dy);
        int h = dx.dim(2);
        int w = dx.dim(3);
        int oh = dy.dim(2);
        int ow = dy.dim(3);
        float[] gy = dy.data();
        float[] gx = dx.data();
        int yo = dy.offset();
        int xo = dx.offset();
        boolean twoByTwo = spec.equals(TWO_BY_TWO);
        Parallel.forRange(dx.dim(0) * dx.dim(1), grain(h * w), (from, to) -> {
            for (int p = from; p < to; p++) {
                if (twoByTwo) {
                    meanPlane2x2Backward(gy, yo + p * oh * ow, oh, ow, gx, xo + p * h * w, h, w);
                } else {
                    meanPlaneBackward(gy, yo + p * oh * ow, oh, ow, gx, xo + p * h * w, h, w, spec);
                }
            }
        });
        return dx;
    }

    // ---------------------------------------------------------------- global pooling

    /** The maximum of each {@code H × W} plane of {@code x [N, C, H, W]}, as a new {@code [N, C, 1, 1]}. */
    public static Tensor globalMaxPool(Tensor x) {
        return globalMaxPool(x, Tensor.zeros(globalShape("globalMaxPool", x)));
    }

    /** Global max pooling into a new {@code [N, C, 1, 1]}, with the winners' indices {@code iy * W + ix}. */
    public static MaxPooled globalMaxPoolWithIndices(Tensor x) {
        Tensor out = Tensor.zeros(globalShape("globalMaxPool", x));
        int[] argmax = new int[out.size()];
        globalMaxPool(x, out, argmax);
        return new MaxPooled(out, argmax);
    }

    /** Global max pooling of {@code x} into {@code out [N, C, 1, 1]} (or {@code [N, C]}); returns {@code out}. */
    public static Tensor globalMaxPool(Tensor x, Tensor out) {
        checkGlobal("globalMaxPool", x, out, "out");
        int hw = x.dim(2) * x.dim(3);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        Parallel.forRange(out.size(), grain(hw), (from, to) -> {
            for (int p = from; p < to; p++) {
                yd[yo + p] = maxOf(xd, xo + p * hw, hw);
            }
        });
        return out;
    }

    /**
     * Global max pooling of {@code x} into {@code out [N, C, 1, 1]} (or {@code [N, C]}), writing each plane's
     * winner index into {@code argmax} (length {@code N * C}); returns {@code out}.
     */
    public static Tensor globalMaxPool(Tensor x, Tensor out, int[] argmax) {
        checkGlobal("globalMaxPool", x, out, "out");
        checkIndices("globalMaxPool", argmax, out);
        int hw = x.dim(2) * x.dim(3);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        Parallel.forRange(out.size(), grain(hw), (from, to) -> {
            for (int p = from; p < to; p++) {
                int base = xo + p * hw;
                float best = xd[base];
                int bi = 0;
                for (int i = 1; i < hw; i++) {
                    float v = xd[base + i];
                    boolean take = v > best || v != v;
                    best = take ? v : best;
                    bi = take ? i : bi;
                }
                yd[yo + p] = best;
                argmax[p] = bi;
            }
        });
        return out;
    }

    /** Gradient of global max pooling into a new tensor of {@code inputShape}. */
    public static Tensor globalMaxPoolBackward(Tensor dy, int[] argmax, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return globalMaxPoolBackward(dy, argmax, Tensor.zeros(inputShape));
    }

    /**
     * Gradient of global max pooling: overwrites {@code dx [N, C, H, W]} with zeros and {@code dy[n, c]} at each
     * plane's {@code argmax}; {@code dy} is {@code [N, C, 1, 1]} or {@code [N, C]}. Returns {@code dx}.
     */
    public static Tensor globalMaxPoolBackward(Tensor dy, int[] argmax, Tensor dx) {
        checkGlobal("globalMaxPoolBackward", dx, dy, "dy");
        checkIndices("globalMaxPoolBackward", argmax, dy);
        checkIndexRange("globalMaxPoolBackward", argmax, dx);
        scatterUnchecked(dy, argmax, dx);
        return dx;
    }

    /** The mean of each {@code H × W} plane of {@code x [N, C, H, W]}, as a new {@code [N, C, 1, 1]}. */
    public static Tensor globalMeanPool(Tensor x) {
        return globalMeanPool(x, Tensor.zeros(globalShape("globalMeanPool", x)));
    }

    /**
     * Global mean pooling of {@code x} into {@code out [N, C, 1, 1]} (or {@code [N, C]}); each plane is summed in
     * float vector lanes over blocks of {@value #SUM_BLOCK} elements, the blocks in double. Returns {@code out}.
     */
    public static Tensor globalMeanPool(Tensor x, Tensor out) {
        checkGlobal("globalMeanPool", x, out, "out");
        int hw = x.dim(2) * x.dim(3);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        Parallel.forRange(out.size(), grain(hw), (from, to) -> {
            for (int p = from; p < to; p++) {
                yd[yo + p] = (float) (sumOf(xd, xo + p * hw, hw) / hw);
            }
        });
        return out;
    }

    /** Gradient of global mean pooling into a new tensor of {@code inputShape}. */
    public static Tensor globalMeanPoolBackward(Tensor dy, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return globalMeanPoolBackward(dy, Tensor.zeros(inputShape));
    }

    /**
     * Gradient of global mean pooling: overwrites each plane of {@code dx [N, C, H, W]} with
     * {@code dy[n, c] / (H * W)}; {@code dy} is {@code [N, C, 1, 1]} or {@code [N, C]}. Returns {@code dx}.
     */
    public static Tensor globalMeanPoolBackward(Tensor dy, Tensor dx) {
        checkGlobal("globalMeanPoolBackward", dx, dy, "dy");
        int hw = dx.dim(2) * dx.dim(3);
        float[] gy = dy.data();
        float[] gx = dx.data();
        int yo = dy.offset();
        int xo = dx.offset();
        Parallel.forRange(dy.size(), grain(hw), (from, to) -> {
            for (int p = from; p < to; p++) {
                Arrays.fill(gx, xo + p * hw, xo + (p + 1) * hw, gy[yo + p] / hw);
            }
        });
        return dx;
    }

    // ---------------------------------------------------------------- plane kernels

    private static void maxPoolUnchecked(Tensor x, PoolSpec spec, Tensor out, int[] argmax) {
        int h = x.dim(2);
        int w = x.dim(3);
        int oh = out.dim(2);
        int ow = out.dim(3);
        float[] xd = x.data();
        float[] yd = out.data();
        int xo = x.offset();
        int yo = out.offset();
        boolean twoByTwo = spec.equals(TWO_BY_TWO);
        Parallel.forRange(x.dim(0) * x.dim(1), grain(h * w), (from, to) -> {
            for (int p = from; p < to; p++) {
                if (twoByTwo) {
                    maxPlane2x2(xd, xo + p * h * w, w, yd, yo + p * oh * ow, oh, ow, argmax, p * oh * ow);
                } else {
                    maxPlane(xd, xo + p * h * w, h, w, yd, yo + p * oh * ow, oh, ow, argmax, p * oh * ow, spec);
                }
            }
        });
    }

    /**
     * Any window: the winner over the window clipped to the plane (padding never wins). With column stride 1 or 2,
     * runs of outputs whose windows lie inside the row go in vector steps ({@link #maxStep1}, {@link #maxStep2});
     * the other outputs, and other strides, go one at a time ({@link #maxOutput}).
     */
    private static void maxPlane(float[] x, int xb, int h, int w, float[] y, int yb, int oh, int ow,
                                 int[] arg, int ab, PoolSpec s) {
        int sw = s.sw();
        int pl = s.padLeft();
        int kw = s.kw();
        int firstInside = Math.min(ow, (pl + sw - 1) / sw);
        int lastStep = lastVectorStep(sw, pl, kw, w, ow);
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * s.sh() - s.padTop();
            int ys = Math.max(y0, 0);
            int ye = Math.min(y0 + s.kh(), h);
            int yr = yb + oy * ow;
            int ar = ab + oy * ow;
            int ox = 0;
            for (; ox < firstInside; ox++) {
                maxOutput(x, xb, w, ys, ye, ox * sw - pl, kw, y, yr + ox, arg, ar + ox);
            }
            if (lastStep >= firstInside) {
                int lanes = sw == 1 ? VL : HALF;
                for (int start = ox; ; start = Math.min(start + lanes, lastStep)) {
                    if (sw == 1) {
                        maxStep1(x, xb, w, ys, ye, start - pl, kw, y, yr + start, arg, ar + start);
                    } else {
                        maxStep2(x, xb, w, ys, ye, 2 * start - pl, kw, y, yr + start, arg, ar + start);
                    }
                    if (start == lastStep) {
                        break;
                    }
                }
                ox = lastStep + lanes;
            }
            for (; ox < ow; ox++) {
                maxOutput(x, xb, w, ys, ye, ox * sw - pl, kw, y, yr + ox, arg, ar + ox);
            }
        }
    }

    /**
     * The last output column at which a vector step of column stride {@code sw} (1 or 2) fits: its outputs exist
     * and its loads stay inside the row. Steps run from the first output whose window starts inside the row
     * ({@code firstInside}) in strides of the lane count, the last one moved back to end here (recomputing a few
     * outputs). Below {@code firstInside}, or for other strides, there is no vector step.
     */
    private static int lastVectorStep(int sw, int pl, int kw, int w, int ow) {
        if (sw == 1) {
            return Math.min(ow - VL, w - VL - kw + 1 + pl);
        }
        if (sw == 2) {
            return Math.min(ow - HALF, Math.floorDiv(w - VL - kw + 1 + pl, 2));
        }
        return -1;
    }

    /** One output: the window's rows {@code [ys, ye)}, columns {@code [x0, x0 + kw)} clipped to the row. */
    private static void maxOutput(float[] x, int xb, int w, int ys, int ye, int x0, int kw, float[] y, int yi,
                                  int[] arg, int ai) {
        int xs = Math.max(x0, 0);
        int xe = Math.min(x0 + kw, w);
        int bi = ys * w + xs;
        float best = x[xb + bi];
        for (int iy = ys; iy < ye; iy++) {
            int row = iy * w;
            for (int ix = xs; ix < xe; ix++) {
                float v = x[xb + row + ix];
                boolean take = v > best || v != v;
                best = take ? v : best;
                bi = take ? row + ix : bi;
            }
        }
        y[yi] = best;
        if (arg != null) {
            arg[ai] = bi;
        }
    }

    /** {@code VL} outputs of column stride 1, whose windows start at columns {@code x0, x0 + 1, ...}. */
    private static void maxStep1(float[] x, int xb, int w, int ys, int ye, int x0, int kw, float[] y, int yi,
                                 int[] arg, int ai) {
        FloatVector best = FloatVector.fromArray(F, x, xb + ys * w + x0);
        IntVector bi = IOTA.add(ys * w + x0);
        for (int iy = ys; iy < ye; iy++) {
            for (int dx = 0; dx < kw; dx++) {
                int at = iy * w + x0 + dx;
                FloatVector v = FloatVector.fromArray(F, x, xb + at);
                VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.compare(VectorOperators.NE, v));
                best = best.blend(v, take);
                if (arg != null) {
                    bi = bi.blend(IOTA.add(at), take.cast(I));
                }
            }
        }
        best.intoArray(y, yi);
        if (arg != null) {
            bi.intoArray(arg, ai);
        }
    }

    /** {@code HALF} outputs of column stride 2, whose windows start at columns {@code x0, x0 + 2, ...}. */
    private static void maxStep2(float[] x, int xb, int w, int ys, int ye, int x0, int kw, float[] y, int yi,
                                 int[] arg, int ai) {
        FloatVector best = even(FloatVector.fromArray(F, x, xb + ys * w + x0));
        IntVector bi = TWICE.add(ys * w + x0);
        for (int iy = ys; iy < ye; iy++) {
            for (int dx = 0; dx < kw; dx++) {
                int at = iy * w + x0 + dx;
                FloatVector v = even(FloatVector.fromArray(F, x, xb + at));
                VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.compare(VectorOperators.NE, v));
                best = best.blend(v, take);
                if (arg != null) {
                    bi = bi.blend(TWICE.add(at), take.cast(IH));
                }
            }
        }
        best.intoArray(y, yi);
        if (arg != null) {
            bi.intoArray(arg, ai);
        }
    }

    /**
     * The 2×2 stride-2 unpadded window. Per step, two vectors of the top row and two of the bottom row are split
     * into even and odd columns by two-vector selections, giving the four corners of {@code VL} windows; the pairs
     * (left, right) are compared first, then the two pair winners, which picks the same element as the row-major
     * scan. A row narrower than a step still takes one (its reads run into the next rows, whose lanes are not
     * kept); its stores are whole vectors too wherever the lanes past the row land on outputs of this plane that
     * later steps overwrite, and go through a per-thread tail otherwise, but a small plane of such rows is pooled
     * into a per-thread scratch plane with whole-vector stores and copied out at once. A wider row's last step
     * overlaps the one before. Rows at the very end of the array, where a step
     * would read past it, take half-width steps ({@link #maxStep2x2}).
     */
    static void maxPlane2x2(float[] x, int xb, int w, float[] y, int yb, int oh, int ow,
                            int[] arg, int ab) {
        float[] tailValues = TAIL.get();
        int[] tailIndices = TAIL_INDICES.get();
        if (ow < VL && oh > 1 && oh * ow < 4 * VL) {
            // A small plane of rows narrower than a step (the reference CNN's second block pools 5 of them from an
            // 11×11 plane): every row stores whole vectors into an L1 scratch plane, each overwriting the spill of
            // the one before, and the plane is copied out in one piece, not through a tail copy per row (the rows
            // within a step of the plane's end: three of five here). In a larger plane few rows are that close
            // to its end, and the copy costs more than their tails (conv1's 13 rows of 13: 181-192 ns a plane
            // without the scratch, 200-280 with it).
            int n = oh * ow;
            PlaneScratch scratch = PLANE.get().fit(n + VL);
            float[] sv = scratch.values;
            int[] si = arg == null ? null : scratch.indices;
            for (int oy = 0; oy < oh; oy++) {
                int r0 = xb + 2 * oy * w;
                int r1 = r0 + w;
                if (r1 + 2 * VL > x.length) {
                    rowHalf(x, r0, r1, w, sv, oy * ow, ow, si, oy * ow, 2 * oy * w, tailValues, tailIndices);
                } else {
                    wideStep(x, r0, r1, 0, sv, oy * ow, si, oy * ow, 2 * oy * w, w, true, tailValues, tailIndices,
                            ow);
                }
            }
            System.arraycopy(sv, 0, y, yb, n);
            if (arg != null) {
                System.arraycopy(si, 0, arg, ab, n);
            }
            return;
        }
        int yEnd = yb + oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            int r0 = xb + 2 * oy * w;
            int r1 = r0 + w;
            int yr = yb + oy * ow;
            int ar = ab + oy * ow;
            int top = 2 * oy * w;
            // the last step starts at output max(0, ow - VL) and reads 2·VL columns of the bottom row
            if (r1 + 2 * Math.max(0, ow - VL) + 2 * VL > x.length) {
                rowHalf(x, r0, r1, w, y, yr, ow, arg, ar, top, tailValues, tailIndices);
                continue;
            }
            int ox = 0;
            for (; ox + VL <= ow; ox += VL) {
                wideStep(x, r0, r1, 2 * ox, y, yr + ox, arg, ar + ox, top, w, true, tailValues, tailIndices, VL);
            }
            if (ox < ow) {
                if (ow >= VL) {
                    // one full step that ends at the row's end, overlapping the one before with the same values
                    int last = ow - VL;
                    wideStep(x, r0, r1, 2 * last, y, yr + last, arg, ar + last, top, w, true, tailValues,
                            tailIndices, VL);
                } else {
                    wideStep(x, r0, r1, 0, y, yr, arg, ar, top, w, yr + VL <= yEnd, tailValues, tailIndices, ow);
                }
            }
        }
    }

    /** A pooled plane's values and indices, grown together. */
    private static final class PlaneScratch {
        float[] values = new float[0];
        int[] indices = new int[0];

        PlaneScratch fit(int size) {
            if (values.length < size) {
                values = new float[size];
                indices = new int[size];
            }
            return this;
        }
    }

    /** {@code VL} windows from column {@code i} of rows {@code r0, r1}; {@code n} outputs kept (see above). */
    private static void wideStep(float[] x, int r0, int r1, int i, float[] y, int yAt, int[] arg, int argAt,
                                 int top, int w, boolean whole, float[] tailValues, int[] tailIndices, int n) {
        FloatVector t1 = FloatVector.fromArray(F, x, r0 + i);
        FloatVector t2 = FloatVector.fromArray(F, x, r0 + i + VL);
        FloatVector u1 = FloatVector.fromArray(F, x, r1 + i);
        FloatVector u2 = FloatVector.fromArray(F, x, r1 + i + VL);
        FloatVector a = EVEN_LANES.selectFrom(t1, t2);
        FloatVector b = ODD_LANES.selectFrom(t1, t2);
        FloatVector c = EVEN_LANES.selectFrom(u1, u2);
        FloatVector d = ODD_LANES.selectFrom(u1, u2);
        VectorMask<Float> takeB = b.compare(VectorOperators.GT, a).or(b.compare(VectorOperators.NE, b));
        VectorMask<Float> takeD = d.compare(VectorOperators.GT, c).or(d.compare(VectorOperators.NE, d));
        FloatVector ab1 = a.blend(b, takeB);
        FloatVector cd = c.blend(d, takeD);
        VectorMask<Float> bottom = cd.compare(VectorOperators.GT, ab1).or(cd.compare(VectorOperators.NE, cd));
        FloatVector max = ab1.blend(cd, bottom);
        if (whole) {
            max.intoArray(y, yAt);
        } else {
            max.intoArray(tailValues, 0);
            System.arraycopy(tailValues, 0, y, yAt, n);
        }
        if (arg != null) {
            IntVector l = TWICE_FULL.add(top + i);
            IntVector iab = l.add(1, takeB.cast(I));
            IntVector icd = l.add(w).add(1, takeD.cast(I));
            IntVector idx = iab.blend(icd, bottom.cast(I));
            if (whole) {
                idx.intoArray(arg, argAt);
            } else {
                idx.intoArray(tailIndices, 0);
                System.arraycopy(tailIndices, 0, arg, argAt, n);
            }
        }
    }

    /** One output row in half-width steps, for rows where a full step would read past the array. */
    private static void rowHalf(float[] x, int r0, int r1, int w, float[] y, int yr, int ow, int[] arg, int ar,
                                int top, float[] tailValues, int[] tailIndices) {
        int ox = 0;
        for (; ox + HALF <= ow && 2 * ox + VL <= w; ox += HALF) {
            int i = 2 * ox;
            maxStep2x2(FloatVector.fromArray(F, x, r0 + i), FloatVector.fromArray(F, x, r1 + i), y, yr + ox,
                    arg, ar + ox, top + i, w, HALF, tailValues, tailIndices);
        }
        if (ox < ow && ow >= HALF && 2 * (ow - HALF) + VL <= w) {
            int last = ow - HALF;
            int i = 2 * last;
            maxStep2x2(FloatVector.fromArray(F, x, r0 + i), FloatVector.fromArray(F, x, r1 + i), y, yr + last,
                    arg, ar + last, top + i, w, HALF, tailValues, tailIndices);
            ox = ow;
        }
        for (; ox < ow; ox += HALF) {
            int n = Math.min(HALF, ow - ox);
            int i = 2 * ox;
            if (r1 + i + VL <= x.length) {
                // Whole vectors read past the row (into the next row): those lanes only feed outputs past
                // the row's end, which the partial step does not store.
                maxStep2x2(FloatVector.fromArray(F, x, r0 + i), FloatVector.fromArray(F, x, r1 + i), y,
                        yr + ox, arg, ar + ox, top + i, w, n, tailValues, tailIndices);
            } else {
                VectorMask<Float> in = F.indexInRange(0, 2 * n);
                maxStep2x2(FloatVector.fromArray(F, x, r0 + i, in), FloatVector.fromArray(F, x, r1 + i, in), y,
                        yr + ox, arg, ar + ox, top + i, w, n, tailValues, tailIndices);
            }
        }
    }

    /**
     * {@code n} outputs of a 2×2 max pool from rows {@code t} and {@code u} (pairs of columns): the winner of
     * each window, NaN winning as in PyTorch, ties to the first; its index in the plane into {@code arg}.
     */
    private static void maxStep2x2(FloatVector t, FloatVector u, float[] y, int yAt, int[] arg, int argAt,
                                           int left, int w, int n, float[] tailValues, int[] tailIndices) {
        FloatVector a = even(t);
        FloatVector b = odd(t);
        FloatVector c = even(u);
        FloatVector d = odd(u);
        VectorMask<Float> takeB = b.compare(VectorOperators.GT, a).or(b.compare(VectorOperators.NE, b));
        VectorMask<Float> takeD = d.compare(VectorOperators.GT, c).or(d.compare(VectorOperators.NE, d));
        FloatVector ab1 = a.blend(b, takeB);
        FloatVector cd = c.blend(d, takeD);
        VectorMask<Float> bottom = cd.compare(VectorOperators.GT, ab1).or(cd.compare(VectorOperators.NE, cd));
        FloatVector max = ab1.blend(cd, bottom);
        if (n == HALF) {
            max.intoArray(y, yAt);
        } else {
            // Through a whole-vector store and a copy: a masked store took its slow path here (a mask test
            // per call, 3.6% of a training step of the reference CNN, whose second pool has rows of 5).
            max.intoArray(tailValues, 0);
            System.arraycopy(tailValues, 0, y, yAt, n);
        }
        if (arg != null) {
            IntVector l = TWICE.add(left);
            IntVector iab = l.add(1, takeB.cast(IH));
            IntVector icd = l.add(w).add(1, takeD.cast(IH));
            IntVector idx = iab.blend(icd, bottom.cast(IH));
            if (n == HALF) {
                idx.intoArray(arg, argAt);
            } else {
                idx.intoArray(tailIndices, 0);
                System.arraycopy(tailIndices, 0, arg, argAt, n);
            }
        }
    }

    /** The 2×2 stride-2 unpadded window: {@code ((a + b) + (c + d)) / 4}, vectorised as {@link #maxPlane2x2}. */
    private static void meanPlane2x2(float[] x, int xb, int w, float[] y, int yb, int oh, int ow) {
        float[] tail = TAIL.get();
        for (int oy = 0; oy < oh; oy++) {
            int r0 = xb + 2 * oy * w;
            int r1 = r0 + w;
            int yr = yb + oy * ow;
            int ox = 0;
            for (; ox + HALF <= ow && 2 * ox + VL <= w; ox += HALF) {
                FloatVector t = FloatVector.fromArray(F, x, r0 + 2 * ox);
                FloatVector u = FloatVector.fromArray(F, x, r1 + 2 * ox);
                even(t).add(odd(t)).add(even(u).add(odd(u))).mul(0.25f).intoArray(y, yr + ox);
            }
            for (; ox < ow; ox += HALF) {
                int n = Math.min(HALF, ow - ox);
                VectorMask<Float> in = F.indexInRange(0, 2 * n);
                FloatVector t = FloatVector.fromArray(F, x, r0 + 2 * ox, in);
                FloatVector u = FloatVector.fromArray(F, x, r1 + 2 * ox, in);
                even(t).add(odd(t)).add(even(u).add(odd(u))).mul(0.25f).intoArray(tail, 0);
                System.arraycopy(tail, 0, y, yr + ox, n);
            }
        }
    }

    /** Lanes 0, 2, 4, ... of {@code v}, as a half-width vector (the low halves of its 64-bit pairs). */
    private static FloatVector even(FloatVector v) {
        return ((IntVector) v.reinterpretAsLongs().convertShape(VectorOperators.L2I, IH, 0)).reinterpretAsFloats();
    }

    /** Lanes 1, 3, 5, ... of {@code v}, as a half-width vector (the high halves of its 64-bit pairs). */
    private static FloatVector odd(FloatVector v) {
        return ((IntVector) v.reinterpretAsLongs().lanewise(VectorOperators.LSHR, 32)
                .convertShape(VectorOperators.L2I, IH, 0)).reinterpretAsFloats();
    }

    /** The 2×2 stride-2 unpadded window: each covered element gets a quarter, a trailing odd row/column zero. */
    private static void meanPlane2x2Backward(float[] gy, int yb, int oh, int ow, float[] gx, int xb, int h, int w) {
        for (int oy = 0; oy < oh; oy++) {
            int r0 = xb + 2 * oy * w;
            int r1 = r0 + w;
            int yr = yb + oy * ow;
            for (int ox = 0; ox < ow; ox++) {
                float g = gy[yr + ox] * 0.25f;
                int i = 2 * ox;
                gx[r0 + i] = g;
                gx[r0 + i + 1] = g;
                gx[r1 + i] = g;
                gx[r1 + i + 1] = g;
            }
            if (2 * ow < w) {
                gx[r0 + w - 1] = 0f;
                gx[r1 + w - 1] = 0f;
            }
        }
        if (2 * oh < h) {
            Arrays.fill(gx, xb + (h - 1) * w, xb + h * w, 0f);
        }
    }

    /** Any window, as {@link #maxPlane}: vector steps over inside windows for column stride 1 or 2. */
    private static void meanPlane(float[] x, int xb, int h, int w, float[] y, int yb, int oh, int ow, PoolSpec s) {
        float inv = 1f / s.windowSize();
        int sw = s.sw();
        int pl = s.padLeft();
        int kw = s.kw();
        int firstInside = Math.min(ow, (pl + sw - 1) / sw);
        int lastStep = lastVectorStep(sw, pl, kw, w, ow);
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * s.sh() - s.padTop();
            int ys = Math.max(y0, 0);
            int ye = Math.min(y0 + s.kh(), h);
            int yr = yb + oy * ow;
            int ox = 0;
            for (; ox < firstInside; ox++) {
                y[yr + ox] = windowSum(x, xb, w, ys, ye, ox * sw - pl, kw) * inv;
            }
            if (lastStep >= firstInside) {
                int lanes = sw == 1 ? VL : HALF;
                for (int start = ox; ; start = Math.min(start + lanes, lastStep)) {
                    if (sw == 1) {
                        meanStep1(x, xb, w, ys, ye, start - pl, kw, inv, y, yr + start);
                    } else {
                        meanStep2(x, xb, w, ys, ye, 2 * start - pl, kw, inv, y, yr + start);
                    }
                    if (start == lastStep) {
                        break;
                    }
                }
                ox = lastStep + lanes;
            }
            for (; ox < ow; ox++) {
                y[yr + ox] = windowSum(x, xb, w, ys, ye, ox * sw - pl, kw) * inv;
            }
        }
    }

    /** {@code VL} means of column stride 1, windows starting at columns {@code x0, x0 + 1, ...}. */
    private static void meanStep1(float[] x, int xb, int w, int ys, int ye, int x0, int kw, float inv, float[] y,
                                  int yi) {
        FloatVector sum = FloatVector.zero(F);
        for (int iy = ys; iy < ye; iy++) {
            for (int dx = 0; dx < kw; dx++) {
                sum = sum.add(FloatVector.fromArray(F, x, xb + iy * w + x0 + dx));
            }
        }
        sum.mul(inv).intoArray(y, yi);
    }

    /** {@code HALF} means of column stride 2, windows starting at columns {@code x0, x0 + 2, ...}. */
    private static void meanStep2(float[] x, int xb, int w, int ys, int ye, int x0, int kw, float inv, float[] y,
                                  int yi) {
        FloatVector sum = FloatVector.zero(FH);
        for (int iy = ys; iy < ye; iy++) {
            for (int dx = 0; dx < kw; dx++) {
                sum = sum.add(even(FloatVector.fromArray(F, x, xb + iy * w + x0 + dx)));
            }
        }
        sum.mul(inv).intoArray(y, yi);
    }

    /** Sum over rows {@code [ys, ye)}, columns {@code [x0, x0 + kw)} clipped to the row, in row-major order. */
    private static float windowSum(float[] x, int xb, int w, int ys, int ye, int x0, int kw) {
        int xs = Math.max(x0, 0);
        int xe = Math.min(x0 + kw, w);
        float sum = 0;
        for (int iy = ys; iy < ye; iy++) {
            int row = xb + iy * w;
            for (int ix = xs; ix < xe; ix++) {
                sum += x[row + ix];
            }
        }
        return sum;
    }

    private static void meanPlaneBackward(float[] gy, int yb, int oh, int ow, float[] gx, int xb, int h, int w,
                                          PoolSpec s) {
        Arrays.fill(gx, xb, xb + h * w, 0f);
        float inv = 1f / s.windowSize();
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * s.sh() - s.padTop();
            int ys = Math.max(y0, 0);
            int ye = Math.min(y0 + s.kh(), h);
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ox * s.sw() - s.padLeft();
                int xs = Math.max(x0, 0);
                int xe = Math.min(x0 + s.kw(), w);
                float g = gy[yb + oy * ow + ox] * inv;
                for (int iy = ys; iy < ye; iy++) {
                    int row = xb + iy * w;
                    for (int ix = xs; ix < xe; ix++) {
                        gx[row + ix] += g;
                    }
                }
            }
        }
    }

    /** {@code dx} = zeros, then {@code dx[plane p][argmax[o]] += dy[o]} for the outputs o of plane p. */
    private static void scatterUnchecked(Tensor dy, int[] argmax, Tensor dx) {
        int plane = dx.dim(2) * dx.dim(3);
        int perPlane = dy.size() / Math.max(1, dx.dim(0) * dx.dim(1));
        float[] gy = dy.data();
        float[] gx = dx.data();
        int yo = dy.offset();
        int xo = dx.offset();
        Parallel.forRange(dx.dim(0) * dx.dim(1), grain(plane), (from, to) -> {
            for (int p = from; p < to; p++) {
                int xb = xo + p * plane;
                Arrays.fill(gx, xb, xb + plane, 0f);
                int o0 = p * perPlane;
                for (int o = o0; o < o0 + perPlane; o++) {
                    gx[xb + argmax[o]] += gy[yo + o];
                }
            }
        });
    }

    /** Maximum of {@code x[off, off + n)}, {@code n >= 1}; NaN if any element is NaN. */
    private static float maxOf(float[] x, int off, int n) {
        int i = 0;
        float m = x[off];
        if (n >= F.length()) {
            FloatVector acc = FloatVector.fromArray(F, x, off);
            for (i = F.length(); i <= n - F.length(); i += F.length()) {
                acc = acc.max(FloatVector.fromArray(F, x, off + i));
            }
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    /** Sum of {@code x[off, off + n)}: float lanes within blocks of {@value #SUM_BLOCK}, blocks in double. */
    private static double sumOf(float[] x, int off, int n) {
        double total = 0;
        int i = 0;
        int vecEnd = n - n % F.length();
        while (i < vecEnd) {
            int blockEnd = Math.min(vecEnd, i + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(F);
            for (; i < blockEnd; i += F.length()) {
                acc = acc.add(FloatVector.fromArray(F, x, off + i));
            }
            total += Lanes.sum(acc);
        }
        for (; i < n; i++) {
            total += x[off + i];
        }
        return total;
    }

    // ---------------------------------------------------------------- validation

    /** Planes per parallel part, so that a part holds at least {@link #PARALLEL_WORK} input elements. */
    private static int grain(int planeSize) {
        return Math.max(1, PARALLEL_WORK / Math.max(1, planeSize));
    }

    private static Shape outputShape(String op, Tensor x, PoolSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(spec, "spec");
        requireImage(op, x, "input");
        try {
            return spec.outputShape(x.shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": input " + x.shape() + ": " + e.getMessage(), e);
        }
    }

    /** {@code image} is the [N, C, H, W] side (x or dx), {@code pooled} the [N, C, outH, outW] side. */
    private static void checkPool(String op, Tensor image, PoolSpec spec, Tensor pooled) {
        Objects.requireNonNull(pooled, "out");
        Shape expected = outputShape(op, image, spec);
        if (!pooled.shape().equals(expected)) {
            boolean forward = !op.endsWith("Backward");
            throw new IllegalArgumentException(op + ": " + (forward ? "out " : "dy ") + pooled.shape() + " must be "
                    + expected + " for " + (forward ? "input " : "dx ") + image.shape() + " and " + spec);
        }
        checkDisjoint(op, image, pooled);
    }

    private static Shape globalShape(String op, Tensor x) {
        Objects.requireNonNull(x, "x");
        requireImage(op, x, "input");
        return Shape.of(x.dim(0), x.dim(1), 1, 1);
    }

    private static void checkGlobal(String op, Tensor image, Tensor pooled, String pooledName) {
        Objects.requireNonNull(pooled, pooledName);
        Shape expected = globalShape(op, image);
        boolean ok = pooled.shape().equals(expected)
                || pooled.shape().equals(Shape.of(image.dim(0), image.dim(1)));
        if (!ok) {
            throw new IllegalArgumentException(op + ": " + pooledName + " " + pooled.shape() + " must be " + expected
                    + " or [" + image.dim(0) + ", " + image.dim(1) + "] for " + image.shape());
        }
        if (image.dim(2) * image.dim(3) == 0 && pooled.size() > 0) {
            throw new IllegalArgumentException(op + ": input " + image.shape() + " has empty planes");
        }
        checkDisjoint(op, image, pooled);
    }

    private static void requireImage(String op, Tensor t, String name) {
        if (t.rank() != 4) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be [N, C, H, W]");
        }
    }

    private static void checkIndices(String op, int[] argmax, Tensor pooled) {
        Objects.requireNonNull(argmax, "argmax");
        if (argmax.length != pooled.size()) {
            throw new IllegalArgumentException(op + ": argmax has " + argmax.length + " indices, "
                    + pooled.shape() + " needs " + pooled.size());
        }
    }

    private static void checkIndexRange(String op, int[] argmax, Tensor dx) {
        int plane = dx.dim(2) * dx.dim(3);
        for (int o = 0; o < argmax.length; o++) {
            if (argmax[o] < 0 || argmax[o] >= plane) {
                throw new IllegalArgumentException(op + ": argmax[" + o + "] = " + argmax[o]
                        + " is outside an input plane of " + plane + " elements of dx " + dx.shape());
            }
        }
    }

    private static void checkDisjoint(String op, Tensor a, Tensor b) {
        if (a.data() == b.data() && a.offset() < b.offset() + b.size() && b.offset() < a.offset() + a.size()) {
            throw new IllegalArgumentException(op + ": " + a.shape() + " and " + b.shape() + " share storage");
        }
    }
}
