package io.evonas.tensor.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch buffers of the convolution kernels, grown on demand and then reused, so a training loop
 * allocates nothing large in steady state. Each buffer has one role; a kernel uses a thread's buffers only
 * within one call. The buffers of a thread stay as large as its largest convolution needed (about 2 MB for the
 * column matrix by default, more when one image's columns are larger).
 *
 * <p>{@link #partials} are owned by the calling thread and handed to the worker parts of one call, which write
 * disjoint slots; the caller reads them after the parallel region has ended. {@link #winnerGradients} are filled by
 * the calling thread and read by the parts.
 */
final class ConvScratch {
    private static final ThreadLocal<ConvScratch> LOCAL = ThreadLocal.withInitial(ConvScratch::new);

    private float[] col = new float[0];
    private float[] gemm = new float[0];
    private float[] pad = new float[0];
    private float[] weightsT = new float[0];
    private float[] winnerGradients = new float[0];
    private MemorySegment panels = MemorySegment.NULL;
    private float[][] partials = new float[0][];
    private int[] partialFrom = new int[0];

    private ConvScratch() {
    }

    /** This thread's scratch. */
    static ConvScratch get() {
        return LOCAL.get();
    }

    /**
     * Packed B panels that the calling thread fills before a parallel region and its parts read during it (weights
     * packed once a call), 64-byte aligned, at least {@code floats} floats.
     */
    MemorySegment panels(long floats) {
        if (panels.byteSize() < 4 * floats) {
            panels = Arena.ofAuto().allocate(4 * floats, 64);
        }
        return panels;
    }

    /** The im2col matrix, at least {@code size} floats. */
    float[] col(int size) {
        if (col.length < size) {
            col = new float[size];
        }
        return col;
    }

    /** A GEMM operand or result next to the column matrix, at least {@code size} floats. */
    float[] gemm(int size) {
        if (gemm.length < size) {
            gemm = new float[size];
        }
        return gemm;
    }

    /** A zero-padded copy of an input image, at least {@code size} floats. */
    float[] pad(int size) {
        if (pad.length < size) {
            pad = new float[size];
        }
        return pad;
    }

    /** A part's transposed weight gradient {@code dwᵀ [K, OC]} on the GEMM path, at least {@code size} floats. */
    float[] weightsT(int size) {
        if (weightsT.length < size) {
            weightsT = new float[size];
        }
        return weightsT;
    }

    /**
     * The pooled batch norm's backward pass 1 result, each winner's gradient, which the calling thread fills and the
     * parts of pass 2 read, at least {@code size} floats. A fresh array of this size a step cost its zeroing, on the
     * calling thread while the workers waited (bench/README.md, eleventh sitting).
     */
    float[] winnerGradients(int size) {
        if (winnerGradients.length < size) {
            winnerGradients = new float[size];
        }
        return winnerGradients;
    }

    /** {@code slots} buffers of at least {@code size} floats each, for per-part partial sums. */
    float[][] partials(int slots, int size) {
        if (partials.length < slots) {
            float[][] p = new float[slots][];
            System.arraycopy(partials, 0, p, 0, partials.length);
            partials = p;
            partialFrom = new int[slots];
        }
        for (int i = 0; i < slots; i++) {
            if (partials[i] == null || partials[i].length < size) {
                partials[i] = new float[size];
            }
        }
        return partials;
    }

    /** Where each partial slot's range starts, set by the part that filled it; as long as {@link #partials}. */
    int[] partialFrom() {
        return partialFrom;
    }
}
