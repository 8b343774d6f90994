package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.MR;
import static io.evonas.tensor.cpu.SgemmKernel.NR;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The backward passes of a stride-1 convolution with the image's channels last, so that one position's channels
 * for one tap are a contiguous run. Per image, with the columns of {@code taps·C} in tap-major order:
 * <pre>
 *   weight gradient  dw' [OC, taps·C] += dy [OC, OH·OW] · X' [OH·OW, taps·C],  X'[q, (t, c)] = x[c, q shifted by t]
 *   input gradient   P [OH·OW, taps·C] = dyᵀ · W' [OC, taps·C],                then P's runs added into dx
 * </pre>
 * For the weight gradient the image is copied channels-last ({@code [HP·WP, C]}, zero-padded) and B's 32-column
 * panels are packed straight from it, two vector loads a position, with {@code dy} itself as A. Against the im2col
 * path ({@code dwᵀ = col · dyᵀ}) this writes no column matrix and transposes no 288-row A panel per image; the product
 * is the same sum in the same order (positions ascending, images in order), so the results agree bit for bit
 * wherever the im2col path's per-image products are large enough for the blocked kernel.
 * For the input gradient, A is {@code dy} read down its columns and B the weights packed once; each row of P then
 * adds one run of {@code C} floats per tap into a channels-last gradient image, which is transposed into {@code dx}:
 * col2im's short rows become whole-vector additions. bench/README.md, tenth sitting, has what each measured.
 *
 * <p>Taken for stride 1 (both ways), any padding and dilation, a channel count that is a multiple of the vector
 * length (so each half panel is one load), and at least {@link ConvGemm#WEIGHTS_MIN_DEPTH} output positions an image;
 * the input gradient also needs at most {@code KC} output channels (one GEMM step block).
 * {@code -Devonas.conv.taps=false} keeps the im2col paths.
 */
final class ConvTaps {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Eight floats: one position's channels of a transposed block. */
    private static final VectorSpecies<Float> S8 = FloatVector.SPECIES_256;

    private static final boolean ENABLED = !"false".equals(System.getProperty("evonas.conv.taps"));

    private ConvTaps() {
    }

    /** Whether {@link #weights} takes {@code g}. */
    static boolean applies(ConvGeometry g) {
        ConvSpec s = g.spec();
        // the transposes take 8 or 16 lanes
        return ENABLED && s.sh() == 1 && s.sw() == 1 && !g.pointwise() && NR == 2 * L && (L == 8 || L == 16)
                && g.c() % L == 0 && g.p() >= ConvGemm.WEIGHTS_MIN_DEPTH;
    }

    /**
     * Adds the weight gradient of images {@code [from, to)} into {@code part [OC, C·kh·kw]} (row-major, the layout
     * of the weights), on this thread.
     */
    static void weights(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, int from, int to, float[] part) {
        ConvSpec s = g.spec();
        int c = g.c();
        int oc = g.oc();
        int p = g.p();
        int k = g.k();
        int taps = s.kh() * s.kw();
        int hp = g.h() + s.top() + s.bottom();
        int wp = g.w() + s.left() + s.right();
        ConvScratch sc = ConvScratch.get();
        SgemmWorkspace ws = SgemmWorkspace.get();
        float[] img = sc.col(hp * wp * c);
        float[] dw = sc.weightsT(oc * k);
        Arrays.fill(dw, 0, oc * k, 0f);
        int[] tapAt = tapOffsets(s, wp, c);
        int kc = SgemmBlocked.split(p, SgemmBlocked.KC, 1);
        float[] ap = ws.a(SgemmBlocked.roundUp(oc, MR) * kc);
        MemorySegment bp = ws.b((long) NR * kc);
        for (int n = from; n < to; n++) {
            channelsLast(g, x, xOff + n * g.inImage(), hp, wp, img);
            for (int pc = 0; pc < p; pc += kc) {
                int kb = Math.min(kc, p - pc);
                SgemmPack.packA(false, dy, dyOff + n * g.outImage(), p, 0, oc, pc, kb, 1f, ap);
                for (int j0 = 0; j0 < k; j0 += NR) {
                    panel(img, tapAt, c, k, j0, pc, kb, g.ow(), wp, bp);
                    SgemmBlocked.macro(ap, oc, kb, bp, Math.min(NR, k - j0), dw, j0, k, 1f, ws.tile);
                }
            }
        }
        // dw' columns (t, c) into the weights' (c, t)
        for (int o = 0; o < oc; o++) {
            int row = o * k;
            for (int t = 0; t < taps; t++) {
                for (int ci = 0; ci < c; ci++) {
                    part[row + ci * taps + t] += dw[row + t * c + ci];
                }
            }
        }
    }

    /** Whether {@link #input} takes {@code g}: as {@link #applies}, with at most {@code KC} output channels. */
    static boolean appliesInput(ConvGeometry g) {
        return applies(g) && g.oc() <= SgemmBlocked.KC;
    }

    /**
     * The weights {@code w [OC, C, kh, kw]} as B of {@link #input}, {@code W' [OC, taps·C]} with the columns in
     * tap-major order, packed into 32-column panels in the calling thread's scratch (read by every part of the call).
     */
    static MemorySegment packInputWeights(ConvGeometry g, float[] w, int wOff) {
        int c = g.c();
        int oc = g.oc();
        int k = g.k();
        int taps = k / c;
        float[] wt = new float[oc * k];
        for (int o = 0; o < oc; o++) {
            for (int ci = 0; ci < c; ci++) {
                for (int t = 0; t < taps; t++) {
                    wt[o * k + t * c + ci] = w[wOff + o * k + ci * taps + t];
                }
            }
        }
        MemorySegment bp = ConvScratch.get().panels((long) SgemmBlocked.roundUp(k, NR) * oc);
        SgemmPack.packB(false, wt, 0, k, 0, oc, 0, k, bp);
        return bp;
    }

    /**
     * {@code dx (+)=} the input gradient of images {@code [from, to)}, on this thread: per image
     * <pre>
     *   P [OH·OW, taps·C] = dyᵀ · W'      (A is dy read down its columns: 14 positions a panel, one row of dy a step)
     * </pre>
     * then each position's row of P added, tap by tap, into a channels-last gradient of the padded image (runs of
     * {@code C} floats, whole vectors), and that transposed into {@code dx}. No column matrix is written and col2im's
     * short rows become whole-vector additions.
     */
    static void input(ConvGeometry g, float[] dy, int dyOff, MemorySegment bp, float[] dx, int dxOff, int from, int to,
                      boolean accumulate) {
        ConvSpec s = g.spec();
        int c = g.c();
        int oc = g.oc();
        int p = g.p();
        int k = g.k();
        int taps = k / c;
        int ow = g.ow();
        int hp = g.h() + s.top() + s.bottom();
        int wp = g.w() + s.left() + s.right();
        ConvScratch sc = ConvScratch.get();
        SgemmWorkspace ws = SgemmWorkspace.get();
        int padded = hp * wp * c;
        // the transposing loads of a row's last block read up to 8 positions past it
        float[] img = sc.col(padded + 8 * c);
        float[] prod = sc.gemm(p * k);
        float[] ap = ws.a(SgemmBlocked.roundUp(p, MR) * oc);
        int[] tapAt = tapOffsets(s, wp, c);
        Arrays.fill(img, padded, padded + 8 * c, 0f);
        for (int n = from; n < to; n++) {
            SgemmPack.packA(true, dy, dyOff + n * g.outImage(), p, 0, p, 0, oc, 1f, ap);
            SgemmBlocked.macro(ap, p, oc, bp, k, prod, 0, k, 0f, ws.tile);
            Arrays.fill(img, 0, padded, 0f);
            for (int q = 0, y = 0, xq = 0; q < p; q++) {
                int base = (y * wp + xq) * c;
                int row = q * k;
                for (int t = 0; t < taps; t++) {
                    int dst = base + tapAt[t];
                    int src = row + t * c;
                    for (int c0 = 0; c0 < c; c0 += L) {
                        FloatVector.fromArray(S, img, dst + c0).add(FloatVector.fromArray(S, prod, src + c0))
                                .intoArray(img, dst + c0);
                    }
                }
                if (++xq == ow) {
                    xq = 0;
                    y++;
                }
            }
            channelsFirst(g, img, wp, dx, dxOff + n * g.inImage(), accumulate);
        }
    }

    /**
     * The interior of the channels-last padded image {@code img [HP·WP, C]} into (or, with {@code add}, onto)
     * {@code dx [C, H, W]}: blocks of 8 positions by {@code L} channels transposed by {@code SgemmPack}'s transpose
     * into eight floats a channel. Without padding the plane's positions are one run in both layouts, so only its
     * last block needs a mask; with padding each row is a run, its last block masked. (Masked stores of every row's
     * tail took 6% of a training step, the masks' bounds checks not compiled away.)
     */
    private static void channelsFirst(ConvGeometry g, float[] img, int wp, float[] dx, int dxOff, boolean add) {
        ConvSpec s = g.spec();
        int c = g.c();
        int h = g.h();
        int w = g.w();
        int plane = h * w;
        float[] block = new float[8 * L];
        boolean flat = s.top() + s.bottom() + s.left() + s.right() == 0;
        int runs = flat ? 1 : h;
        int run = flat ? plane : w;
        for (int r = 0; r < runs; r++) {
            int src = ((r + s.top()) * wp + s.left()) * c;
            int whole = run - run % 8;
            for (int c0 = 0; c0 < c; c0 += L) {
                int dst = dxOff + c0 * plane + r * w;
                for (int col = 0; col < whole; col += 8) {
                    SgemmPack.transpose8(img, src + col * c + c0, c, 1f, block, 0);
                    for (int q = 0; q < L; q++) {
                        int at = dst + q * plane + col;
                        FloatVector v = FloatVector.fromArray(S8, block, 8 * q);
                        if (add) {
                            v.add(FloatVector.fromArray(S8, dx, at)).intoArray(dx, at);
                        } else {
                            v.intoArray(dx, at);
                        }
                    }
                }
                if (whole < run) {
                    VectorMask<Float> m = S8.indexInRange(0, run - whole);
                    SgemmPack.transpose8(img, src + whole * c + c0, c, 1f, block, 0);
                    for (int q = 0; q < L; q++) {
                        int at = dst + q * plane + whole;
                        FloatVector v = FloatVector.fromArray(S8, block, 8 * q);
                        if (add) {
                            v.add(FloatVector.fromArray(S8, dx, at, m)).intoArray(dx, at, m);
                        } else {
                            v.intoArray(dx, at, m);
                        }
                    }
                }
            }
        }
    }

    /** Each tap's offset in a channels-last padded image {@code [HP·WP, C]}, in kernel order. */
    private static int[] tapOffsets(ConvSpec s, int wp, int c) {
        int[] at = new int[s.kh() * s.kw()];
        for (int i = 0, t = 0; i < s.kh(); i++) {
            for (int j = 0; j < s.kw(); j++) {
                at[t++] = ((i * s.dh()) * wp + j * s.dw()) * c;
            }
        }
        return at;
    }

    /**
     * Columns {@code [j0, j0 + NR)} of X' for positions {@code [pc, pc + kb)} into the panel {@code bp}: per position,
     * each half of the panel is one tap's run of {@code L} channels; a half past column {@code k} is zeros.
     */
    private static void panel(float[] img, int[] tapAt, int c, int k, int j0, int pc, int kb, int ow, int wp,
                              MemorySegment bp) {
        int lo = tapAt[j0 / c] + j0 % c;
        boolean two = j0 + L < k;
        int hi = two ? tapAt[(j0 + L) / c] + (j0 + L) % c : 0;
        int y = pc / ow;
        int xq = pc - y * ow;
        int pos = (y * wp + xq) * c;
        FloatVector zero = FloatVector.zero(S);
        for (int q = 0; q < kb; q++) {
            long d = 4L * NR * q;
            FloatVector.fromArray(S, img, pos + lo).intoMemorySegment(bp, d, SgemmKernel.O);
            if (two) {
                FloatVector.fromArray(S, img, pos + hi).intoMemorySegment(bp, d + 4L * L, SgemmKernel.O);
            } else {
                zero.intoMemorySegment(bp, d + 4L * L, SgemmKernel.O);
            }
            pos += c;
            if (++xq == ow) {
                xq = 0;
                pos += (wp - ow) * c;
            }
        }
    }

    /**
     * Image {@code x[xOff]} ({@code [C, H, W]}) into {@code img [HP·WP, C]}, zero-padded: blocks of 8 channels by
     * {@code L} positions of a row transposed in registers by {@code SgemmPack}'s transpose into eight floats a
     * position, then copied to the positions the row has (the block's loads run past a row's end into the next row,
     * or at the array's end go element by element). Gathering each position's channels took 1.7× as long; a 16 × 16
     * transpose in one method was too large for C1, and where its C2 code never came it ran 25× slower.
     */
    static void channelsLast(ConvGeometry g, float[] x, int xOff, int hp, int wp, float[] img) {
        ConvSpec s = g.spec();
        int c = g.c();
        int h = g.h();
        int w = g.w();
        int plane = h * w;
        if (hp != h || wp != w) {
            Arrays.fill(img, 0, hp * wp * c, 0f);
        }
        float[] block = new float[8 * L];
        for (int c0 = 0; c0 < c; c0 += 8) {
            for (int r = 0; r < h; r++) {
                int src = xOff + c0 * plane + r * w;
                int dst = ((r + s.top()) * wp + s.left()) * c + c0;
                for (int col = 0; col < w; col += L) {
                    int lanes = Math.min(L, w - col);
                    int at = src + col;
                    if (at + 7 * plane + L <= x.length) {
                        SgemmPack.transpose8(x, at, plane, 1f, block, 0);
                        for (int q = 0; q < lanes; q++) {
                            FloatVector.fromArray(S8, block, 8 * q).intoArray(img, dst + (col + q) * c);
                        }
                    } else {
                        for (int q = 0; q < lanes; q++) {
                            for (int i = 0; i < 8; i++) {
                                img[dst + (col + q) * c + i] = x[at + i * plane + q];
                            }
                        }
                    }
                }
            }
        }
    }
}
