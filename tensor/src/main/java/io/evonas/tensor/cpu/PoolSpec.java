package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;
import java.util.Objects;

/**
 * The geometry of a 2D pooling window over NCHW images: a {@code kh × kw} window moved by {@code sh × sw}, over
 * an input padded by {@code padTop}/{@code padBottom} rows and {@code padLeft}/{@code padRight} columns.
 * Immutable; validated on construction.
 *
 * <p>Output sizes use floor mode (PyTorch's default, {@code ceil_mode=False}, and Flux's):
 * <pre>
 *   outH = floor((H + padTop + padBottom - kh) / sh) + 1
 *   outW = floor((W + padLeft + padRight - kw) / sw) + 1
 * </pre>
 * Output row {@code oy} covers padded-input rows {@code [oy*sh - padTop, oy*sh - padTop + kh)}; rows outside
 * {@code [0, H)} are padding. As in PyTorch, each padding must be at most half the window ({@code padTop,
 * padBottom <= kh / 2}, {@code padLeft, padRight <= kw / 2}), so that every window holds at least one real
 * element and lies wholly inside the padded input.
 *
 * <pre>{@code
 * PoolSpec p = PoolSpec.of(2);                        // 2×2 window, stride 2, no padding
 * PoolSpec q = PoolSpec.of(3, 3, 1, 1).withPadding(1); // 3×3, stride 1, "same" size
 * Shape out = q.outputShape(Shape.of(8, 16, 28, 28));  // [8, 16, 28, 28]
 * }</pre>
 *
 * @param kh        window height, at least 1
 * @param kw        window width, at least 1
 * @param sh        vertical stride, at least 1
 * @param sw        horizontal stride, at least 1
 * @param padTop    rows of padding above, in {@code [0, kh / 2]}
 * @param padBottom rows of padding below, in {@code [0, kh / 2]}
 * @param padLeft   columns of padding to the left, in {@code [0, kw / 2]}
 * @param padRight  columns of padding to the right, in {@code [0, kw / 2]}
 */
public record PoolSpec(int kh, int kw, int sh, int sw, int padTop, int padBottom, int padLeft, int padRight) {

    public PoolSpec {
        if (kh < 1 || kw < 1) {
            throw new IllegalArgumentException("pool: window " + kh + "×" + kw + " must be at least 1×1");
        }
        if (sh < 1 || sw < 1) {
            throw new IllegalArgumentException("pool: stride " + sh + "×" + sw + " must be at least 1×1");
        }
        if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
            throw new IllegalArgumentException("pool: padding (top " + padTop + ", bottom " + padBottom + ", left "
                    + padLeft + ", right " + padRight + ") must not be negative");
        }
        if (padTop > kh / 2 || padBottom > kh / 2 || padLeft > kw / 2 || padRight > kw / 2) {
            throw new IllegalArgumentException("pool: padding (top " + padTop + ", bottom " + padBottom + ", left "
                    + padLeft + ", right " + padRight + ") must be at most half the window " + kh + "×" + kw
                    + " (at most " + kh / 2 + " rows, " + kw / 2 + " columns)");
        }
    }

    /** A {@code k × k} window with stride {@code k}, no padding. */
    public static PoolSpec of(int k) {
        return of(k, k);
    }

    /** A {@code kh × kw} window with stride equal to the window, no padding. */
    public static PoolSpec of(int kh, int kw) {
        return new PoolSpec(kh, kw, kh, kw, 0, 0, 0, 0);
    }

    /** A {@code kh × kw} window with stride {@code sh × sw}, no padding. */
    public static PoolSpec of(int kh, int kw, int sh, int sw) {
        return new PoolSpec(kh, kw, sh, sw, 0, 0, 0, 0);
    }

    /** This window with stride {@code sh × sw}. */
    public PoolSpec withStride(int sh, int sw) {
        return new PoolSpec(kh, kw, sh, sw, padTop, padBottom, padLeft, padRight);
    }

    /** This window with {@code pad} rows/columns of padding on every side. */
    public PoolSpec withPadding(int pad) {
        return withPadding(pad, pad, pad, pad);
    }

    /** This window with the given padding on each side. */
    public PoolSpec withPadding(int top, int bottom, int left, int right) {
        return new PoolSpec(kh, kw, sh, sw, top, bottom, left, right);
    }

    /** Number of elements in one window, padding included ({@code kh * kw}). */
    public int windowSize() {
        return kh * kw;
    }

    /**
     * Output height for input height {@code h} (floor mode).
     *
     * @throws IllegalArgumentException if {@code h < 1} or the padded input is shorter than the window
     */
    public int outHeight(int h) {
        return outSize("height", h, kh, sh, padTop, padBottom);
    }

    /**
     * Output width for input width {@code w} (floor mode).
     *
     * @throws IllegalArgumentException if {@code w < 1} or the padded input is narrower than the window
     */
    public int outWidth(int w) {
        return outSize("width", w, kw, sw, padLeft, padRight);
    }

    /**
     * The output shape {@code [N, C, outH, outW]} for an input {@code [N, C, H, W]}.
     *
     * @throws IllegalArgumentException if the input is not rank 4 or the output would be empty
     */
    public Shape outputShape(Shape input) {
        Objects.requireNonNull(input, "input");
        if (input.rank() != 4) {
            throw new IllegalArgumentException("pool: input " + input + " must be [N, C, H, W]");
        }
        return Shape.of(input.dim(0), input.dim(1), outHeight(input.dim(2)), outWidth(input.dim(3)));
    }

    private int outSize(String what, int in, int k, int s, int padBefore, int padAfter) {
        if (in < 1) {
            throw new IllegalArgumentException("pool: input " + what + " " + in + " must be at least 1 (" + this
                    + ")");
        }
        int padded = in + padBefore + padAfter;
        if (padded < k) {
            throw new IllegalArgumentException("pool: input " + what + " " + in + " padded by " + padBefore + "+"
                    + padAfter + " to " + padded + " is smaller than the window " + what + " " + k
                    + "; the output would be empty (" + this + ")");
        }
        return (padded - k) / s + 1;
    }

    /** {@code PoolSpec[3×3, stride 2×2, pad t1 b1 l1 r1]}. */
    @Override
    public String toString() {
        return "PoolSpec[" + kh + "×" + kw + ", stride " + sh + "×" + sw + ", pad t" + padTop + " b" + padBottom
                + " l" + padLeft + " r" + padRight + "]";
    }
}
