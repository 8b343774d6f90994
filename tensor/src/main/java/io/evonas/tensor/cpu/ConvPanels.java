package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.MR;
import static io.evonas.tensor.cpu.SgemmKernel.NR;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The forward pass's GEMM operand B, the im2col matrix of a group of images, packed straight into
 * {@link SgemmKernel}'s 32-column panels from the (zero-padded) images, for stride-1 convolutions: the column
 * matrix itself is never written. A panel's 32 output positions cover two or three output rows, so within one
 * input row of one tap they sit at offsets {@code 0 ≤ off[l] < 48} from the first (a row's {@code wp - ow}
 * padding columns skipped); each panel row is then three vector loads and two two-vector selections with the
 * panel's offsets as indices, the same for all {@code C·kh·kw} rows. A panel across two images blends two such
 * halves.
 *
 * <p>Each panel, once packed (36 KB for the reference CNN's conv2, in L1), is multiplied at once by every row panel
 * of the weights into the group's product matrix, rather than all panels packed first and then swept row panel by
 * row panel from L2 as in {@link SgemmBlocked}: the convolution alone ran 6–10% faster on one thread (thread CPU
 * time, three alternations, bench/README.md). {@link ConvGemm} scatters the products into the output as before:
 * the values are those of the im2col path bit for bit.
 */
final class ConvPanels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** {@code -Devonas.conv.panels=false} keeps im2col for these convolutions. */
    private static final boolean ENABLED = !"false".equals(System.getProperty("evonas.conv.panels"));

    private ConvPanels() {
    }

    /**
     * Whether {@code g} takes this path: stride 1, a depth within one GEMM step block, 32 output positions per
     * image or more, and rows whose padding columns keep a panel's positions within a 48-float window of each
     * input row.
     */
    static boolean applies(ConvGeometry g) {
        ConvSpec s = g.spec();
        if (!ENABLED || s.sh() != 1 || s.sw() != 1 || g.pointwise() || g.k() > SgemmBlocked.KC || g.p() < NR
                || NR != 2 * L) {
            return false;
        }
        int skip = s.left() + s.right() + g.w() - g.ow(); // wp - ow
        // a run of n positions crosses at most n / ow + 1 row ends
        return (long) skip * (L / g.ow() + 1) + L - 1 < 2L * L && (long) skip * (NR / g.ow() + 1) + NR - 1 < 3L * L;
    }

    /** Floats a group of {@code gn} images takes in the padded scratch, with the slack the loads may read. */
    static int scratchSize(ConvGeometry g, int gn) {
        ConvSpec s = g.spec();
        int hp = g.h() + s.top() + s.bottom();
        int wp = g.w() + s.left() + s.right();
        return gn * g.c() * hp * wp + 3 * L + wp;
    }

    /**
     * {@code tmp [oc, ld] = w · col} for the group of {@code gn} images at {@code x[xOff]}: the images padded
     * into {@code img} (or read in place when there is no padding), then each B panel packed into {@code bp}
     * ({@link #panelFloats} floats) and multiplied by every row panel. {@code ap} holds the weights packed by
     * {@link SgemmPack#packA}.
     */
    static void product(ConvGeometry g, float[] x, int xOff, int gn, float[] ap, float[] img, MemorySegment bp,
                        float[] tmp, int ld, SgemmWorkspace ws) {
        ConvSpec s = g.spec();
        int hp = g.h() + s.top() + s.bottom();
        int wp = g.w() + s.left() + s.right();
        int image = g.c() * hp * wp;
        int k = g.k();
        int p = g.p();
        int ow = g.ow();
        // Without padding the images are read in place where the loads' slack past the group stays inside x;
        // otherwise they are copied, zero-padded, into img.
        float[] data = x;
        int origin = xOff;
        if (hp != g.h() || wp != g.w() || (long) xOff + scratchSize(g, gn) > x.length) {
            pad(g, x, xOff, gn, hp, wp, img);
            data = img;
            origin = 0;
        }
        int[] taps = new int[k];
        for (int ci = 0, t = 0; ci < g.c(); ci++) {
            for (int i = 0; i < s.kh(); i++) {
                for (int j = 0; j < s.kw(); j++) {
                    taps[t++] = (ci * hp + i * s.dh()) * wp + j * s.dw();
                }
            }
        }
        int cols = gn * p;
        float[] lo = new float[L];
        float[] hi = new float[L];
        float[] lo2 = new float[L];
        float[] hi2 = new float[L];
        int oc = g.oc();
        for (int j0 = 0; j0 < cols; j0 += NR) {
            int n = j0 / p;
            int p0 = j0 - n * p;
            int first = Math.min(NR, p - p0); // lanes in image n; the rest in image n + 1 (or past the group)
            int base = origin + n * image + position(p0, ow, wp);
            offsets(p0, first, ow, wp, lo, hi);
            FloatVector ilo = FloatVector.fromArray(S, lo, 0);
            FloatVector ihi = FloatVector.fromArray(S, hi, 0);
            if (first == NR) {
                for (int t = 0; t < k; t++) {
                    int src = base + taps[t];
                    FloatVector v0 = FloatVector.fromArray(S, data, src);
                    FloatVector v1 = FloatVector.fromArray(S, data, src + L);
                    FloatVector v2 = FloatVector.fromArray(S, data, src + 2 * L);
                    long d = 4L * NR * t;
                    ilo.selectFrom(v0, v1).intoMemorySegment(bp, d, SgemmKernel.O);
                    ihi.selectFrom(v1, v2).intoMemorySegment(bp, d + 4L * L, SgemmKernel.O);
                }
            } else {
                // Across an image boundary: lanes [0, first) from image n as above, the others from the start of
                // image n + 1 (zeros past the group): its low lanes from a window at its first position, its high
                // lanes from a window at the position of lane L, and the halves blended.
                int h = position(Math.max(0, L - first), ow, wp);
                Arrays.fill(lo2, 0f);
                Arrays.fill(hi2, 0f);
                for (int l = first; l < NR; l++) {
                    int q = position(l - first, ow, wp);
                    if (l < L) {
                        lo2[l] = q;
                    } else {
                        hi2[l - L] = q - h;
                    }
                }
                FloatVector jlo = FloatVector.fromArray(S, lo2, 0);
                FloatVector jhi = FloatVector.fromArray(S, hi2, 0);
                var mlo = S.indexInRange(0, first);
                var mhi = S.indexInRange(L, first);
                boolean next = n + 1 < gn;
                int base2 = origin + (n + 1) * image;
                for (int t = 0; t < k; t++) {
                    int src = base + taps[t];
                    FloatVector v0 = FloatVector.fromArray(S, data, src);
                    FloatVector v1 = FloatVector.fromArray(S, data, src + L);
                    FloatVector v2 = FloatVector.fromArray(S, data, src + 2 * L);
                    FloatVector a = ilo.selectFrom(v0, v1);
                    FloatVector b = ihi.selectFrom(v1, v2);
                    FloatVector c = FloatVector.zero(S);
                    FloatVector e = c;
                    if (next) {
                        int src2 = base2 + taps[t];
                        c = jlo.selectFrom(FloatVector.fromArray(S, data, src2),
                                FloatVector.fromArray(S, data, src2 + L));
                        e = jhi.selectFrom(FloatVector.fromArray(S, data, src2 + h),
                                FloatVector.fromArray(S, data, src2 + h + L));
                    }
                    long d = 4L * NR * t;
                    c.blend(a, mlo).intoMemorySegment(bp, d, SgemmKernel.O);
                    e.blend(b, mhi).intoMemorySegment(bp, d + 4L * L, SgemmKernel.O);
                }
            }
            SgemmBlocked.macro(ap, oc, k, bp, Math.min(NR, cols - j0), tmp, j0, ld, 0f, ws.tile);
        }
    }

    /** Floats of the packed B panel {@link #product} needs for {@code g}. */
    static long panelFloats(ConvGeometry g) {
        return (long) NR * g.k();
    }

    /** Offset of output position {@code q} of an image from the padded input's start, for the tap (0, 0). */
    private static int position(int q, int ow, int wp) {
        return (q / ow) * wp + q % ow;
    }

    /**
     * The selection indices of lanes {@code [0, lanes)} of a panel whose lane {@code l} is output position
     * {@code q0 + l}, relative to lane 0's position: lanes below {@code L} into {@code lo} (offsets in
     * {@code [0, 2L)}), the others into {@code hi} less {@code L}. Lanes from {@code lanes} on get index 0.
     */
    private static void offsets(int q0, int lanes, int ow, int wp, float[] lo, float[] hi) {
        Arrays.fill(lo, 0f);
        Arrays.fill(hi, 0f);
        int origin = position(q0, ow, wp);
        for (int l = 0; l < lanes; l++) {
            int off = position(q0 + l, ow, wp) - origin;
            if (l < L) {
                lo[l] = off;
            } else {
                hi[l - L] = off - L;
            }
        }
    }

    /** Images {@code [0, gn)} into {@code img}, zero-padded, with zeros after them up to {@link #scratchSize}. */
    private static void pad(ConvGeometry g, float[] x, int xOff, int gn, int hp, int wp, float[] img) {
        ConvSpec s = g.spec();
        int padded = gn * g.c() * hp * wp;
        if (hp == g.h() && wp == g.w()) {
            System.arraycopy(x, xOff, img, 0, padded);
        } else {
            Arrays.fill(img, 0, padded, 0f);
            for (int pl = 0; pl < gn * g.c(); pl++) {
                for (int r = 0; r < g.h(); r++) {
                    System.arraycopy(x, xOff + (pl * g.h() + r) * g.w(), img,
                            (pl * hp + r + s.top()) * wp + s.left(), g.w());
                }
            }
        }
        Arrays.fill(img, padded, scratchSize(g, gn), 0f);
    }

    /** Weights {@code w [oc, k]} packed as A row panels. */
    static float[] packWeights(ConvGeometry g, float[] w, int wOff) {
        float[] ap = new float[SgemmBlocked.roundUp(g.oc(), MR) * g.k()];
        SgemmPack.packA(false, w, wOff, g.k(), 0, g.oc(), 0, g.k(), 1f, ap);
        return ap;
    }
}
