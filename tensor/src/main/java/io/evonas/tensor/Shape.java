package io.evonas.tensor;

import java.util.Arrays;

/**
 * The dimensions of a row-major tensor, outermost first ({@code [N, C, H, W]} for images, {@code [N, F]} for
 * dense data). Immutable; every dimension is non-negative.
 */
public final class Shape {
    private final int[] dims;
    private final int size;

    private Shape(int[] dims) {
        long n = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("shape: negative dimension in " + Arrays.toString(dims));
            }
            n *= d;
            if (n > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("shape: " + Arrays.toString(dims) + " has more than 2^31 elements");
            }
        }
        this.dims = dims;
        this.size = (int) n;
    }

    /** A shape with the given dimensions; the array is copied. */
    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    /** Number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Dimension {@code axis}; a negative axis counts from the end ({@code -1} is the last). */
    public int dim(int axis) {
        return dims[normaliseAxis(axis)];
    }

    /** Total number of elements. */
    public int size() {
        return size;
    }

    /** A copy of the dimensions. */
    public int[] dims() {
        return dims.clone();
    }

    /** Product of the dimensions in {@code [from, to)}. */
    public int sizeOf(int from, int to) {
        int n = 1;
        for (int i = from; i < to; i++) {
            n *= dims[i];
        }
        return n;
    }

    /** Row-major stride of {@code axis}: the product of the dimensions after it. */
    public int stride(int axis) {
        return sizeOf(normaliseAxis(axis) + 1, dims.length);
    }

    /**
     * Maps a possibly negative axis into {@code [0, rank)}.
     *
     * @throws IllegalArgumentException if the axis is out of range
     */
    public int normaliseAxis(int axis) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for shape " + this);
        }
        return a;
    }

    /** This shape with dimension {@code axis} replaced by {@code value}. */
    public Shape withDim(int axis, int value) {
        int[] d = dims.clone();
        d[normaliseAxis(axis)] = value;
        return new Shape(d);
    }

    /**
     * The shape a reshape to {@code newDims} gives: at most one dimension may be {@code -1}, inferred from the
     * element count.
     */
    public Shape reshape(int... newDims) {
        int[] d = newDims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newDims));
                }
                infer = i;
            } else if (d[i] < 0) {
                throw new IllegalArgumentException("reshape: negative dimension in " + Arrays.toString(newDims));
            } else {
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || size % known != 0) {
                throw new IllegalArgumentException(
                        "reshape: cannot reshape " + this + " to " + Arrays.toString(newDims));
            }
            d[infer] = (int) (size / known);
        }
        Shape s = new Shape(d);
        if (s.size != size) {
            throw new IllegalArgumentException("reshape: cannot reshape " + this + " (" + size + " elements) to "
                    + s + " (" + s.size + " elements)");
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** {@code [8, 3, 32, 32]}. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
