package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;
import java.util.Objects;

/**
 * NumPy-style broadcasting of shapes, and the loop plans the elementwise kernels run on.
 *
 * <p>Two shapes broadcast when, aligned on their last dimension, each pair of dimensions is equal or one of them
 * is 1; a missing leading dimension counts as 1. The result takes the larger of each pair:
 * <pre>{@code
 * [8, 16, 32, 32] with [1, 16, 1, 1] -> [8, 16, 32, 32]     // per-channel bias
 * [8, 10]         with [10]          -> [8, 10]             // dense bias
 * [2, 3]          with []            -> [2, 3]              // scalar tensor
 * [2, 3]          with [4]           -> IllegalArgumentException "add: shapes [2, 3] and [4] do not broadcast"
 * }</pre>
 *
 * <p>A {@link Plan} describes a loop over an output shape with the element strides of each input (stride 0 along
 * broadcast dimensions), with dimensions of size 1 dropped and neighbouring dimensions merged wherever every
 * operand is contiguous across them. After merging, the innermost dimension has stride 1 or 0 in every operand,
 * so the kernels' inner loop is always one of vector-vector, vector-scalar or scalar-vector:
 * {@code [N, C, H, W] + [1, C, 1, 1]} becomes {@code [N, C, H*W]} with bias strides {@code [0, 1, 0]}.
 */
public final class Broadcast {
    private Broadcast() {
    }

    /**
     * The shape {@code a} and {@code b} broadcast to.
     *
     * @param op the operation, for the error message
     * @throws IllegalArgumentException {@code "<op>: shapes [2, 3] and [4] do not broadcast"}
     */
    public static Shape shape(String op, Shape a, Shape b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        int rank = Math.max(a.rank(), b.rank());
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = dimAligned(a, i, rank);
            int db = dimAligned(b, i, rank);
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b + " do not broadcast");
            }
            dims[i] = da == 1 ? db : da;
        }
        return Shape.of(dims);
    }

    /** Whether {@code from} broadcasts to exactly {@code to} (so that a gradient of shape {@code to} sums to it). */
    public static boolean broadcastsTo(Shape from, Shape to) {
        if (from.rank() > to.rank()) {
            return false;
        }
        for (int i = 0; i < to.rank(); i++) {
            int f = dimAligned(from, i, to.rank());
            if (f != 1 && f != to.dim(i)) {
                return false;
            }
        }
        return true;
    }

    /** Dimension {@code i} of {@code s} right-aligned to {@code rank} dimensions (1 where {@code s} has none). */
    static int dimAligned(Shape s, int i, int rank) {
        int j = i - (rank - s.rank());
        return j < 0 ? 1 : s.dim(j);
    }

    /**
     * A loop over {@code out} reading each of {@code inputs}, which must broadcast to {@code out}. The output is
     * contiguous; each input has its own strides (0 where broadcast).
     */
    public static Plan plan(Shape out, Shape... inputs) {
        int rank = out.rank();
        int ops = inputs.length;
        int[] dims = new int[Math.max(rank, 1)];
        int[][] strides = new int[ops][Math.max(rank, 1)];
        // walk from the innermost dimension outwards, merging into the current group when contiguous
        int groups = 0;
        int[][] raw = new int[ops][rank];
        for (int k = 0; k < ops; k++) {
            int s = 1;
            for (int i = rank - 1; i >= 0; i--) {
                int d = dimAligned(inputs[k], i, rank);
                raw[k][i] = d == 1 ? 0 : s;
                s *= d;
            }
        }
        for (int i = rank - 1; i >= 0; i--) {
            int d = out.dim(i);
            if (d == 1) {
                continue;
            }
            boolean merge = groups > 0;
            for (int k = 0; k < ops && merge; k++) {
                int g = groups - 1;
                merge = raw[k][i] == (long) strides[k][g] * dims[g];
            }
            if (merge) {
                dims[groups - 1] *= d;
            } else {
                dims[groups] = d;
                for (int k = 0; k < ops; k++) {
                    strides[k][groups] = raw[k][i];
                }
                groups++;
            }
        }
        if (groups == 0) {
            dims[0] = 1;
            groups = 1;
        }
        // groups were collected innermost first: reverse to outermost first
        int[] pd = new int[groups];
        int[][] ps = new int[ops][groups];
        for (int g = 0; g < groups; g++) {
            pd[g] = dims[groups - 1 - g];
            for (int k = 0; k < ops; k++) {
                ps[k][g] = strides[k][groups - 1 - g];
            }
        }
        return new Plan(pd, ps);
    }

    /**
     * Merged loop dimensions, outermost first, and per input its element strides along them. The innermost
     * stride of every input is 0 or 1.
     */
    public record Plan(int[] dims, int[][] strides) {
        /** Length of the innermost loop. */
        int inner() {
            return dims[dims.length - 1];
        }

        /** Number of innermost rows: the product of the outer dimensions. */
        int rows() {
            int r = 1;
            for (int i = 0; i < dims.length - 1; i++) {
                r *= dims[i];
            }
            return r;
        }

        /** Innermost stride of input {@code k} (0 or 1). */
        int innerStride(int k) {
            return strides[k][dims.length - 1];
        }

        /** Offset of row {@code row} (counted over the outer dimensions) in input {@code k}. */
        int rowOffset(int k, int row) {
            int off = 0;
            for (int i = dims.length - 2; i >= 0; i--) {
                off += (row % dims[i]) * strides[k][i];
                row /= dims[i];
            }
            return off;
        }
    }
}
