package io.evonas.tensor.cpu;

/**
 * The geometry of a 2-D convolution (or, with a trivial height part, of a 1-D one): kernel {@code kh × kw},
 * stride {@code (sh, sw)}, zero padding {@code (top, bottom, left, right)} and dilation {@code (dh, dw)}.
 * Immutable and validated: kernel, stride and dilation are positive, padding is non-negative.
 *
 * <p>Output size along one axis, as in PyTorch, with input size {@code h}, kernel {@code k}, dilation {@code d},
 * stride {@code s} and padding {@code p0 + p1}:
 * <pre>
 *   extent = d * (k - 1) + 1                      // span of the dilated kernel
 *   out    = floor((h + p0 + p1 - extent) / s) + 1
 * </pre>
 * {@link #outH} and {@link #outW} compute it and throw when the padded input is smaller than the extent.
 *
 * <pre>{@code
 * ConvSpec a = ConvSpec.of(3, 3);                        // 3×3, stride 1, no padding
 * ConvSpec b = ConvSpec.of(3, 3, 2, 1);                  // 3×3, stride 2, padding 1 on every side
 * ConvSpec c = ConvSpec.same(4, 4);                      // 4×4, padding top/left 1, bottom/right 2
 * ConvSpec d = ConvSpec.of(5, 2).withDilation(2, 1);     // rectangular, dilated along the height
 * int oh = b.outH(32);                                   // 16
 * }</pre>
 *
 * @param kh     kernel height
 * @param kw     kernel width
 * @param sh     stride along the height
 * @param sw     stride along the width
 * @param top    zero rows added above the input
 * @param bottom zero rows added below the input
 * @param left   zero columns added left of the input
 * @param right  zero columns added right of the input
 * @param dh     dilation along the height (1 = dense kernel)
 * @param dw     dilation along the width
 */
public record ConvSpec(int kh, int kw, int sh, int sw, int top, int bottom, int left, int right, int dh, int dw) {

    public ConvSpec {
        if (kh < 1 || kw < 1) {
            throw new IllegalArgumentException("ConvSpec: kernel " + kh + "×" + kw + " must be positive");
        }
        if (sh < 1 || sw < 1) {
            throw new IllegalArgumentException("ConvSpec: stride (" + sh + ", " + sw + ") must be positive");
        }
        if (dh < 1 || dw < 1) {
            throw new IllegalArgumentException("ConvSpec: dilation (" + dh + ", " + dw + ") must be positive");
        }
        if (top < 0 || bottom < 0 || left < 0 || right < 0) {
            throw new IllegalArgumentException("ConvSpec: padding (top " + top + ", bottom " + bottom + ", left "
                    + left + ", right " + right + ") must be non-negative");
        }
    }

    /** A {@code kh × kw} kernel, stride 1, no padding, no dilation. */
    public static ConvSpec of(int kh, int kw) {
        return new ConvSpec(kh, kw, 1, 1, 0, 0, 0, 0, 1, 1);
    }

    /** A {@code kh × kw} kernel with the same stride on both axes and the same padding on every side. */
    public static ConvSpec of(int kh, int kw, int stride, int padding) {
        return new ConvSpec(kh, kw, stride, stride, padding, padding, padding, padding, 1, 1);
    }

    /**
     * "Same" padding for a {@code kh × kw} kernel, stride 1, no dilation: the output has the input's size.
     *
     * @see #same(int, int, int, int, int, int)
     */
    public static ConvSpec same(int kh, int kw) {
        return same(kh, kw, 1, 1, 1, 1);
    }

    /**
     * "Same" padding: along each axis the total padding is {@code d * (k - 1)}, split as PyTorch does for
     * {@code padding="same"}: {@code before = total / 2} (top, left) and {@code after = total - before}
     * (bottom, right). Odd kernels get equal padding on both sides; even kernels one more after than before
     * (a 4×4 kernel: top 1, bottom 2). With stride 1 the output keeps the input's size; with stride {@code s}
     * it is {@code ceil(h / s)}.
     */
    public static ConvSpec same(int kh, int kw, int sh, int sw, int dh, int dw) {
        if (kh < 1 || kw < 1 || dh < 1 || dw < 1) {
            throw new IllegalArgumentException("ConvSpec.same: kernel " + kh + "×" + kw + " and dilation ("
                    + dh + ", " + dw + ") must be positive");
        }
        int th = dh * (kh - 1);
        int tw = dw * (kw - 1);
        return new ConvSpec(kh, kw, sh, sw, th / 2, th - th / 2, tw / 2, tw - tw / 2, dh, dw);
    }

    /** A 1-D kernel of length {@code k} (height 1), stride 1, no padding, no dilation; for {@link Conv1d}. */
    public static ConvSpec of1d(int k) {
        return of(1, k);
    }

    /** A 1-D kernel of length {@code k} with stride, padding on both ends and dilation; for {@link Conv1d}. */
    public static ConvSpec of1d(int k, int stride, int padding, int dilation) {
        return new ConvSpec(1, k, 1, stride, 0, 0, padding, padding, 1, dilation);
    }

    /** "Same" padding for a 1-D kernel of length {@code k}, as {@link #same(int, int, int, int, int, int)}. */
    public static ConvSpec same1d(int k, int stride, int dilation) {
        return same(1, k, 1, stride, 1, dilation);
    }

    /** This spec with another stride. */
    public ConvSpec withStride(int sh, int sw) {
        return new ConvSpec(kh, kw, sh, sw, top, bottom, left, right, dh, dw);
    }

    /** This spec with another padding. */
    public ConvSpec withPadding(int top, int bottom, int left, int right) {
        return new ConvSpec(kh, kw, sh, sw, top, bottom, left, right, dh, dw);
    }

    /** This spec with another dilation. */
    public ConvSpec withDilation(int dh, int dw) {
        return new ConvSpec(kh, kw, sh, sw, top, bottom, left, right, dh, dw);
    }

    /** Whether the height part is trivial (kernel height 1, stride 1, no padding, dilation 1): a 1-D spec. */
    public boolean is1d() {
        return kh == 1 && sh == 1 && top == 0 && bottom == 0 && dh == 1;
    }

    /**
     * Output height for input height {@code h}.
     *
     * @throws IllegalArgumentException if {@code h} is not positive or the output would be empty
     */
    public int outH(int h) {
        return outSize("height", h, kh, sh, top, bottom, dh);
    }

    /**
     * Output width for input width {@code w}.
     *
     * @throws IllegalArgumentException if {@code w} is not positive or the output would be empty
     */
    public int outW(int w) {
        return outSize("width", w, kw, sw, left, right, dw);
    }

    private static int outSize(String axis, int in, int k, int s, int p0, int p1, int d) {
        long extent = (long) d * (k - 1) + 1;
        long padded = (long) in + p0 + p1;
        if (in < 1) {
            throw new IllegalArgumentException("conv: input " + axis + " " + in + " must be positive");
        }
        if (padded < extent) {
            throw new IllegalArgumentException("conv: input " + axis + " " + in + " (padded " + padded
                    + ") is smaller than the kernel's extent " + extent + " (kernel " + k + ", dilation " + d
                    + "): the output would be empty");
        }
        long out = (padded - extent) / s + 1;
        return (int) out;
    }

    /** {@code ConvSpec[3×3, stride (1, 1), padding (1, 1, 1, 1), dilation (1, 1)]}. */
    @Override
    public String toString() {
        return "ConvSpec[" + kh + "×" + kw + ", stride (" + sh + ", " + sw + "), padding (" + top + ", " + bottom
                + ", " + left + ", " + right + "), dilation (" + dh + ", " + dw + ")]";
    }
}
