package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;

/**
 * The sizes of one validated convolution, NCHW: input {@code [n, c, h, w]}, weight {@code [oc, c, kh, kw]},
 * output {@code [n, oc, oh, ow]}, with the {@link ConvSpec} they came from. Conv1d uses it with {@code h == 1}.
 * Built only after the public entry points have checked the shapes, so the sizes here are consistent.
 */
record ConvGeometry(int n, int c, int h, int w, int oc, int oh, int ow, ConvSpec spec) {

    /** Rows of the im2col matrix: {@code c * kh * kw}, the GEMM's inner dimension. */
    int k() {
        return c * spec.kh() * spec.kw();
    }

    /** Output positions per image and channel: {@code oh * ow}. */
    int p() {
        return oh * ow;
    }

    /** Input elements per image. */
    int inImage() {
        return c * h * w;
    }

    /** Output elements per image. */
    int outImage() {
        return oc * oh * ow;
    }

    /** Whether the convolution is a plain GEMM on the input: 1×1 kernel, stride 1, no padding. */
    boolean pointwise() {
        ConvSpec s = spec;
        return s.kh() == 1 && s.kw() == 1 && s.sh() == 1 && s.sw() == 1
                && s.top() == 0 && s.bottom() == 0 && s.left() == 0 && s.right() == 0;
    }

    /** The output shape: {@code [n, oc, oh, ow]}, or {@code [n, oc, ow]} for rank 3 (conv1d). */
    Shape outShape(int rank) {
        return rank == 4 ? Shape.of(n, oc, oh, ow) : Shape.of(n, oc, ow);
    }

    /** Multiply-adds times two: {@code 2 * n * oc * oh * ow * c * kh * kw}. */
    double flops() {
        return 2.0 * n * oc * oh * ow * k();
    }
}
