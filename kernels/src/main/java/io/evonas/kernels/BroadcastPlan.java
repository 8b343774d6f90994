package io.evonas.kernels;

import io.evonas.tensor.Shape;
import java.util.Arrays;

/**
 * The loop of a broadcasting elementwise kernel over a contiguous output: merged dimensions, outermost first, and
 * each input's element strides along them (0 where it is broadcast). The same plan as the CPU's
 * {@code io.evonas.tensor.cpu.Broadcast.plan}: dimensions of size 1 dropped, neighbours merged wherever every
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
        int rank = out.rank();
        int ops = inputs.length;
        int[][] raw = new int[ops][rank];
        for (int k = 0; k < ops; k++) {
            int s = 1;
            for (int i = rank - 1; i >= 0; i--) {
                int d = dimAligned(inputs[k], i, rank);
                raw[k][i] = d == 1 ? 0 : s;
                s *= d;
            }
        }
        int[] dims = new int[Math.max(rank, 1)];
        int[][] strides = new int[ops][Math.max(rank, 1)];
        int groups = 0;
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
        int[] pd = new int[groups];
        int[][] ps = new int[ops][groups];
        for (int g = 0; g < groups; g++) {
            pd[g] = dims[groups - 1 - g];
            for (int k = 0; k < ops; k++) {
                ps[k][g] = strides[k][groups - 1 - g];
            }
        }
        return new BroadcastPlan(pd, ps);
    }

    private static int dimAligned(Shape s, int i, int rank) {
        int j = i - (rank - s.rank());
        return j < 0 ? 1 : s.dim(j);
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
