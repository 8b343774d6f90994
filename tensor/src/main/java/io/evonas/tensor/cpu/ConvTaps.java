package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.MR;
import static io.evonas.tensor.cpu.SgemmKernel.NR;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The weight gradient of a stride-1 convolution with the input's channels last: per image,
 * <pre>
 *   dw' [OC, kh·kw·C] += dy [OC, OH·OW] · X' [OH·OW, kh·kw·C],   X'[q, (t, c)] = x[c, q shifted by tap t]
 * </pre>
 * with the columns in tap-major order, so that a row of X' is, for each tap, the image's {@code C} channels at one
 * position: contiguous once the image is copied channels-last ({@code [HP·WP, C]}, zero-padded). B's 32-column
 * panels are then packed straight from that copy, two vector loads a position, and A is {@code dy} itself. Against
 * the im2col path ({@code dwᵀ = col · dyᵀ}) this writes no column matrix and transposes no 288-row A panel per
 * image; the product is the same sum in the same order (positions ascending, images in order), so the results agree
 * bit for bit. {@code dw'} is added into the caller's {@code [OC, C·kh·kw]} buffer at the end.
 *
 * <p>Taken for stride 1 (both ways), any padding and dilation, and a channel count that is a multiple of the vector
 * length (so each half panel is one load); {@code -Devonas.conv.taps=false} keeps the im2col path.
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
        return ENABLED && s.sh() == 1 && s.sw() == 1 && !g.pointwise() && NR == 2 * L && (L == 8 || L == 16)
                && g.c() % L == 0
                && g.p() >= ConvGemm.WEIGHTS_MIN_DEPTH;
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
        int[] tapAt = new int[taps];
        for (int i = 0, t = 0; i < s.kh(); i++) {
            for (int j = 0; j < s.kw(); j++) {
                tapAt[t++] = ((i * s.dh()) * wp + j * s.dw()) * c;
            }
        }
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
