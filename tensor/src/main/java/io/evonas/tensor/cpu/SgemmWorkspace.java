package io.evonas.tensor.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One thread's SGEMM buffers: packed A and B panels in 64-byte aligned native memory (so every B vector load
 * is a whole cache line), grown on demand and freed by the garbage collector, and a scratch tile for edges.
 * Thread-confined through {@link #get()}, so concurrent and nested calls never share a buffer.
 */
final class SgemmWorkspace {
    private static final ThreadLocal<SgemmWorkspace> LOCAL = ThreadLocal.withInitial(SgemmWorkspace::new);
    private static final long ALIGN = 64;

    private float[] a = new float[0];
    private MemorySegment b = MemorySegment.NULL;
    final float[] tile = new float[SgemmKernel.MR * SgemmKernel.NR];
    /** One row of a partial B panel on its way into the packed panel ({@link SgemmPack#panelBEdge}). */
    final float[] edge = new float[SgemmKernel.NR];
    /**
     * Transposed {@code 8 × VL} blocks on their way into a panel: one of A for a 14-row panel, two of transposed B
     * ({@link SgemmPack}).
     */
    final float[] transposed = new float[16 * SgemmKernel.VL];

    private SgemmWorkspace() {
    }

    static SgemmWorkspace get() {
        return LOCAL.get();
    }

    /** A buffer of at least {@code floats} floats for packed A. */
    float[] a(int floats) {
        if (a.length < floats) {
            a = new float[floats + floats / 8];
        }
        return a;
    }

    /** A buffer of at least {@code floats} floats for packed B. */
    MemorySegment b(long floats) {
        if (b.byteSize() < 4 * floats) {
            b = allocate(floats);
        }
        return b;
    }

    private static MemorySegment allocate(long floats) {
        // a little headroom so that slowly growing problems do not reallocate every call
        return Arena.ofAuto().allocate(4 * (floats + floats / 8), ALIGN);
    }
}
