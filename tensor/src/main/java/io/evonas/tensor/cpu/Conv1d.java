package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * 1-D convolution on {@code [N, C, L]} float tensors, as PyTorch's {@code conv1d} (a cross-correlation), with
 * its two gradients. It is {@link Conv2d} with height 1: the spec must be 1-D ({@link ConvSpec#of1d},
 * {@link ConvSpec#same1d}), and the width fields of the spec are the length's.
 * <pre>
 *   x    [N, C, L]        input
 *   w    [OC, C, k]       weight
 *   b    [OC]             bias (optional)
 *   y    [N, OC, OL]      OL = spec.outW(L)
 *
 *   y[n, o, q] = b[o] + sum_{c, j} w[o, c, j] * x[n, c, q*stride - left + j*dilation]
 * </pre>
 *
 * <pre>{@code
 * ConvSpec spec = ConvSpec.of1d(5, 1, 2, 1);                  // length 5, stride 1, padding 2, no dilation
 * Tensor y = Conv1d.forward(x, w, b, spec);                   // x [4, 8, 100], w [16, 8, 5] -> y [4, 16, 100]
 * }</pre>
 *
 * The accumulate flags, null bias and aliasing rules are as in {@link Conv2d}.
 */
public final class Conv1d {
    private static final String OP = "conv1d";

    private Conv1d() {
    }

    /** The output shape {@code [N, OC, OL]}. */
    public static Shape outputShape(Shape x, Shape w, ConvSpec spec) {
        return ConvChecks.geometry(OP, 3, x, w, spec).outShape(3);
    }

    /** {@code conv1d(x, w) + bias} into a new tensor; {@code bias} may be null. */
    public static Tensor forward(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        return forward(x, w, bias, spec, Tensor.zeros(outputShape(x.shape(), w.shape(), spec)));
    }

    /** {@code out = conv1d(x, w) + bias}, overwriting {@code out}; returns {@code out}. */
    public static Tensor forward(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor out) {
        Objects.requireNonNull(out, "out");
        ConvGeometry g = ConvChecks.checkForward(OP, 3, x, w, bias, spec, out);
        Conv2d.forward(g, x.data(), x.offset(), w.data(), w.offset(), bias == null ? null : bias.data(),
                bias == null ? -1 : bias.offset(), out.data(), out.offset());
        return out;
    }

    /** The gradient w.r.t. the input, of shape {@code inputShape}, into a new tensor. */
    public static Tensor backwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        Objects.requireNonNull(inputShape, "inputShape");
        return backwardInput(dy, w, spec, Tensor.zeros(inputShape), false);
    }

    /** The gradient w.r.t. the input into {@code dx}, added to it with {@code accumulate}; returns {@code dx}. */
    public static Tensor backwardInput(Tensor dy, Tensor w, ConvSpec spec, Tensor dx, boolean accumulate) {
        ConvGeometry g = ConvChecks.checkBackwardInput(OP, 3, dy, w, spec, dx);
        Conv2d.backwardInput(g, dy.data(), dy.offset(), w.data(), w.offset(), dx.data(), dx.offset(), accumulate);
        return dx;
    }

    /**
     * The gradients w.r.t. the weight ({@code [OC, C, k]}) and bias ({@code [OC]}, or null), added to {@code dw}
     * and {@code db} with {@code accumulate}, else replacing them; returns {@code dw}.
     */
    public static Tensor backwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db,
                                         boolean accumulate) {
        ConvGeometry g = ConvChecks.checkBackwardWeights(OP, 3, x, dy, spec, dw, db);
        Conv2d.backwardWeights(g, x.data(), x.offset(), dy.data(), dy.offset(), dw.data(), dw.offset(),
                db == null ? null : db.data(), db == null ? -1 : db.offset(), accumulate);
        return dw;
    }
}
