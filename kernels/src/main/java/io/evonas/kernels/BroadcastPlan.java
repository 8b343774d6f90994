package io.evonas.kernels;

import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Broadcast;
import java.util.Arrays;

/**
 * The loop of a broadcasting elementwise kernel over a contiguous output: merged dimensions, outermost first, and
 * each input's element strides along them (0 where it is broadcast): the CPU's {@link Broadcast#plan}, with what
 * the kernels' launches need on top. Dimensions of size 1 are dropped, neighbours merged wherever every
 * operand is contiguous across them, so {@code [N, C, H, W] + [1, C, 1, 1]} is {@code [N, C, H*W]} with bias
 * strides {@code [0, 1, 0]}.
 *
 * <p>The {@code *_bcast} and {@code sum_to} kernels take at most {@value #KERNEL_DIMS} dimensions: {@link #last4}
 * left-pads a short plan with 1s, and a longer plan runs as {@link #outerCount} launches over its innermost four
 * dimensions, each with the pointer offsets of {@link #outerOffset}.
 *
 * @param dims merged dimensions, outermost first (at least one)
 * @param strides per input, its element stride along each merged dimension
 */
record BroadcastPlan(int[] dims, int[][] strides) {
    /** The number of dimensions the broadcasting kernels take. */
    static final int KERNEL_DIMS = 4;

    /** The plan of a loop over {@code out} reading each of {@code inputs}, which must broadcast to it. */
    static BroadcastPlan of(Shape out, Shape... inputs) {
        Broadcast.Plan p = Broadcast.plan(out, inputs);
        return new BroadcastPlan(p.dims(), p.strides());
    }

    /** Number of merged dimensions. */
    int rank() {
        return dims.length;
    }

    /** The innermost (at most four) dimensions, left-padded with 1s to four. */
    int[] last4() {
        return pad(dims, 1);
    }

    /** Input {@code k}'s strides along {@link #last4()}, left-padded with 0s. */
    int[] last4Strides(int k) {
        return pad(strides[k], 0);
    }

    private static int[] pad(int[] v, int fill) {
        int[] r = new int[KERNEL_DIMS];
        Arrays.fill(r, fill);
        int n = Math.min(v.length, KERNEL_DIMS);
        System.arraycopy(v, v.length - n, r, KERNEL_DIMS - n, n);
        return r;
    }

    /** How many launches over {@link #last4()} cover the plan: the product of the dimensions outside it. */
    int outerCount() {
        int c = 1;
        for (int i = 0; i < dims.length - KERNEL_DIMS; i++) {
            c *= dims[i];
        }
        return c;
    }

    /** Elements in one launch over {@link #last4()}. */
    long innerSize() {
        long c = 1;
        for (int d : last4()) {
            c *= d;
        }
        return c;
    }

    /** Element offset of outer launch {@code outer} in input {@code k} (0 when the plan has at most four dims). */
    long outerOffset(int k, int outer) {
        long off = 0;
        int r = outer;
        for (int i = dims.length - KERNEL_DIMS - 1; i >= 0; i--) {
            off += (long) (r % dims[i]) * strides[k][i];
            r /= dims[i];
        }
        return off;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("BroadcastPlan[dims " + Arrays.toString(dims));
        for (int[] s : strides) {
            b.append(", strides ").append(Arrays.toString(s));
        }
        return b.append(']').toString();
    }
}
