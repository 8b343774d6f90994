package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.F;
import static io.evonas.tensor.cpu.SgemmKernel.MR;
import static io.evonas.tensor.cpu.SgemmKernel.MR_LARGE;
import static io.evonas.tensor.cpu.SgemmKernel.MR_SMALL;
import static io.evonas.tensor.cpu.SgemmKernel.NR;
import static io.evonas.tensor.cpu.SgemmKernel.O;
import static io.evonas.tensor.cpu.SgemmKernel.S;
import static io.evonas.tensor.cpu.SgemmKernel.VL;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Packing for {@link SgemmKernel}: a block of {@code alpha·op(A)} into row panels on the heap and a block of
 * {@code op(B)} into column panels of {@code NR} in aligned native memory (float {@code panel·NR·kb + p·NR + j}),
 * zero-padded to whole panels so the kernels never need a tail.
 */
final class SgemmPack {
    /** Two-vector interleave of the low halves: lane l takes lane l/2 of the first (l even) or second vector. */
    private static final FloatVector LO;
    /** The same for the high halves. */
    private static final FloatVector HI;
    /**
     * With 16 lanes, from two vectors that each hold two steps of eight columns: the first step's 16 columns, and
     * the second's.
     */
    private static final FloatVector FIRST_STEP;
    private static final FloatVector SECOND_STEP;
    /** A zero vector: the two rows that make a 14-row block a 16 × 16 transpose. */
    private static final FloatVector ZERO = FloatVector.zero(S);
    /** With 16 lanes, the 14 rows of one step of a 14-row panel. */
    private static final VectorMask<Float> FIRST14 = VectorMask.fromLong(S, 0x3FFFL);

    static {
        float[] lo = new float[VL];
        float[] hi = new float[VL];
        for (int l = 0; l < VL; l++) {
            lo[l] = (l & 1) * VL + (l >> 1);
            hi[l] = lo[l] + VL / 2;
        }
        LO = FloatVector.fromArray(S, lo, 0);
        HI = FloatVector.fromArray(S, hi, 0);
        float[] first = new float[VL];
        float[] second = new float[VL];
        for (int l = 0; l < VL; l++) {
            first[l] = l < VL / 2 ? l : VL + l - VL / 2;
            second[l] = first[l] + VL / 2;
        }
        FIRST_STEP = FloatVector.fromArray(S, first, 0);
        SECOND_STEP = FloatVector.fromArray(S, second, 0);
    }

    private SgemmPack() {
    }

    /**
     * Packs rows {@code [i0, i0 + mb)}, steps {@code [p0, p0 + kb)} of {@code alpha · op(A)} into {@code ap}: row
     * panels as {@link SgemmKernel#panelRows} cuts them, the panel of row {@code ir} at {@code ap[ir·kb]}, each 14 or
     * 8 rows high, zero-padded, step-major: row {@code r} of step {@code p} at {@code h·p + r} for height {@code h}.
     */
    static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int mb, int p0, int kb, float alpha,
                      float[] ap) {
        packA(transA, a, aOff, lda, i0, mb, p0, kb, alpha, ap, 0);
    }

    /**
     * As above, into {@code ap} from {@code apOff} on. Packing a block's rows in parts gives the same panels as all at
     * once when each part but the last ends where a panel of the whole block ends.
     */
    static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int mb, int p0, int kb, float alpha,
                      float[] ap, int apOff) {
        for (int ir = 0, rows; ir < mb; ir += rows) {
            rows = SgemmKernel.panelRows(mb - ir);
            int height = rows > MR_SMALL ? MR : MR_SMALL;
            int dst = apOff + ir * kb;
            if (transA) {
                panelAT(a, aOff + p0 * lda + i0 + ir, lda, rows, height, kb, alpha, ap, dst);
            } else if (rows == height) {
                int src = aOff + (i0 + ir) * lda + p0;
                if (height == MR_LARGE) {
                    panel14(a, src, lda, kb, alpha, ap, dst);
                } else {
                    panel8(a, src, lda, kb, alpha, ap, dst);
                }
            } else {
                panelAEdge(a, aOff + (i0 + ir) * lda + p0, lda, rows, height, kb, alpha, ap, dst);
            }
        }
    }

    /** Eight rows of row-major A into an 8-row panel ({@code ap[dst + 8p + r]}), {@code VL} steps at a time. */
    private static void panel8(float[] a, int src, int lda, int kb, float alpha, float[] ap, int dst) {
        int p = 0;
        for (; p + VL <= kb; p += VL) {
            transpose8(a, src + p, lda, alpha, ap, dst + 8 * p);
        }
        for (; p < kb; p++) {
            for (int r = 0; r < 8; r++) {
                ap[dst + 8 * p + r] = alpha * a[src + r * lda + p];
            }
        }
    }

    /**
     * Fourteen rows of row-major A into a 14-row panel ({@code ap[dst + 14p + r]}). With 16 lanes, 16 steps at a
     * time: rows 0–7, then rows 8–13 with two zero rows, transposed as for an 8-row panel, then merged step by step
     * ({@link #merge14}). Other vector widths, and the last steps, element by element.
     */
    private static void panel14(float[] a, int src, int lda, int kb, float alpha, float[] ap, int dst) {
        int p = 0;
        if (VL == 16) {
            float[] t = SgemmWorkspace.get().transposed;
            for (; p + VL <= kb; p += VL) {
                transpose8(a, src + p, lda, alpha, t, 0);
                transpose6(a, src + 8 * lda + p, lda, alpha, t, 8 * VL);
                merge14(t, ap, dst + MR_LARGE * p, p + VL < kb);
            }
        }
        for (; p < kb; p++) {
            for (int r = 0; r < MR_LARGE; r++) {
                ap[dst + MR_LARGE * p + r] = alpha * a[src + r * lda + p];
            }
        }
    }

    /**
     * Eight rows of row-major A, {@code 8 × VL} at {@code a[s]}, times {@code alpha}, transposed in registers into
     * {@code out[o + 8q + r]} for step {@code q} and row {@code r}: each interleave round moves element (row r, lane c)
     * to where the bits of (r | c) rotated left by one point, so after three rounds the eight vectors, stored one
     * after another, hold the block step by step.
     */
    static void transpose8(float[] a, int s, int lda, float alpha, float[] out, int o) {
        FloatVector v0 = FloatVector.fromArray(S, a, s);
        FloatVector v1 = FloatVector.fromArray(S, a, s + lda);
        FloatVector v2 = FloatVector.fromArray(S, a, s + 2 * lda);
        FloatVector v3 = FloatVector.fromArray(S, a, s + 3 * lda);
        FloatVector v4 = FloatVector.fromArray(S, a, s + 4 * lda);
        FloatVector v5 = FloatVector.fromArray(S, a, s + 5 * lda);
        FloatVector v6 = FloatVector.fromArray(S, a, s + 6 * lda);
        FloatVector v7 = FloatVector.fromArray(S, a, s + 7 * lda);
        FloatVector w0 = LO.selectFrom(v0, v4);
        FloatVector w1 = HI.selectFrom(v0, v4);
        FloatVector w2 = LO.selectFrom(v1, v5);
        FloatVector w3 = HI.selectFrom(v1, v5);
        FloatVector w4 = LO.selectFrom(v2, v6);
        FloatVector w5 = HI.selectFrom(v2, v6);
        FloatVector w6 = LO.selectFrom(v3, v7);
        FloatVector w7 = HI.selectFrom(v3, v7);
        v0 = LO.selectFrom(w0, w4);
        v1 = HI.selectFrom(w0, w4);
        v2 = LO.selectFrom(w1, w5);
        v3 = HI.selectFrom(w1, w5);
        v4 = LO.selectFrom(w2, w6);
        v5 = HI.selectFrom(w2, w6);
        v6 = LO.selectFrom(w3, w7);
        v7 = HI.selectFrom(w3, w7);
        w0 = LO.selectFrom(v0, v4).mul(alpha);
        w1 = HI.selectFrom(v0, v4).mul(alpha);
        w2 = LO.selectFrom(v1, v5).mul(alpha);
        w3 = HI.selectFrom(v1, v5).mul(alpha);
        w4 = LO.selectFrom(v2, v6).mul(alpha);
        w5 = HI.selectFrom(v2, v6).mul(alpha);
        w6 = LO.selectFrom(v3, v7).mul(alpha);
        w7 = HI.selectFrom(v3, v7).mul(alpha);
        w0.intoArray(out, o);
        w1.intoArray(out, o + VL);
        w2.intoArray(out, o + 2 * VL);
        w3.intoArray(out, o + 3 * VL);
        w4.intoArray(out, o + 4 * VL);
        w5.intoArray(out, o + 5 * VL);
        w6.intoArray(out, o + 6 * VL);
        w7.intoArray(out, o + 7 * VL);
    }

    /**
     * As {@link #transpose8} for six rows and two zero rows. A copy rather than a row-count parameter: with the choice
     * inside one shared method, 14-row packing ran 20–40% slower (0.39–0.60 against 0.28–0.39 ns an element).
     */
    private static void transpose6(float[] a, int s, int lda, float alpha, float[] out, int o) {
        FloatVector v0 = FloatVector.fromArray(S, a, s);
        FloatVector v1 = FloatVector.fromArray(S, a, s + lda);
        FloatVector v2 = FloatVector.fromArray(S, a, s + 2 * lda);
        FloatVector v3 = FloatVector.fromArray(S, a, s + 3 * lda);
        FloatVector v4 = FloatVector.fromArray(S, a, s + 4 * lda);
        FloatVector v5 = FloatVector.fromArray(S, a, s + 5 * lda);
        FloatVector v6 = ZERO;
        FloatVector v7 = ZERO;
        FloatVector w0 = LO.selectFrom(v0, v4);
        FloatVector w1 = HI.selectFrom(v0, v4);
        FloatVector w2 = LO.selectFrom(v1, v5);
        FloatVector w3 = HI.selectFrom(v1, v5);
        FloatVector w4 = LO.selectFrom(v2, v6);
        FloatVector w5 = HI.selectFrom(v2, v6);
        FloatVector w6 = LO.selectFrom(v3, v7);
        FloatVector w7 = HI.selectFrom(v3, v7);
        v0 = LO.selectFrom(w0, w4);
        v1 = HI.selectFrom(w0, w4);
        v2 = LO.selectFrom(w1, w5);
        v3 = HI.selectFrom(w1, w5);
        v4 = LO.selectFrom(w2, w6);
        v5 = HI.selectFrom(w2, w6);
        v6 = LO.selectFrom(w3, w7);
        v7 = HI.selectFrom(w3, w7);
        w0 = LO.selectFrom(v0, v4).mul(alpha);
        w1 = HI.selectFrom(v0, v4).mul(alpha);
        w2 = LO.selectFrom(v1, v5).mul(alpha);
        w3 = HI.selectFrom(v1, v5).mul(alpha);
        w4 = LO.selectFrom(v2, v6).mul(alpha);
        w5 = HI.selectFrom(v2, v6).mul(alpha);
        w6 = LO.selectFrom(v3, v7).mul(alpha);
        w7 = HI.selectFrom(v3, v7).mul(alpha);
        w0.intoArray(out, o);
        w1.intoArray(out, o + VL);
        w2.intoArray(out, o + 2 * VL);
        w3.intoArray(out, o + 3 * VL);
        w4.intoArray(out, o + 4 * VL);
        w5.intoArray(out, o + 5 * VL);
        w6.intoArray(out, o + 6 * VL);
        w7.intoArray(out, o + 7 * VL);
    }

    /**
     * Puts 16 steps of a 14-row panel in place from their two transposed halves ({@code t[8q + r]}: rows 0–7 of step
     * q; {@code t[128 + 8q + r]}: rows 8–13 and two zeros): each step's 16 lanes picked from the two halves' vectors
     * and stored whole, its last two lanes landing on the next step's first two, which that step's store then writes.
     * Only where the next step is not written after ({@code more} false) does the last store go through a mask.
     * (Two masked stores per half-vector before: they were at times left to the Java fallback, bench/README.md,
     * tenth sitting.)
     */
    private static void merge14(float[] t, float[] out, int o, boolean more) {
        for (int j = 0; j < 8; j++, o += 2 * MR_LARGE) {
            FloatVector v1 = FloatVector.fromArray(S, t, j * VL);
            FloatVector v2 = FloatVector.fromArray(S, t, 8 * VL + j * VL);
            FIRST_STEP.selectFrom(v1, v2).intoArray(out, o);
            FloatVector second = SECOND_STEP.selectFrom(v1, v2);
            if (j < 7 || more) {
                second.intoArray(out, o + MR_LARGE);
            } else {
                second.intoArray(out, o + MR_LARGE, FIRST14);
            }
        }
    }

    /** Where row {@code r} of step {@code p} goes in a panel of {@code height} rows at {@code dst}. */
    private static int at(int dst, int height, int r, int p) {
        return dst + height * p + r;
    }

    /** A partial panel of row-major A ({@code rows < height}), zero-padded. */
    private static void panelAEdge(float[] a, int src, int lda, int rows, int height, int kb, float alpha, float[] ap,
                                   int dst) {
        for (int r = 0; r < height; r++) {
            for (int p = 0; p < kb; p++) {
                ap[at(dst, height, r, p)] = r < rows ? alpha * a[src + r * lda + p] : 0f;
            }
        }
    }

    /**
     * A panel of transposed A (stored {@code k × m}): each step is {@code rows} contiguous floats, read through a mask
     * and stored as the panel's {@code height} (the lanes past {@code rows} zero); element by element where a panel
     * is higher than a vector is long (vectors under 256 bits).
     */
    private static void panelAT(float[] a, int src, int lda, int rows, int height, int kb, float alpha, float[] ap,
                                int dst) {
        if (height > VL) {
            for (int p = 0; p < kb; p++) {
                int s = src + p * lda;
                for (int r = 0; r < height; r++) {
                    ap[at(dst, height, r, p)] = r < rows ? alpha * a[s + r] : 0f;
                }
            }
            return;
        }
        VectorMask<Float> load = S.indexInRange(0, rows);
        VectorMask<Float> store = S.indexInRange(0, height);
        for (int p = 0; p < kb; p++) {
            FloatVector.fromArray(S, a, src + p * lda, load).mul(alpha).intoArray(ap, dst + height * p, store);
        }
    }

    /** Packs steps {@code [p0, p0 + kb)}, columns {@code [j0, j0 + nb)} of {@code op(B)} into {@code bp}. */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kb, int j0, int nb,
                      MemorySegment bp) {
        int full = nb - nb % NR;
        if (!transB) {
            rowsB(b, bOff + p0 * ldb + j0, ldb, kb, full, bp);
        }
        for (int jr = transB ? 0 : full; jr < nb; jr += NR) {
            int cols = Math.min(NR, nb - jr);
            long dst = 4L * jr * kb;
            if (transB) {
                panelBT(b, bOff + (j0 + jr) * ldb + p0, ldb, cols, kb, bp, dst);
            } else {
                panelBEdge(b, bOff + p0 * ldb + j0 + jr, ldb, cols, kb, bp, dst);
            }
        }
    }

    /**
     * The full panels of row-major B, row by row: each row's {@code width} floats are read in order (one stream
     * the prefetcher follows, where panel by panel would hop across {@code kb} rows) and dealt out to the panels.
     */
    private static void rowsB(float[] b, int src, int ldb, int kb, int width, MemorySegment bp) {
        long panel = 4L * NR * kb;
        for (int p = 0; p < kb; p++) {
            int s = src + p * ldb;
            long d = 4L * p * NR;
            for (int j = 0; j < width; j += NR, d += panel) {
                FloatVector.fromArray(S, b, s + j).intoMemorySegment(bp, d, O);
                FloatVector.fromArray(S, b, s + j + VL).intoMemorySegment(bp, d + 4L * VL, O);
            }
        }
    }

    /**
     * A partial panel of row-major B ({@code cols < NR}), zero-padded: each row through the workspace's line,
     * zeroed past the columns, and stored as two whole vectors (element-wise stores into the segment cost a
     * bounds and alignment check each).
     */
    static void panelBEdge(float[] b, int src, int ldb, int cols, int kb, MemorySegment bp, long dst) {
        float[] line = SgemmWorkspace.get().edge;
        Arrays.fill(line, cols, NR, 0f);
        for (int p = 0; p < kb; p++) {
            System.arraycopy(b, src + p * ldb, line, 0, cols);
            long d = dst + 4L * p * NR;
            FloatVector.fromArray(S, line, 0).intoMemorySegment(bp, d, O);
            FloatVector.fromArray(S, line, VL).intoMemorySegment(bp, d + 4L * VL, O);
        }
    }

    /**
     * A panel of transposed B (stored {@code n × k}): column j of the panel is row j of the storage. A full panel
     * with 16 lanes goes 16 columns × 16 steps at a time: each half of the columns transposed by {@link #transpose8}
     * into the workspace's scratch (vector {@code j} then holds steps {@code 2j} and {@code 2j + 1} of eight columns),
     * and one more interleave of the two halves gives each step's 16 columns. The last steps, a partial panel
     * (zero-padded) and other vector widths go element by element.
     */
    private static void panelBT(float[] b, int src, int ldb, int cols, int kb, MemorySegment bp, long dst) {
        int p0 = 0;
        if (cols == NR && VL == 16) {
            float[] t = SgemmWorkspace.get().transposed;
            for (; p0 + VL <= kb; p0 += VL) {
                for (int c = 0; c < NR; c += VL) {
                    transpose8(b, src + c * ldb + p0, ldb, 1f, t, 0);
                    transpose8(b, src + (c + 8) * ldb + p0, ldb, 1f, t, 8 * VL);
                    long d = dst + 4L * (p0 * NR + c);
                    for (int j = 0; j < 8; j++, d += 8L * NR) {
                        FloatVector lo = FloatVector.fromArray(S, t, j * VL);
                        FloatVector hi = FloatVector.fromArray(S, t, (8 + j) * VL);
                        FIRST_STEP.selectFrom(lo, hi).intoMemorySegment(bp, d, O);
                        SECOND_STEP.selectFrom(lo, hi).intoMemorySegment(bp, d + 4L * NR, O);
                    }
                }
            }
        }
        for (int j = 0; j < NR; j++) {
            int s = src + j * ldb;
            long d = dst + 4L * j;
            for (int p = p0; p < kb; p++) {
                bp.set(F, d + 4L * p * NR, j < cols ? b[s + p] : 0f);
            }
        }
    }
}
