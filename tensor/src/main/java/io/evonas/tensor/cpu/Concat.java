package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * Concatenation along one axis and its inverse, the slice along that axis (the backward pass of a concatenation
 * hands each input the slice of the gradient it contributed). For NCHW feature maps and NC features the axis is 1.
 */
public final class Concat {
    private Concat() {
    }

    /**
     * The tensors joined along {@code axis}; all other dimensions must agree.
     *
     * @throws IllegalArgumentException naming the shapes when ranks or other dimensions differ
     */
    public static Tensor concat(int axis, Tensor... parts) {
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
        Tensor out = Tensor.zeros(first.withDim(a, total));
        int outer = first.sizeOf(0, a);
        int inner = first.sizeOf(a + 1, first.rank());
        float[] dst = out.data();
        int rowOut = total * inner;
        int at = 0;
        for (Tensor t : parts) {
            int block = t.dim(a) * inner;
            float[] src = t.data();
            int so = t.offset();
            for (int o = 0; o < outer; o++) {
                System.arraycopy(src, so + o * block, dst, o * rowOut + at, block);
            }
            at += block;
        }
        return out;
    }

    /**
     * Positions {@code [from, from + length)} of {@code axis}, copied out.
     *
     * @throws IllegalArgumentException when the range lies outside the axis
     */
    public static Tensor slice(Tensor x, int axis, int from, int length) {
        Shape s = x.shape();
        int a = s.normaliseAxis(axis);
        if (from < 0 || length < 0 || from + length > s.dim(a)) {
            throw new IllegalArgumentException("slice of " + s + " along axis " + a + ": [" + from + ", "
                    + (from + length) + ") is outside [0, " + s.dim(a) + ")");
        }
        Tensor out = Tensor.zeros(s.withDim(a, length));
        int outer = s.sizeOf(0, a);
        int inner = s.sizeOf(a + 1, s.rank());
        int rowIn = s.dim(a) * inner;
        int block = length * inner;
        float[] src = x.data();
        float[] dst = out.data();
        int so = x.offset() + from * inner;
        for (int o = 0; o < outer; o++) {
            System.arraycopy(src, so + o * rowIn, dst, o * block, block);
        }
        return out;
    }
}
