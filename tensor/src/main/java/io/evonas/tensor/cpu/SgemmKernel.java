package io.evonas.tensor.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SGEMM micro-kernels: one tile of C, {@code 14 × NR} or {@code 8 × NR} with {@code NR = 2·VL} (32 with
 * AVX-512), as a sum of {@code kc} outer products of a packed A micro-panel (elements broadcast) and a B
 * micro-panel (two vectors per step). The 14-row kernel keeps 28 accumulators, two B vectors and a broadcast in
 * the 32 vector registers and loads only 128 bytes of B per 28 FMAs, which is what lets B stream from L2 at full
 * speed; the 8-row kernel serves the last rows when that avoids padding.
 *
 * <p>Layouts. A panel (heap, alpha folded in) is step-major, the panel's rows of step {@code p} at
 * {@code a[ai + h·p + r]} for its height {@code h} (14 or 8): the loop then walks a single index, which C2 turns
 * into a loop with few scalar instructions (a second index for the last rows cost 20% and more: it spilled).
 * Packed B panel: 64-byte aligned native memory (a B load that crosses a cache line costs 15–20% here), column
 * {@code j} of step {@code p} at byte {@code bi + 4·(p·NR + j)}. Unpacked B (row-major, read in place when k is
 * tiny): {@code b[bi + p·ldb + j]}. A tile is written as {@code C = acc + beta·C}; C is not read when
 * {@code beta == 0}.
 *
 * <p>The four kernels differ only in the row count and where B comes from; they are written out in full because
 * C2 keeps the accumulators in registers only when every vector stays inside one compiled method.
 */
final class SgemmKernel {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Rows of the large tile ({@link #tile14}) and of its panels. */
    static final int MR_LARGE = 14;
    /** Rows of the small tile. */
    static final int MR_SMALL = 8;
    /**
     * Rows of the main panels: 14 with 32 vector registers (AVX-512); with narrower vectors (AVX2's 16 registers) the
     * 14-row kernel's 28 accumulators spill (0.68 of the 12-row kernel, itself spilling), so every panel is 8 rows.
     */
    static final int MR = VL >= 16 ? MR_LARGE : MR_SMALL;
    static final int NR = 2 * VL;
    static final ByteOrder O = ByteOrder.nativeOrder();
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final long NR_BYTES = 4L * NR;
    private static final long VL_BYTES = 4L * VL;

    private SgemmKernel() {
    }

    /** A full 14-row tile at {@code c[ci]} (row stride {@code ldc}) from packed A and packed B panels. */
    static void tile14(int kc, float[] a, int ai, MemorySegment b, long bi, float[] c, int ci, int ldc, float beta) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        FloatVector c80 = z, c81 = z, c90 = z, c91 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        FloatVector c120 = z, c121 = z, c130 = z, c131 = z;
        for (int end = ai + MR_LARGE * kc; ai < end; ai += MR_LARGE) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, O);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + VL_BYTES, O);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[ai + 8]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[ai + 9]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[ai + 10]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(S, a[ai + 11]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
            x = FloatVector.broadcast(S, a[ai + 12]);
            c120 = x.fma(b0, c120);
            c121 = x.fma(b1, c121);
            x = FloatVector.broadcast(S, a[ai + 13]);
            c130 = x.fma(b0, c130);
            c131 = x.fma(b1, c131);
            bi += NR_BYTES;
        }
        // Stores written out here, not in a helper: a helper that failed to inline would box the accumulators
        // inside the loop (measured 10× slower).
        if (beta == 0) {
            c00.intoArray(c, ci);
            c01.intoArray(c, ci + VL);
            ci += ldc;
            c10.intoArray(c, ci);
            c11.intoArray(c, ci + VL);
            ci += ldc;
            c20.intoArray(c, ci);
            c21.intoArray(c, ci + VL);
            ci += ldc;
            c30.intoArray(c, ci);
            c31.intoArray(c, ci + VL);
            ci += ldc;
            c40.intoArray(c, ci);
            c41.intoArray(c, ci + VL);
            ci += ldc;
            c50.intoArray(c, ci);
            c51.intoArray(c, ci + VL);
            ci += ldc;
            c60.intoArray(c, ci);
            c61.intoArray(c, ci + VL);
            ci += ldc;
            c70.intoArray(c, ci);
            c71.intoArray(c, ci + VL);
            ci += ldc;
            c80.intoArray(c, ci);
            c81.intoArray(c, ci + VL);
            ci += ldc;
            c90.intoArray(c, ci);
            c91.intoArray(c, ci + VL);
            ci += ldc;
            c100.intoArray(c, ci);
            c101.intoArray(c, ci + VL);
            ci += ldc;
            c110.intoArray(c, ci);
            c111.intoArray(c, ci + VL);
            ci += ldc;
            c120.intoArray(c, ci);
            c121.intoArray(c, ci + VL);
            ci += ldc;
            c130.intoArray(c, ci);
            c131.intoArray(c, ci + VL);
        } else {
            // beta·C + acc in one rounding (with beta == 1 exactly C + acc)
            FloatVector bv = FloatVector.broadcast(S, beta);
            FloatVector.fromArray(S, c, ci).fma(bv, c00).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c01).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c10).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c11).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c20).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c21).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c30).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c31).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c40).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c41).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c50).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c51).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c60).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c61).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c70).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c71).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c80).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c81).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c90).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c91).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c100).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c101).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c110).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c111).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c120).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c121).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c130).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c131).intoArray(c, ci + VL);
        }
    }

    /** A full 8-row tile from packed A and packed B panels. */
    static void tile8(int kc, float[] a, int ai, MemorySegment b, long bi, float[] c, int ci, int ldc, float beta) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, bi, O);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, bi + VL_BYTES, O);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            ai += 8;
            bi += NR_BYTES;
        }
        // Stores written out here, not in a helper: a helper that failed to inline would box the accumulators
        // inside the loop (measured 10× slower).
        if (beta == 0) {
            c00.intoArray(c, ci);
            c01.intoArray(c, ci + VL);
            ci += ldc;
            c10.intoArray(c, ci);
            c11.intoArray(c, ci + VL);
            ci += ldc;
            c20.intoArray(c, ci);
            c21.intoArray(c, ci + VL);
            ci += ldc;
            c30.intoArray(c, ci);
            c31.intoArray(c, ci + VL);
            ci += ldc;
            c40.intoArray(c, ci);
            c41.intoArray(c, ci + VL);
            ci += ldc;
            c50.intoArray(c, ci);
            c51.intoArray(c, ci + VL);
            ci += ldc;
            c60.intoArray(c, ci);
            c61.intoArray(c, ci + VL);
            ci += ldc;
            c70.intoArray(c, ci);
            c71.intoArray(c, ci + VL);
        } else {
            // beta·C + acc in one rounding (with beta == 1 exactly C + acc)
            FloatVector bv = FloatVector.broadcast(S, beta);
            FloatVector.fromArray(S, c, ci).fma(bv, c00).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c01).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c10).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c11).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c20).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c21).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c30).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c31).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c40).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c41).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c50).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c51).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c60).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c61).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c70).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c71).intoArray(c, ci + VL);
        }
    }

    /** A full 14-row tile from a packed A panel and row-major B read in place (row stride {@code ldb}). */
    static void direct14(int kc, float[] a, int ai, float[] b, int bi, int ldb, float[] c, int ci, int ldc,
                         float beta) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        FloatVector c80 = z, c81 = z, c90 = z, c91 = z, c100 = z, c101 = z, c110 = z, c111 = z;
        FloatVector c120 = z, c121 = z, c130 = z, c131 = z;
        for (int end = ai + MR_LARGE * kc; ai < end; ai += MR_LARGE) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, a[ai + 8]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, a[ai + 9]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, a[ai + 10]);
            c100 = x.fma(b0, c100);
            c101 = x.fma(b1, c101);
            x = FloatVector.broadcast(S, a[ai + 11]);
            c110 = x.fma(b0, c110);
            c111 = x.fma(b1, c111);
            x = FloatVector.broadcast(S, a[ai + 12]);
            c120 = x.fma(b0, c120);
            c121 = x.fma(b1, c121);
            x = FloatVector.broadcast(S, a[ai + 13]);
            c130 = x.fma(b0, c130);
            c131 = x.fma(b1, c131);
            bi += ldb;
        }
        // Stores written out here, not in a helper: a helper that failed to inline would box the accumulators
        // inside the loop (measured 10× slower).
        if (beta == 0) {
            c00.intoArray(c, ci);
            c01.intoArray(c, ci + VL);
            ci += ldc;
            c10.intoArray(c, ci);
            c11.intoArray(c, ci + VL);
            ci += ldc;
            c20.intoArray(c, ci);
            c21.intoArray(c, ci + VL);
            ci += ldc;
            c30.intoArray(c, ci);
            c31.intoArray(c, ci + VL);
            ci += ldc;
            c40.intoArray(c, ci);
            c41.intoArray(c, ci + VL);
            ci += ldc;
            c50.intoArray(c, ci);
            c51.intoArray(c, ci + VL);
            ci += ldc;
            c60.intoArray(c, ci);
            c61.intoArray(c, ci + VL);
            ci += ldc;
            c70.intoArray(c, ci);
            c71.intoArray(c, ci + VL);
            ci += ldc;
            c80.intoArray(c, ci);
            c81.intoArray(c, ci + VL);
            ci += ldc;
            c90.intoArray(c, ci);
            c91.intoArray(c, ci + VL);
            ci += ldc;
            c100.intoArray(c, ci);
            c101.intoArray(c, ci + VL);
            ci += ldc;
            c110.intoArray(c, ci);
            c111.intoArray(c, ci + VL);
            ci += ldc;
            c120.intoArray(c, ci);
            c121.intoArray(c, ci + VL);
            ci += ldc;
            c130.intoArray(c, ci);
            c131.intoArray(c, ci + VL);
        } else {
            // beta·C + acc in one rounding (with beta == 1 exactly C + acc)
            FloatVector bv = FloatVector.broadcast(S, beta);
            FloatVector.fromArray(S, c, ci).fma(bv, c00).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c01).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c10).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c11).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c20).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c21).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c30).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c31).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c40).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c41).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c50).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c51).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c60).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c61).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c70).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c71).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c80).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c81).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c90).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c91).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c100).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c101).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c110).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c111).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c120).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c121).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c130).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c131).intoArray(c, ci + VL);
        }
    }

    /** A full 8-row tile from a packed A panel and row-major B read in place. */
    static void direct8(int kc, float[] a, int ai, float[] b, int bi, int ldb, float[] c, int ci, int ldc,
                        float beta) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + VL);
            FloatVector x = FloatVector.broadcast(S, a[ai]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ai + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ai + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ai + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ai + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ai + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, a[ai + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, a[ai + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            ai += 8;
            bi += ldb;
        }
        // Stores written out here, not in a helper: a helper that failed to inline would box the accumulators
        // inside the loop (measured 10× slower).
        if (beta == 0) {
            c00.intoArray(c, ci);
            c01.intoArray(c, ci + VL);
            ci += ldc;
            c10.intoArray(c, ci);
            c11.intoArray(c, ci + VL);
            ci += ldc;
            c20.intoArray(c, ci);
            c21.intoArray(c, ci + VL);
            ci += ldc;
            c30.intoArray(c, ci);
            c31.intoArray(c, ci + VL);
            ci += ldc;
            c40.intoArray(c, ci);
            c41.intoArray(c, ci + VL);
            ci += ldc;
            c50.intoArray(c, ci);
            c51.intoArray(c, ci + VL);
            ci += ldc;
            c60.intoArray(c, ci);
            c61.intoArray(c, ci + VL);
            ci += ldc;
            c70.intoArray(c, ci);
            c71.intoArray(c, ci + VL);
        } else {
            // beta·C + acc in one rounding (with beta == 1 exactly C + acc)
            FloatVector bv = FloatVector.broadcast(S, beta);
            FloatVector.fromArray(S, c, ci).fma(bv, c00).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c01).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c10).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c11).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c20).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c21).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c30).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c31).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c40).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c41).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c50).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c51).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c60).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c61).intoArray(c, ci + VL);
            ci += ldc;
            FloatVector.fromArray(S, c, ci).fma(bv, c70).intoArray(c, ci);
            FloatVector.fromArray(S, c, ci + VL).fma(bv, c71).intoArray(c, ci + VL);
        }
    }

    /**
     * The rows of the next row panel when {@code rest} rows remain: 14 while possible, the tail as 8-row panels
     * where that pads less (16 = 8 + 8 and 15 = 8 + 7; so 64 rows are four 14s and an 8, 32 are 14, 14 and 4 in an
     * 8-row panel, 288 are twenty 14s and an 8).
     */
    static int panelRows(int rest) {
        return rest == 15 || rest == 16 ? MR_SMALL : Math.min(rest, MR);
    }

    /**
     * A tile of {@code mr} rows (the kernel: 14 if {@code mr > 8}, else 8) and {@code nr ≤ NR} columns from packed
     * panels, at full size when it fits, else through {@code tmp} ({@code MR·NR} floats) and merged into C.
     */
    static void tile(int kc, float[] a, int ai, MemorySegment b, long bi, float[] c, int ci, int ldc, float beta,
                     int mr, int nr, float[] tmp) {
        if (nr == NR && (mr == MR_LARGE || mr == MR_SMALL)) {
            if (mr == MR_LARGE) {
                tile14(kc, a, ai, b, bi, c, ci, ldc, beta);
            } else {
                tile8(kc, a, ai, b, bi, c, ci, ldc, beta);
            }
        } else {
            if (mr > MR_SMALL) {
                tile14(kc, a, ai, b, bi, tmp, 0, NR, 0f);
            } else {
                tile8(kc, a, ai, b, bi, tmp, 0, NR, 0f);
            }
            merge(tmp, c, ci, ldc, beta, mr, nr);
        }
    }

    /** As {@link #tile} for a full column panel of row-major B read in place. */
    static void direct(int kc, float[] a, int ai, float[] b, int bi, int ldb, float[] c, int ci, int ldc, float beta,
                       int mr, float[] tmp) {
        if (mr == MR_LARGE) {
            direct14(kc, a, ai, b, bi, ldb, c, ci, ldc, beta);
        } else if (mr == MR_SMALL) {
            direct8(kc, a, ai, b, bi, ldb, c, ci, ldc, beta);
        } else {
            if (mr > MR_SMALL) {
                direct14(kc, a, ai, b, bi, ldb, tmp, 0, NR, 0f);
            } else {
                direct8(kc, a, ai, b, bi, ldb, tmp, 0, NR, 0f);
            }
            merge(tmp, c, ci, ldc, beta, mr, NR);
        }
    }

    /** {@code C = T + beta·C} on the {@code mr × nr} corner of a scratch tile {@code T}. */
    private static void merge(float[] tmp, float[] c, int ci, int ldc, float beta, int mr, int nr) {
        for (int i = 0; i < mr; i++) {
            int ti = i * NR;
            int row = ci + i * ldc;
            if (beta == 0) {
                System.arraycopy(tmp, ti, c, row, nr);
            } else {
                for (int j = 0; j < nr; j++) {
                    c[row + j] = Math.fma(beta, c[row + j], tmp[ti + j]);
                }
            }
        }
    }
}
