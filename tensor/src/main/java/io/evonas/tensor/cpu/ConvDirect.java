package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct convolution for layers with few input channels and stride 1 along the width — typically a network's
 * first layer, where {@code k = c * kh * kw} is too small for a GEMM to pay off (the im2col matrix is as large as
 * the output, and the GEMM is bound by writing it). Vectorised along output rows: an output vector is the sum over
 * taps of a weight times an input row segment, read straight from the (zero-padded) image, four output channels
 * at a time so each input load feeds four FMAs. With nine taps (a 3×3 kernel on one channel) the forward pass
 * takes two channels at a time instead, whose eighteen weights stay in registers for the whole plane
 * ({@link #forward2k9}: the reference CNN's fused first block ran 11% faster in inference, median of paired
 * runs), and the weight gradient two channels and all nine taps in one pass ({@link #weights2k9}: that block's
 * backward pass 12% faster). A 3×3 kernel on one channel with unit height stride and dilation computes two
 * output rows per step, which share two of their three input rows ({@link #forward3x3Pairs}: 12 input loads per
 * 36 multiply-adds instead of 18; the kernel alone 1.29× faster). These loops are bound by their loads more than
 * by their multiply-adds: a 64-byte load at an unaligned address splits two cache lines and costs about two
 * cycles here (bench/README.md, sixth sitting).
 *
 * <p>No masks: a row's last vector overlaps the one before it (recomputing, in the forward pass, values already
 * written; in the weight gradient its repeated lanes are multiplied by zero), so rows must be at least one vector
 * wide ({@link #applies}). Masked loads with a mask that is not a constant were boxed by C2 here and ran 10× slower.
 */
final class ConvDirect {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Largest input channel count that takes the direct path. */
    static final int MAX_CHANNELS = 3;

    /** Output channels computed together, sharing each input load. */
    private static final int BLOCK = 4;

    private ConvDirect() {
    }

    /** Whether {@code g} takes the direct path: few input channels, width stride 1, rows of a vector or more. */
    static boolean applies(ConvGeometry g) {
        return g.c() <= MAX_CHANNELS && g.spec().sw() == 1 && g.ow() >= L && !g.pointwise();
    }

    /** {@code y = conv(x, w) + b}; {@code bOff < 0} means no bias. */
    static void forward(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, float[] b, int bOff,
                        float[] y, int yOff) {
        int blocks = (g.oc() + BLOCK - 1) / BLOCK;
        Parallel.forRange(g.n() * blocks, blocks, (from, to) -> {
            Padded img = new Padded(g);
            for (int u = from; u < to; u++) {
                int n = u / blocks;
                int o = (u - n * blocks) * BLOCK;
                img.load(x, xOff + n * g.inImage(), n);
                channels(g, img, w, wOff, b, bOff, o, Math.min(o + BLOCK, g.oc()), y,
                        yOff + (n * g.oc() + o) * g.p());
            }
        });
    }

    /**
     * Output channels {@code [o0, o1)} of the image {@code img} holds, into {@code y} from {@code yOff} (channel
     * {@code o0}'s plane; the others follow, {@code oh·ow} apart): four channels at a time, then one at a time.
     */
    static void channels(ConvGeometry g, Padded img, float[] w, int wOff, float[] b, int bOff, int o0, int o1,
                         float[] y, int yOff) {
        int o = o0;
        int yo = yOff;
        if (g.k() == 9) {
            for (; o + 2 <= o1; o += 2, yo += 2 * g.p()) {
                forward2k9(g, img, w, wOff + o * 9, bOff < 0 ? 0f : b[bOff + o], bOff < 0 ? 0f : b[bOff + o + 1],
                        y, yo);
            }
        }
        for (; o + BLOCK <= o1; o += BLOCK, yo += BLOCK * g.p()) {
            forward4(g, img, w, wOff + o * g.k(), b, bOff < 0 ? -1 : bOff + o, y, yo);
        }
        for (; o < o1; o++, yo += g.p()) {
            forward1(g, img, w, wOff + o * g.k(), bOff < 0 ? 0f : b[bOff + o], y, yo);
        }
    }

    /**
     * Two output channels of a layer with nine taps (a 3×3 kernel on one input channel, the common first layer):
     * the eighteen weights stay in registers across the whole plane, and each input load feeds two FMAs. Two
     * vectors of a row at a time, as {@link #forward4}.
     */
    private static void forward2k9(ConvGeometry g, Padded img, float[] w, int wOff, float bias0, float bias1,
                                   float[] y, int yOff) {
        int first = 0;
        ConvSpec spec = g.spec();
        if (g.c() == 1 && spec.kh() == 3 && spec.kw() == 3 && spec.sh() == 1 && spec.dh() == 1) {
            forward3x3Pairs(g, img, w, wOff, bias0, bias1, y, yOff);
            first = g.oh() & ~1;
            if (first == g.oh()) {
                return;
            }
        }
        int ow = g.ow();
        int p = g.p();
        int vectors = (ow + L - 1) / L;
        int rowStep = g.spec().sh() * img.wp;
        float[] src = img.data;
        int[] taps = img.taps;
        int t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4], t5 = taps[5], t6 = taps[6];
        int t7 = taps[7], t8 = taps[8];
        FloatVector a0 = FloatVector.broadcast(S, w[wOff]);
        FloatVector a1 = FloatVector.broadcast(S, w[wOff + 1]);
        FloatVector a2 = FloatVector.broadcast(S, w[wOff + 2]);
        FloatVector a3 = FloatVector.broadcast(S, w[wOff + 3]);
        FloatVector a4 = FloatVector.broadcast(S, w[wOff + 4]);
        FloatVector a5 = FloatVector.broadcast(S, w[wOff + 5]);
        FloatVector a6 = FloatVector.broadcast(S, w[wOff + 6]);
        FloatVector a7 = FloatVector.broadcast(S, w[wOff + 7]);
        FloatVector a8 = FloatVector.broadcast(S, w[wOff + 8]);
        FloatVector b0 = FloatVector.broadcast(S, w[wOff + 9]);
        FloatVector b1 = FloatVector.broadcast(S, w[wOff + 10]);
        FloatVector b2 = FloatVector.broadcast(S, w[wOff + 11]);
        FloatVector b3 = FloatVector.broadcast(S, w[wOff + 12]);
        FloatVector b4 = FloatVector.broadcast(S, w[wOff + 13]);
        FloatVector b5 = FloatVector.broadcast(S, w[wOff + 14]);
        FloatVector b6 = FloatVector.broadcast(S, w[wOff + 15]);
        FloatVector b7 = FloatVector.broadcast(S, w[wOff + 16]);
        FloatVector b8 = FloatVector.broadcast(S, w[wOff + 17]);
        FloatVector z0 = FloatVector.broadcast(S, bias0);
        FloatVector z1 = FloatVector.broadcast(S, bias1);
        for (int r = first; r < g.oh(); r++) {
            int rowIn = img.offset + r * rowStep;
            int out = yOff + r * ow;
            for (int q = 0; q < vectors; q += 2) {
                // the pair's second vector (or its only one, at a row's end) overlaps the one before
                int xa = Math.min(q * L, ow - L);
                int xb = Math.min(q * L + L, ow - L);
                int u = rowIn + xa;
                int v = rowIn + xb;
                FloatVector ua = FloatVector.fromArray(S, src, u + t0);
                FloatVector va = FloatVector.fromArray(S, src, v + t0);
                FloatVector c0 = ua.fma(a0, z0);
                FloatVector c1 = ua.fma(b0, z1);
                FloatVector d0 = va.fma(a0, z0);
                FloatVector d1 = va.fma(b0, z1);
                ua = FloatVector.fromArray(S, src, u + t1);
                va = FloatVector.fromArray(S, src, v + t1);
                c0 = ua.fma(a1, c0);
                c1 = ua.fma(b1, c1);
                d0 = va.fma(a1, d0);
                d1 = va.fma(b1, d1);
                ua = FloatVector.fromArray(S, src, u + t2);
                va = FloatVector.fromArray(S, src, v + t2);
                c0 = ua.fma(a2, c0);
                c1 = ua.fma(b2, c1);
                d0 = va.fma(a2, d0);
                d1 = va.fma(b2, d1);
                ua = FloatVector.fromArray(S, src, u + t3);
                va = FloatVector.fromArray(S, src, v + t3);
                c0 = ua.fma(a3, c0);
                c1 = ua.fma(b3, c1);
                d0 = va.fma(a3, d0);
                d1 = va.fma(b3, d1);
                ua = FloatVector.fromArray(S, src, u + t4);
                va = FloatVector.fromArray(S, src, v + t4);
                c0 = ua.fma(a4, c0);
                c1 = ua.fma(b4, c1);
                d0 = va.fma(a4, d0);
                d1 = va.fma(b4, d1);
                ua = FloatVector.fromArray(S, src, u + t5);
                va = FloatVector.fromArray(S, src, v + t5);
                c0 = ua.fma(a5, c0);
                c1 = ua.fma(b5, c1);
                d0 = va.fma(a5, d0);
                d1 = va.fma(b5, d1);
                ua = FloatVector.fromArray(S, src, u + t6);
                va = FloatVector.fromArray(S, src, v + t6);
                c0 = ua.fma(a6, c0);
                c1 = ua.fma(b6, c1);
                d0 = va.fma(a6, d0);
                d1 = va.fma(b6, d1);
                ua = FloatVector.fromArray(S, src, u + t7);
                va = FloatVector.fromArray(S, src, v + t7);
                c0 = ua.fma(a7, c0);
                c1 = ua.fma(b7, c1);
                d0 = va.fma(a7, d0);
                d1 = va.fma(b7, d1);
                ua = FloatVector.fromArray(S, src, u + t8);
                va = FloatVector.fromArray(S, src, v + t8);
                c0 = ua.fma(a8, c0);
                c1 = ua.fma(b8, c1);
                d0 = va.fma(a8, d0);
                d1 = va.fma(b8, d1);
                c0.intoArray(y, out + xa);
                c1.intoArray(y, out + xa + p);
                d0.intoArray(y, out + xb);
                d1.intoArray(y, out + xb + p);
            }
        }
    }

    /**
     * {@link #forward2k9} for a 3×3 kernel on one channel with unit height stride and dilation, two output rows at
     * a time: the rows share two of their three input rows, so each step loads 4 × 3 input vectors per column
     * block instead of 2 × 9 (twelve per 36 multiply-adds rather than eighteen). Rows {@code [0, 2·⌊oh/2⌋)}; the
     * caller does an odd last row.
     */
    private static void forward3x3Pairs(ConvGeometry g, Padded img, float[] w, int wOff, float bias0,
                                        float bias1, float[] y, int yOff) {
        int ow = g.ow();
        int p = g.p();
        int wp = img.wp;
        int vectors = (ow + L - 1) / L;
        float[] src = img.data;
        int o1 = img.taps[1];
        int o2 = img.taps[2];
        FloatVector a0 = FloatVector.broadcast(S, w[wOff]);
        FloatVector a1 = FloatVector.broadcast(S, w[wOff + 1]);
        FloatVector a2 = FloatVector.broadcast(S, w[wOff + 2]);
        FloatVector a3 = FloatVector.broadcast(S, w[wOff + 3]);
        FloatVector a4 = FloatVector.broadcast(S, w[wOff + 4]);
        FloatVector a5 = FloatVector.broadcast(S, w[wOff + 5]);
        FloatVector a6 = FloatVector.broadcast(S, w[wOff + 6]);
        FloatVector a7 = FloatVector.broadcast(S, w[wOff + 7]);
        FloatVector a8 = FloatVector.broadcast(S, w[wOff + 8]);
        FloatVector b0 = FloatVector.broadcast(S, w[wOff + 9]);
        FloatVector b1 = FloatVector.broadcast(S, w[wOff + 10]);
        FloatVector b2 = FloatVector.broadcast(S, w[wOff + 11]);
        FloatVector b3 = FloatVector.broadcast(S, w[wOff + 12]);
        FloatVector b4 = FloatVector.broadcast(S, w[wOff + 13]);
        FloatVector b5 = FloatVector.broadcast(S, w[wOff + 14]);
        FloatVector b6 = FloatVector.broadcast(S, w[wOff + 15]);
        FloatVector b7 = FloatVector.broadcast(S, w[wOff + 16]);
        FloatVector b8 = FloatVector.broadcast(S, w[wOff + 17]);
        FloatVector z0 = FloatVector.broadcast(S, bias0);
        FloatVector z1 = FloatVector.broadcast(S, bias1);
        for (int r = 0; r + 1 < g.oh(); r += 2) {
            int rowIn = img.offset + r * wp;
            int out = yOff + r * ow;
            for (int q = 0; q < vectors; q += 2) {
                // the pair's second vector (or its only one, at a row's end) overlaps the one before
                int xa = Math.min(q * L, ow - L);
                int xb = Math.min(q * L + L, ow - L);
                int u = rowIn + xa;
                int v = rowIn + xb;
                FloatVector c0 = z0, c1 = z1, d0 = z0, d1 = z1, e0 = z0, e1 = z1, f0 = z0, f1 = z1;
                FloatVector x = FloatVector.fromArray(S, src, u);
                c0 = x.fma(a0, c0);
                c1 = x.fma(b0, c1);
                x = FloatVector.fromArray(S, src, v);
                d0 = x.fma(a0, d0);
                d1 = x.fma(b0, d1);
                x = FloatVector.fromArray(S, src, u + o1);
                c0 = x.fma(a1, c0);
                c1 = x.fma(b1, c1);
                x = FloatVector.fromArray(S, src, v + o1);
                d0 = x.fma(a1, d0);
                d1 = x.fma(b1, d1);
                x = FloatVector.fromArray(S, src, u + o2);
                c0 = x.fma(a2, c0);
                c1 = x.fma(b2, c1);
                x = FloatVector.fromArray(S, src, v + o2);
                d0 = x.fma(a2, d0);
                d1 = x.fma(b2, d1);
                x = FloatVector.fromArray(S, src, u + wp);
                c0 = x.fma(a3, c0);
                c1 = x.fma(b3, c1);
                e0 = x.fma(a0, e0);
                e1 = x.fma(b0, e1);
                x = FloatVector.fromArray(S, src, v + wp);
                d0 = x.fma(a3, d0);
                d1 = x.fma(b3, d1);
                f0 = x.fma(a0, f0);
                f1 = x.fma(b0, f1);
                x = FloatVector.fromArray(S, src, u + wp + o1);
                c0 = x.fma(a4, c0);
                c1 = x.fma(b4, c1);
                e0 = x.fma(a1, e0);
                e1 = x.fma(b1, e1);
                x = FloatVector.fromArray(S, src, v + wp + o1);
                d0 = x.fma(a4, d0);
                d1 = x.fma(b4, d1);
                f0 = x.fma(a1, f0);
                f1 = x.fma(b1, f1);
                x = FloatVector.fromArray(S, src, u + wp + o2);
                c0 = x.fma(a5, c0);
                c1 = x.fma(b5, c1);
                e0 = x.fma(a2, e0);
                e1 = x.fma(b2, e1);
                x = FloatVector.fromArray(S, src, v + wp + o2);
                d0 = x.fma(a5, d0);
                d1 = x.fma(b5, d1);
                f0 = x.fma(a2, f0);
                f1 = x.fma(b2, f1);
                x = FloatVector.fromArray(S, src, u + 2 * wp);
                c0 = x.fma(a6, c0);
                c1 = x.fma(b6, c1);
                e0 = x.fma(a3, e0);
                e1 = x.fma(b3, e1);
                x = FloatVector.fromArray(S, src, v + 2 * wp);
                d0 = x.fma(a6, d0);
                d1 = x.fma(b6, d1);
                f0 = x.fma(a3, f0);
                f1 = x.fma(b3, f1);
                x = FloatVector.fromArray(S, src, u + 2 * wp + o1);
                c0 = x.fma(a7, c0);
                c1 = x.fma(b7, c1);
                e0 = x.fma(a4, e0);
                e1 = x.fma(b4, e1);
                x = FloatVector.fromArray(S, src, v + 2 * wp + o1);
                d0 = x.fma(a7, d0);
                d1 = x.fma(b7, d1);
                f0 = x.fma(a4, f0);
                f1 = x.fma(b4, f1);
                x = FloatVector.fromArray(S, src, u + 2 * wp + o2);
                c0 = x.fma(a8, c0);
                c1 = x.fma(b8, c1);
                e0 = x.fma(a5, e0);
                e1 = x.fma(b5, e1);
                x = FloatVector.fromArray(S, src, v + 2 * wp + o2);
                d0 = x.fma(a8, d0);
                d1 = x.fma(b8, d1);
                f0 = x.fma(a5, f0);
                f1 = x.fma(b5, f1);
                x = FloatVector.fromArray(S, src, u + 3 * wp);
                e0 = x.fma(a6, e0);
                e1 = x.fma(b6, e1);
                x = FloatVector.fromArray(S, src, v + 3 * wp);
                f0 = x.fma(a6, f0);
                f1 = x.fma(b6, f1);
                x = FloatVector.fromArray(S, src, u + 3 * wp + o1);
                e0 = x.fma(a7, e0);
                e1 = x.fma(b7, e1);
                x = FloatVector.fromArray(S, src, v + 3 * wp + o1);
                f0 = x.fma(a7, f0);
                f1 = x.fma(b7, f1);
                x = FloatVector.fromArray(S, src, u + 3 * wp + o2);
                e0 = x.fma(a8, e0);
                e1 = x.fma(b8, e1);
                x = FloatVector.fromArray(S, src, v + 3 * wp + o2);
                f0 = x.fma(a8, f0);
                f1 = x.fma(b8, f1);
                c0.intoArray(y, out + xa);
                c1.intoArray(y, out + xa + p);
                d0.intoArray(y, out + xb);
                d1.intoArray(y, out + xb + p);
                e0.intoArray(y, out + ow + xa);
                e1.intoArray(y, out + ow + xa + p);
                f0.intoArray(y, out + ow + xb);
                f1.intoArray(y, out + ow + xb + p);
            }
        }
    }

    /** Four output channels ({@code w} and {@code y} at their first), two vectors of a row at a time. */
    private static void forward4(ConvGeometry g, Padded img, float[] w, int wOff, float[] b, int bOff,
                                 float[] y, int yOff) {
        int ow = g.ow();
        int vectors = (ow + L - 1) / L;
        int rowStep = g.spec().sh() * img.wp;
        for (int r = 0; r < g.oh(); r++) {
            int in = img.offset + r * rowStep;
            int out = yOff + r * ow;
            int q = 0;
            for (; q + 1 < vectors; q += 2) {
                tile4x2(g, img, in, q * L, Math.min(q * L + L, ow - L), w, wOff, b, bOff, y, out);
            }
            if (q < vectors) {
                tile4x1(g, img, in, Math.min(q * L, ow - L), w, wOff, b, bOff, y, out);
            }
        }
    }

    /** Output columns {@code [xa, xa+L)} and {@code [xb, xb+L)} of one row of four channels. */
    private static void tile4x2(ConvGeometry g, Padded img, int in, int xa, int xb, float[] w, int wOff,
                                float[] b, int bOff, float[] y, int out) {
        int k = g.k();
        int p = g.p();
        float[] src = img.data;
        int[] taps = img.taps;
        FloatVector a0 = bias(b, bOff, 0);
        FloatVector a1 = bias(b, bOff, 1);
        FloatVector a2 = bias(b, bOff, 2);
        FloatVector a3 = bias(b, bOff, 3);
        FloatVector c0 = a0;
        FloatVector c1 = a1;
        FloatVector c2 = a2;
        FloatVector c3 = a3;
        for (int t = 0; t < k; t++) {
            FloatVector u = FloatVector.fromArray(S, src, in + xa + taps[t]);
            FloatVector v = FloatVector.fromArray(S, src, in + xb + taps[t]);
            int wk = wOff + t;
            FloatVector w0 = FloatVector.broadcast(S, w[wk]);
            FloatVector w1 = FloatVector.broadcast(S, w[wk + k]);
            FloatVector w2 = FloatVector.broadcast(S, w[wk + 2 * k]);
            FloatVector w3 = FloatVector.broadcast(S, w[wk + 3 * k]);
            a0 = u.fma(w0, a0);
            a1 = u.fma(w1, a1);
            a2 = u.fma(w2, a2);
            a3 = u.fma(w3, a3);
            c0 = v.fma(w0, c0);
            c1 = v.fma(w1, c1);
            c2 = v.fma(w2, c2);
            c3 = v.fma(w3, c3);
        }
        a0.intoArray(y, out + xa);
        a1.intoArray(y, out + xa + p);
        a2.intoArray(y, out + xa + 2 * p);
        a3.intoArray(y, out + xa + 3 * p);
        c0.intoArray(y, out + xb);
        c1.intoArray(y, out + xb + p);
        c2.intoArray(y, out + xb + 2 * p);
        c3.intoArray(y, out + xb + 3 * p);
    }

    /** Output columns {@code [xs, xs+L)} of one row of four channels. */
    private static void tile4x1(ConvGeometry g, Padded img, int in, int xs, float[] w, int wOff,
                                float[] b, int bOff, float[] y, int out) {
        int k = g.k();
        int p = g.p();
        float[] src = img.data;
        int[] taps = img.taps;
        FloatVector a0 = bias(b, bOff, 0);
        FloatVector a1 = bias(b, bOff, 1);
        FloatVector a2 = bias(b, bOff, 2);
        FloatVector a3 = bias(b, bOff, 3);
        for (int t = 0; t < k; t++) {
            FloatVector v = FloatVector.fromArray(S, src, in + xs + taps[t]);
            int wk = wOff + t;
            a0 = v.fma(FloatVector.broadcast(S, w[wk]), a0);
            a1 = v.fma(FloatVector.broadcast(S, w[wk + k]), a1);
            a2 = v.fma(FloatVector.broadcast(S, w[wk + 2 * k]), a2);
            a3 = v.fma(FloatVector.broadcast(S, w[wk + 3 * k]), a3);
        }
        a0.intoArray(y, out + xs);
        a1.intoArray(y, out + xs + p);
        a2.intoArray(y, out + xs + 2 * p);
        a3.intoArray(y, out + xs + 3 * p);
    }

    private static FloatVector bias(float[] b, int bOff, int i) {
        return FloatVector.broadcast(S, bOff < 0 ? 0f : b[bOff + i]);
    }

    /** One output channel; the remainder of {@link #forward4}'s blocks. */
    private static void forward1(ConvGeometry g, Padded img, float[] w, int wOff, float bias, float[] y, int yOff) {
        int ow = g.ow();
        int rowStep = g.spec().sh() * img.wp;
        float[] src = img.data;
        int[] taps = img.taps;
        for (int r = 0; r < g.oh(); r++) {
            int in = img.offset + r * rowStep;
            for (int x0 = 0; x0 < ow; x0 += L) {
                int xs = Math.min(x0, ow - L);
                FloatVector acc = FloatVector.broadcast(S, bias);
                for (int t = 0; t < g.k(); t++) {
                    acc = FloatVector.fromArray(S, src, in + xs + taps[t]).fma(FloatVector.broadcast(S, w[wOff + t]),
                            acc);
                }
                acc.intoArray(y, yOff + r * ow + xs);
            }
        }
    }

    /**
     * Adds the weight gradient {@code sum_n dy[n] ⋆ x[n]} of images {@code [from, to)} into {@code dw}
     * ({@code [oc, k]}) and the bias gradient into {@code db} at {@code dbOff}. Lane-wise partial sums are kept in
     * this thread's scratch across the images and reduced once at the end.
     */
    static void backwardWeights(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, int from, int to,
                                float[] dw, int dwOff, float[] db, int dbOff) {
        int oc = g.oc();
        int k = g.k();
        ConvScratch sc = ConvScratch.get();
        float[] lanes = sc.gemm(oc * k * L);
        Arrays.fill(lanes, 0, oc * k * L, 0f);
        FloatVector tailKeep = tailKeep(g);
        Padded img = new Padded(g);
        for (int n = from; n < to; n++) {
            img.load(x, xOff + n * g.inImage(), n);
            int plane = dyOff + n * oc * g.p();
            weightChannels(g, img, dy, plane, 0, oc, lanes, tailKeep);
            for (int o = 0; o < oc; o++) {
                db[dbOff + o] += sum(dy, plane + o * g.p(), g.p());
            }
        }
        addLanes(g, lanes, dw, dwOff);
    }

    /**
     * The lane mask for a row's last vector: it overlaps the one before, so only its last {@code ow mod L} lanes
     * (all of them when L divides ow) are new.
     */
    static FloatVector tailKeep(ConvGeometry g) {
        int fresh = g.ow() % L == 0 ? L : g.ow() % L;
        float[] keep = new float[L];
        Arrays.fill(keep, L - fresh, L, 1f);
        return FloatVector.fromArray(S, keep, 0);
    }

    /**
     * Adds the weight gradient of output channels {@code [o0, o1)} of the image {@code img} holds, for upstream
     * gradient planes in {@code dy} from {@code plane} (channel {@code o0}'s; the others follow), to the lane-wise
     * sums {@code lanes} ({@code [oc, k, L]}, for all channels).
     */
    static void weightChannels(ConvGeometry g, Padded img, float[] dy, int plane, int o0, int o1, float[] lanes,
                               FloatVector tailKeep) {
        int k = g.k();
        int o = o0;
        if (k == 9) {
            for (; o + 2 <= o1; o += 2) {
                weights2k9(g, img, dy, plane + (o - o0) * g.p(), lanes, o * k * L, tailKeep);
            }
        }
        for (; o + BLOCK <= o1; o += BLOCK) {
            int at = plane + (o - o0) * g.p();
            for (int t = 0; t < k; t += 2) {
                int tb = Math.min(t + 1, k - 1);
                weightsRows(g, img, dy, at, lanes, o * k * L, t, tb);
                weightsTail(g, img, dy, at, lanes, o * k * L, t, tb, tailKeep);
            }
        }
        for (; o < o1; o++) {
            weights1(g, img, dy, plane + (o - o0) * g.p(), lanes, o * k * L, tailKeep);
        }
    }

    /**
     * The weight gradient of two output channels of a layer with nine taps, all taps in one pass over the planes:
     * eighteen accumulators, so each input load feeds two FMAs and each gradient load nine. Rows' last vectors
     * overlap the one before; their repeated lanes are multiplied by zero ({@code keep}).
     */
    private static void weights2k9(ConvGeometry g, Padded img, float[] dy, int plane, float[] lanes, int lOff,
                                   FloatVector keep) {
        int p = g.p();
        int ow = g.ow();
        float[] src = img.data;
        int[] taps = img.taps;
        int t0 = taps[0], t1 = taps[1], t2 = taps[2], t3 = taps[3], t4 = taps[4], t5 = taps[5], t6 = taps[6];
        int t7 = taps[7], t8 = taps[8];
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        FloatVector a8 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0, b8 = a0;
        int[] vin = img.vectorsIn;
        int[] vout = img.vectorsOut;
        int rows = g.oh();
        int rowStep = g.spec().sh() * img.wp;
        int whole = vin.length;
        // Whole vectors first (index i < whole), then each row's last vector (masked), in one loop.
        for (int i = 0; i < whole + rows; i++) {
            int in;
            int d;
            FloatVector e0;
            FloatVector e1;
            if (i < whole) {
                in = img.offset + vin[i];
                d = plane + vout[i];
                e0 = FloatVector.fromArray(S, dy, d);
                e1 = FloatVector.fromArray(S, dy, d + p);
            } else {
                int r = i - whole;
                in = img.offset + r * rowStep + ow - L;
                d = plane + r * ow + ow - L;
                e0 = FloatVector.fromArray(S, dy, d).mul(keep);
                e1 = FloatVector.fromArray(S, dy, d + p).mul(keep);
            }
            FloatVector u = FloatVector.fromArray(S, src, in + t0);
            a0 = e0.fma(u, a0);
            b0 = e1.fma(u, b0);
            u = FloatVector.fromArray(S, src, in + t1);
            a1 = e0.fma(u, a1);
            b1 = e1.fma(u, b1);
            u = FloatVector.fromArray(S, src, in + t2);
            a2 = e0.fma(u, a2);
            b2 = e1.fma(u, b2);
            u = FloatVector.fromArray(S, src, in + t3);
            a3 = e0.fma(u, a3);
            b3 = e1.fma(u, b3);
            u = FloatVector.fromArray(S, src, in + t4);
            a4 = e0.fma(u, a4);
            b4 = e1.fma(u, b4);
            u = FloatVector.fromArray(S, src, in + t5);
            a5 = e0.fma(u, a5);
            b5 = e1.fma(u, b5);
            u = FloatVector.fromArray(S, src, in + t6);
            a6 = e0.fma(u, a6);
            b6 = e1.fma(u, b6);
            u = FloatVector.fromArray(S, src, in + t7);
            a7 = e0.fma(u, a7);
            b7 = e1.fma(u, b7);
            u = FloatVector.fromArray(S, src, in + t8);
            a8 = e0.fma(u, a8);
            b8 = e1.fma(u, b8);
        }
        // Written out rather than through addLanes: C2 stops inlining calls in a method this size, and a vector
        // passed to a call that is not inlined is boxed (eighteen objects a call).
        int at = lOff;
        FloatVector.fromArray(S, lanes, at + 0 * L).add(a0).intoArray(lanes, at + 0 * L);
        FloatVector.fromArray(S, lanes, at + 1 * L).add(a1).intoArray(lanes, at + 1 * L);
        FloatVector.fromArray(S, lanes, at + 2 * L).add(a2).intoArray(lanes, at + 2 * L);
        FloatVector.fromArray(S, lanes, at + 3 * L).add(a3).intoArray(lanes, at + 3 * L);
        FloatVector.fromArray(S, lanes, at + 4 * L).add(a4).intoArray(lanes, at + 4 * L);
        FloatVector.fromArray(S, lanes, at + 5 * L).add(a5).intoArray(lanes, at + 5 * L);
        FloatVector.fromArray(S, lanes, at + 6 * L).add(a6).intoArray(lanes, at + 6 * L);
        FloatVector.fromArray(S, lanes, at + 7 * L).add(a7).intoArray(lanes, at + 7 * L);
        FloatVector.fromArray(S, lanes, at + 8 * L).add(a8).intoArray(lanes, at + 8 * L);
        at += 9 * L;
        FloatVector.fromArray(S, lanes, at + 0 * L).add(b0).intoArray(lanes, at + 0 * L);
        FloatVector.fromArray(S, lanes, at + 1 * L).add(b1).intoArray(lanes, at + 1 * L);
        FloatVector.fromArray(S, lanes, at + 2 * L).add(b2).intoArray(lanes, at + 2 * L);
        FloatVector.fromArray(S, lanes, at + 3 * L).add(b3).intoArray(lanes, at + 3 * L);
        FloatVector.fromArray(S, lanes, at + 4 * L).add(b4).intoArray(lanes, at + 4 * L);
        FloatVector.fromArray(S, lanes, at + 5 * L).add(b5).intoArray(lanes, at + 5 * L);
        FloatVector.fromArray(S, lanes, at + 6 * L).add(b6).intoArray(lanes, at + 6 * L);
        FloatVector.fromArray(S, lanes, at + 7 * L).add(b7).intoArray(lanes, at + 7 * L);
        FloatVector.fromArray(S, lanes, at + 8 * L).add(b8).intoArray(lanes, at + 8 * L);
    }

    /** {@code dw[o, t] += Σ lanes[o, t, ·]}. */
    static void addLanes(ConvGeometry g, float[] lanes, float[] dw, int dwOff) {
        for (int i = 0; i < g.oc() * g.k(); i++) {
            dw[dwOff + i] += Lanes.sum(FloatVector.fromArray(S, lanes, i * L));
        }
    }

    /**
     * The whole vectors of every row but its last ({@code [0, L*floor((ow-1)/L))}), taps {@code ta} and
     * {@code tb} of four output channels ({@code tb == ta} counts the tap once): each dy vector feeds two FMAs,
     * each input vector four. Lane sums go to {@code lanes} ({@code [oc, k, L]}).
     */
    private static void weightsRows(ConvGeometry g, Padded img, float[] dy, int plane, float[] lanes, int lOff,
                                    int ta, int tb) {
        int p = g.p();
        float[] src = img.data;
        int oa = img.taps[ta];
        int ob = img.taps[tb];
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector c0 = a0;
        FloatVector c1 = a0;
        FloatVector c2 = a0;
        FloatVector c3 = a0;
        int[] vin = img.vectorsIn;
        int[] vout = img.vectorsOut;
        for (int i = 0; i < vin.length; i++) {
            int in = img.offset + vin[i];
            int d = plane + vout[i];
            FloatVector u = FloatVector.fromArray(S, src, in + oa);
            FloatVector v = FloatVector.fromArray(S, src, in + ob);
            FloatVector e0 = FloatVector.fromArray(S, dy, d);
            FloatVector e1 = FloatVector.fromArray(S, dy, d + p);
            FloatVector e2 = FloatVector.fromArray(S, dy, d + 2 * p);
            FloatVector e3 = FloatVector.fromArray(S, dy, d + 3 * p);
            a0 = e0.fma(u, a0);
            a1 = e1.fma(u, a1);
            a2 = e2.fma(u, a2);
            a3 = e3.fma(u, a3);
            c0 = e0.fma(v, c0);
            c1 = e1.fma(v, c1);
            c2 = e2.fma(v, c2);
            c3 = e3.fma(v, c3);
        }
        int kl = g.k() * L;
        addLanes(lanes, lOff + ta * L, a0, a1, a2, a3, kl);
        if (tb != ta) {
            addLanes(lanes, lOff + tb * L, c0, c1, c2, c3, kl);
        }
    }

    /** The last vector of every row ({@code [ow-L, ow)}), its repeated lanes zeroed by {@code keep}. */
    private static void weightsTail(ConvGeometry g, Padded img, float[] dy, int plane, float[] lanes, int lOff,
                                    int ta, int tb, FloatVector keep) {
        int ow = g.ow();
        int p = g.p();
        int x = ow - L;
        int rowStep = g.spec().sh() * img.wp;
        float[] src = img.data;
        int oa = img.taps[ta];
        int ob = img.taps[tb];
        FloatVector a0 = FloatVector.zero(S);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector c0 = a0;
        FloatVector c1 = a0;
        FloatVector c2 = a0;
        FloatVector c3 = a0;
        for (int r = 0; r < g.oh(); r++) {
            int in = img.offset + r * rowStep + x;
            int d = plane + r * ow + x;
            FloatVector u = FloatVector.fromArray(S, src, in + oa);
            FloatVector v = FloatVector.fromArray(S, src, in + ob);
            FloatVector e0 = FloatVector.fromArray(S, dy, d).mul(keep);
            FloatVector e1 = FloatVector.fromArray(S, dy, d + p).mul(keep);
            FloatVector e2 = FloatVector.fromArray(S, dy, d + 2 * p).mul(keep);
            FloatVector e3 = FloatVector.fromArray(S, dy, d + 3 * p).mul(keep);
            a0 = e0.fma(u, a0);
            a1 = e1.fma(u, a1);
            a2 = e2.fma(u, a2);
            a3 = e3.fma(u, a3);
            c0 = e0.fma(v, c0);
            c1 = e1.fma(v, c1);
            c2 = e2.fma(v, c2);
            c3 = e3.fma(v, c3);
        }
        int kl = g.k() * L;
        addLanes(lanes, lOff + ta * L, a0, a1, a2, a3, kl);
        if (tb != ta) {
            addLanes(lanes, lOff + tb * L, c0, c1, c2, c3, kl);
        }
    }

    /** One output channel, one tap at a time; the remainder of the four-channel blocks. */
    private static void weights1(ConvGeometry g, Padded img, float[] dy, int plane, float[] lanes, int lOff,
                                 FloatVector keep) {
        int ow = g.ow();
        int end = (ow - 1) / L * L;
        int rowStep = g.spec().sh() * img.wp;
        float[] src = img.data;
        for (int t = 0; t < g.k(); t++) {
            FloatVector acc = FloatVector.zero(S);
            for (int r = 0; r < g.oh(); r++) {
                int in = img.offset + r * rowStep + img.taps[t];
                int d = plane + r * ow;
                for (int x = 0; x < end; x += L) {
                    acc = FloatVector.fromArray(S, dy, d + x).fma(FloatVector.fromArray(S, src, in + x), acc);
                }
                acc = FloatVector.fromArray(S, dy, d + ow - L).mul(keep)
                        .fma(FloatVector.fromArray(S, src, in + ow - L), acc);
            }
            addLanes(lanes, lOff + t * L, acc);
        }
    }

    private static void addLanes(float[] lanes, int at, FloatVector a0, FloatVector a1, FloatVector a2,
                                 FloatVector a3, int stride) {
        addLanes(lanes, at, a0);
        addLanes(lanes, at + stride, a1);
        addLanes(lanes, at + 2 * stride, a2);
        addLanes(lanes, at + 3 * stride, a3);
    }

    private static void addLanes(float[] lanes, int at, FloatVector v) {
        FloatVector.fromArray(S, lanes, at).add(v).intoArray(lanes, at);
    }

    static float sum(float[] a, int off, int len) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += L) {
            acc = acc.add(FloatVector.fromArray(S, a, off + i));
        }
        float s = Lanes.sum(acc);
        for (; i < len; i++) {
            s += a[off + i];
        }
        return s;
    }

    /**
     * One input image as the direct kernels read it: the caller's array itself when there is no padding, else a
     * zero-padded copy in this thread's scratch, {@code [c, hp, wp]}.
     */
    static final class Padded {
        final ConvGeometry g;
        final int hp;
        final int wp;
        final boolean copy;
        /** Offset of tap {@code (ci, i, j)} from its output position's top-left input element. */
        final int[] taps;
        /** Input and output offsets of every whole vector of output positions but each row's last. */
        final int[] vectorsIn;
        final int[] vectorsOut;
        float[] data;
        int offset;
        int image = -1;

        Padded(ConvGeometry g) {
            ConvSpec s = g.spec();
            this.g = g;
            this.hp = g.h() + s.top() + s.bottom();
            this.wp = g.w() + s.left() + s.right();
            this.copy = hp != g.h() || wp != g.w();
            this.taps = new int[g.k()];
            int t = 0;
            for (int ci = 0; ci < g.c(); ci++) {
                for (int i = 0; i < s.kh(); i++) {
                    for (int j = 0; j < s.kw(); j++) {
                        taps[t++] = (ci * hp + i * s.dh()) * wp + j * s.dw();
                    }
                }
            }
            int perRow = (g.ow() - 1) / L;
            vectorsIn = new int[g.oh() * perRow];
            vectorsOut = new int[g.oh() * perRow];
            for (int r = 0, i = 0; r < g.oh(); r++) {
                for (int q = 0; q < perRow; q++, i++) {
                    vectorsIn[i] = r * s.sh() * wp + q * L;
                    vectorsOut[i] = r * g.ow() + q * L;
                }
            }
            if (copy) {
                data = ConvScratch.get().pad(g.c() * hp * wp);
                Arrays.fill(data, 0, g.c() * hp * wp, 0f);
            }
        }

        void load(float[] x, int xOff, int n) {
            if (n == image) {
                return;
            }
            image = n;
            if (!copy) {
                data = x;
                offset = xOff;
                return;
            }
            ConvSpec s = g.spec();
            for (int ci = 0; ci < g.c(); ci++) {
                for (int r = 0; r < g.h(); r++) {
                    System.arraycopy(x, xOff + (ci * g.h() + r) * g.w(), data,
                            (ci * hp + r + s.top()) * wp + s.left(), g.w());
                }
            }
        }
    }
}
