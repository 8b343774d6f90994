package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.Conv2d;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A 2-D convolution layer {@code y = f(conv(x, W) + b)}: input {@code [N, in, H, W]}, weight
 * {@code [out, in, kh, kw]}, bias {@code [out]}; stride, padding (explicit or "same") and dilation from its
 * {@link ConvSpec}.
 *
 * <p>Neuron surgery as {@link Dense}; {@link #changeKernelSizeInPlace} shrinks a kernel to the taps nearest its
 * centre or grows it with zero taps around the old ones, keeping their phase, and moves the padding so the
 * output keeps its spatial size: a grown kernel computes the same function.
 */
public final class Conv2D extends WeightedLayer {
    private ConvSpec spec;

    public Conv2D(Parameter weight, Parameter bias, ConvSpec spec, Activation activation) {
        super(weight, bias, activation);
        this.spec = Objects.requireNonNull(spec, "spec");
        Shape w = weight.shape();
        if (w.rank() != 4 || w.dim(2) != spec.kh() || w.dim(3) != spec.kw()
                || !bias.shape().equals(Shape.of(w.dim(0)))) {
            throw new IllegalArgumentException("conv2d layer: weight " + w + " must be [out, in, " + spec.kh() + ", "
                    + spec.kw() + "] and bias " + bias.shape() + " [out]");
        }
    }

    /** {@code in → out} channels with a {@code spec.kh() × spec.kw()} kernel, Glorot-uniform, zero bias. */
    public static Conv2D of(int in, int out, ConvSpec spec, Activation activation, RandomGenerator rng) {
        return of(in, out, spec, activation, Initialiser.glorotUniform(), rng);
    }

    /** {@code in → out} channels with weights from {@code init} and zero bias. */
    public static Conv2D of(int in, int out, ConvSpec spec, Activation activation, Initialiser init,
                            RandomGenerator rng) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("conv2d layer: channels " + in + " -> " + out + " must be positive");
        }
        return new Conv2D(new Parameter("weight", init.create(Shape.of(out, in, spec.kh(), spec.kw()), rng)),
                new Parameter("bias", Tensor.zeros(out)), spec, activation);
    }

    /**
     * The identity on {@code channels} channels: a {@code kh × kw} kernel with "same" padding and stride 1 whose
     * centre tap is 1 from channel {@code i} to channel {@code i} and 0 elsewhere, zero bias, then
     * {@code activation}. Inserted where a NAS mutation must keep the function: exact with the identity
     * activation, or with ReLU on non-negative input.
     *
     * @throws IllegalArgumentException for an even kernel size (no centre tap) or a size below 1
     */
    public static Conv2D identity(int channels, int kh, int kw, Activation activation) {
        if (channels < 1 || kh < 1 || kw < 1 || kh % 2 == 0 || kw % 2 == 0) {
            throw new IllegalArgumentException("conv2d identity: " + channels + " channels must be positive and the "
                    + "kernel " + kh + "×" + kw + " odd");
        }
        return new Conv2D(new Parameter("weight", Initialiser.identity().create(Shape.of(channels, channels, kh, kw),
                null)), new Parameter("bias", Tensor.zeros(channels)), ConvSpec.same(kh, kw), activation);
    }

    public ConvSpec spec() {
        return spec;
    }

    /** Starts measuring neuron utility every {@code interval} training batches. */
    public Conv2D trackUtility(int interval) {
        startTracking(interval);
        return this;
    }

    /**
     * A deep copy: parameters (value, gradient, optimiser state) and neuron utility are copied; the spec is an
     * immutable value, so a later {@link #changeKernelSizeInPlace} on either leaves the other's unchanged.
     */
    @Override
    public Conv2D copy() {
        return copyUtilityTo(new Conv2D(weight.copy(), bias.copy(), spec, activation));
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        Variable z = Ops.conv2d(x, pass.bind(weight), pass.bind(bias), spec);
        return activateAndObserve(z, pass);
    }

    @Override
    public Shape outputShape(Shape input) {
        return Conv2d.outputShape(input, weight.shape(), spec);
    }

    /**
     * Changes the kernel to {@code kh × kw}. Along each axis, the new tap {@code j} is old tap
     * {@code j - s}, with {@code s = (k'-1)/2 - (k-1)/2}, or zero where there is none; padding before grows by
     * {@code d·s} and the total by {@code d·(k' - k)}, so taps stay aligned with the same inputs and the output
     * keeps its size.
     *
     * @throws IllegalArgumentException if a size is below 1, or shrinking would need negative padding
     */
    public void changeKernelSizeInPlace(int kh, int kw) {
        if (kh < 1 || kw < 1) {
            throw new IllegalArgumentException("conv2d layer: kernel size " + kh + "×" + kw + " must be positive");
        }
        int shiftH = (kh - 1) / 2 - (spec.kh() - 1) / 2;
        int shiftW = (kw - 1) / 2 - (spec.kw() - 1) / 2;
        int top = spec.top() + spec.dh() * shiftH;
        int bottom = spec.bottom() + spec.dh() * (kh - spec.kh() - shiftH);
        int left = spec.left() + spec.dw() * shiftW;
        int right = spec.right() + spec.dw() * (kw - spec.kw() - shiftW);
        if (top < 0 || bottom < 0 || left < 0 || right < 0) {
            throw new IllegalArgumentException("conv2d layer: kernel " + spec.kh() + "×" + spec.kw() + " -> " + kh
                    + "×" + kw + " would need negative padding (" + top + ", " + bottom + ", " + left + ", " + right
                    + ")");
        }
        weight.resizeInPlace(2, taps(spec.kh(), kh, shiftH), Fill.ZEROS, null);
        weight.resizeInPlace(3, taps(spec.kw(), kw, shiftW), Fill.ZEROS, null);
        spec = new ConvSpec(kh, kw, spec.sh(), spec.sw(), top, bottom, left, right, spec.dh(), spec.dw());
    }

    private static int[] taps(int oldK, int newK, int shift) {
        int[] idx = new int[newK];
        for (int j = 0; j < newK; j++) {
            int old = j - shift;
            idx[j] = old >= 0 && old < oldK ? old : -1;
        }
        return idx;
    }

    @Override
    public String toString() {
        return "Conv2D(" + spec.kh() + "×" + spec.kw() + ", " + nin() + " => " + nout()
                + (activation == Activation.IDENTITY ? "" : ", " + activation.name().toLowerCase(java.util.Locale.ROOT))
                + ")";
    }
}
