package io.evonas.tensor.cpu;

import io.evonas.tensor.Parallel;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The GEMM path of {@link Conv2d}: for a group of {@code G} images, {@link Im2col} writes the column matrix
 * {@code col [C*kh*kw, G*OH*OW]} (rows {@link Im2col#SLACK} floats longer) into this thread's scratch, then
 * <pre>
 *   forward          y    = w [OC, K] · col                 one GEMM, then scattered into NCHW with the bias
 *   input gradient   dcol = wᵀ [K, OC] · dy [OC, G*OH*OW]    one GEMM (dy gathered, wᵀ packed once per call),
 *                                                           then col2im into dx
 *   weight gradient  dwᵀ += col · dyᵀ [OH*OW, OC]           one GEMM per image (per group for tiny images),
 *                    dwᵀ [K, OC] in scratch, added transposed into dw at the end
 * </pre>
 * A 1×1 convolution with stride 1 and no padding is the GEMM on the input itself, image by image. A forward pass
 * with stride 1 and at least 32 output positions an image packs B straight from the images ({@link ConvPanels})
 * instead of writing the column matrix, and the backward passes of stride-1 convolutions over whole vectors of
 * channels go through the channels-last products of {@link ConvTaps}. Images are split
 * over {@link Parallel}'s threads (each thread's GEMMs then run on it alone), which measured faster than one
 * GEMM at a time split inside {@link Sgemm}; a single image leaves the threads to {@link Sgemm}.
 */
final class ConvGemm {
    /**
     * Column-matrix size (floats) a group aims for in the forward pass and the input gradient: 256K floats, 1 MB,
     * within one core's L2 (measured: see {@code ConvBench}'s notes). The system property
     * {@code evonas.conv.colbudget} overrides it for experiments (bench/README.md: 64K, 128K and 512K measured no
     * better on the reference CNN).
     */
    static final int COL_BUDGET = Tuning.integer("evonas.conv.colbudget", 1 << 18, 1);

    /** Least GEMM depth (output positions of a group) the weight gradient groups images for. */
    static final int WEIGHTS_MIN_DEPTH = 64;

    private ConvGemm() {
    }

    /** {@code y = conv(x, w) + b}, images split over the threads; {@code bOff < 0} means no bias. */
    static void forward(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, float[] b, int bOff,
                        float[] y, int yOff) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        boolean pointwise = g.pointwise();
        boolean panels = !pointwise && ConvPanels.applies(g);
        float[] ap = panels ? ConvPanels.packWeights(g, w, wOff) : null;
        // chunks of one group, claimed as threads become free
        Parallel.forChunks(g.n(), pointwise ? Parallel.chunkFor(g.n(), 1) : groupSize(g, g.n()), (from, to) -> {
            ConvScratch sc = ConvScratch.get();
            int group = pointwise ? 1 : groupSize(g, to - from);
            if (panels) {
                // B packed straight from the images: no column matrix
                panelGroups(g, x, xOff, ap, from, to, group,
                        (tmp, ld, n0, gn) -> scatter(g, tmp, ld, gn, b, bOff, y, yOff + n0 * g.outImage()));
                return;
            }
            float[] col = pointwise ? null : sc.col(k * (group * p + Im2col.SLACK));
            for (int n0 = from; n0 < to; n0 += group) {
                int gn = Math.min(group, to - n0);
                int ld = gn * p + Im2col.SLACK;
                if (pointwise) {
                    Sgemm.sgemm(false, false, oc, p, k, 1f, w, wOff, k, x, xOff + n0 * g.inImage(), p,
                            0f, y, yOff + n0 * g.outImage(), p);
                    addBias(g, b, bOff, y, yOff + n0 * g.outImage());
                    continue;
                }
                for (int i = 0; i < gn; i++) {
                    Im2col.im2col(g, x, xOff + (n0 + i) * g.inImage(), col, i * p, ld);
                }
                if (gn == 1) {
                    Sgemm.sgemm(false, false, oc, p, k, 1f, w, wOff, k, col, 0, ld, 0f, y, yOff + n0 * g.outImage(), p);
                    addBias(g, b, bOff, y, yOff + n0 * g.outImage());
                } else {
                    float[] tmp = sc.gemm(oc * ld);
                    Sgemm.sgemm(false, false, oc, gn * p, k, 1f, w, wOff, k, col, 0, ld, 0f, tmp, 0, ld);
                    scatter(g, tmp, ld, gn, b, bOff, y, yOff + n0 * g.outImage());
                }
            }
        });
    }

    /** What is done with a group's products {@code tmp [oc, ld]} (no bias added) of images {@code [n0, n0+gn)}. */
    interface Epilogue {
        void accept(float[] tmp, int ld, int n0, int gn);
    }

    /**
     * The forward products of a stride-1 convolution that {@link ConvPanels} takes, group by group, handed to
     * {@code epilogue} instead of written into an output; images split over the threads.
     */
    static void forwardProducts(ConvGeometry g, float[] x, int xOff, float[] w, int wOff, Epilogue epilogue) {
        if (!ConvPanels.applies(g)) {
            throw new IllegalArgumentException("conv2d: no direct products for " + g);
        }
        float[] ap = ConvPanels.packWeights(g, w, wOff);
        Parallel.forChunks(g.n(), groupSize(g, g.n()), (from, to) -> panelGroups(g, x, xOff, ap, from, to,
                groupSize(g, to - from), epilogue));
    }

    private static void panelGroups(ConvGeometry g, float[] x, int xOff, float[] ap, int from, int to, int group,
                                    Epilogue epilogue) {
        ConvScratch sc = ConvScratch.get();
        SgemmWorkspace ws = SgemmWorkspace.get();
        int p = g.p();
        float[] img = sc.col(ConvPanels.scratchSize(g, group));
        MemorySegment bp = ws.b(ConvPanels.panelFloats(g));
        for (int n0 = from; n0 < to; n0 += group) {
            int gn = Math.min(group, to - n0);
            int ld = gn * p;
            float[] tmp = sc.gemm(g.oc() * ld);
            ConvPanels.product(g, x, xOff + n0 * g.inImage(), gn, ap, img, bp, tmp, ld, ws);
            epilogue.accept(tmp, ld, n0, gn);
        }
    }

    /**
     * {@code dx (+)=} the input gradient, images split over the threads: with the channels last ({@link ConvTaps})
     * where it applies, else {@link #im2colInput}.
     */
    static void backwardInput(ConvGeometry g, float[] dy, int dyOff, float[] w, int wOff, float[] dx, int dxOff,
                              boolean accumulate) {
        if (ConvTaps.appliesInput(g)) {
            MemorySegment bp = ConvTaps.packInputWeights(g, w, wOff);
            Parallel.forChunks(g.n(), Parallel.chunkFor(g.n(), 1), (from, to) -> ConvTaps.input(g, dy, dyOff, bp,
                    dx, dxOff, from, to, accumulate));
        } else {
            im2colInput(g, dy, dyOff, w, wOff, dx, dxOff, accumulate);
        }
    }

    /** {@code dx (+)= col2im(wᵀ · dy)} through the column matrix, images split over the threads. */
    static void im2colInput(ConvGeometry g, float[] dy, int dyOff, float[] w, int wOff, float[] dx, int dxOff,
                            boolean accumulate) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        boolean pointwise = g.pointwise();
        // wᵀ packed once for all groups and threads where each group's GEMM would pack it again (one image runs
        // alone and leaves the threads to Sgemm)
        float[] wT = !pointwise && g.n() > 1 && oc > SgemmBlocked.DIRECT_K && oc <= SgemmBlocked.KC
                && (long) k * oc * p >= Sgemm.SMALL_WORK ? packTransposed(w, wOff, k, oc) : null;
        Parallel.forRange(g.n(), 1, (from, to) -> {
            ConvScratch sc = ConvScratch.get();
            if (pointwise) {
                for (int n = from; n < to; n++) {
                    Sgemm.sgemm(true, false, k, p, oc, 1f, w, wOff, k, dy, dyOff + n * g.outImage(), p,
                            accumulate ? 1f : 0f, dx, dxOff + n * g.inImage(), p);
                }
                return;
            }
            if (!accumulate) {
                Arrays.fill(dx, dxOff + from * g.inImage(), dxOff + to * g.inImage(), 0f);
            }
            int group = groupSize(g, to - from);
            float[] dcol = sc.col(k * (group * p + Im2col.SLACK));
            for (int n0 = from; n0 < to; n0 += group) {
                int gn = Math.min(group, to - n0);
                int ld = gn * p + Im2col.SLACK;
                // B: dy itself for one image, else the group's dy gathered into one matrix
                float[] b = dy;
                int bOff = dyOff + n0 * g.outImage();
                int ldb = p;
                if (gn > 1) {
                    b = sc.gemm(oc * ld);
                    gather(g, dy, bOff, gn, b, ld);
                    bOff = 0;
                    ldb = ld;
                }
                if (wT != null) {
                    SgemmBlocked.runPackedA(wT, k, oc, b, bOff, ldb, gn * p, 0f, dcol, 0, ld);
                } else {
                    Sgemm.sgemm(true, false, k, gn * p, oc, 1f, w, wOff, k, b, bOff, ldb, 0f, dcol, 0, ld);
                }
                for (int i = 0; i < gn; i++) {
                    Im2col.col2im(g, dcol, i * p, ld, dx, dxOff + (n0 + i) * g.inImage());
                }
            }
        });
    }

    /** Adds the weight and bias gradients of images {@code [from, to)} into {@code part} ({@code [oc*k | oc]}). */
    static void weightsRange(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, int from, int to,
                                     float[] part, int dbAt) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        for (int n = from; n < to; n++) {
            for (int o = 0; o < oc; o++) {
                part[dbAt + o] += ConvDirect.sum(dy, dyOff + n * g.outImage() + o * p, p);
            }
        }
        if (g.pointwise()) {
            for (int n = from; n < to; n++) {
                Sgemm.sgemm(false, true, oc, k, p, 1f, dy, dyOff + n * g.outImage(), p, x, xOff + n * g.inImage(), p,
                        1f, part, 0, k);
            }
        } else if (ConvTaps.applies(g)) {
            ConvTaps.weights(g, x, xOff, dy, dyOff, from, to, part);
        } else {
            im2colWeights(g, x, xOff, dy, dyOff, from, to, part);
        }
    }

    /** Adds the weight gradient of images {@code [from, to)} into {@code part [OC, K]} through the column matrix. */
    static void im2colWeights(ConvGeometry g, float[] x, int xOff, float[] dy, int dyOff, int from, int to,
                              float[] part) {
        int k = g.k();
        int p = g.p();
        int oc = g.oc();
        // dwᵀ [K, OC] += col [K, P] · dyᵀ: the transposed operand is dy (OC rows) rather than col (K rows), so the
        // packing transposes 64 rows instead of 288 for the reference CNN's conv2; dwᵀ is added into part at the end.
        ConvScratch sc = ConvScratch.get();
        int group = weightsGroupSize(g, to - from);
        float[] col = sc.col(k * (group * p + Im2col.SLACK));
        float[] dwT = sc.weightsT(k * oc);
        Arrays.fill(dwT, 0, k * oc, 0f);
        for (int n0 = from; n0 < to; n0 += group) {
            int gn = Math.min(group, to - n0);
            int ld = gn * p + Im2col.SLACK;
            for (int i = 0; i < gn; i++) {
                Im2col.im2col(g, x, xOff + (n0 + i) * g.inImage(), col, i * p, ld);
            }
            if (gn == 1) {
                Sgemm.sgemm(false, true, k, oc, p, 1f, col, 0, ld, dy, dyOff + n0 * g.outImage(), p, 1f, dwT, 0, oc);
            } else {
                float[] dyg = sc.gemm(oc * ld);
                gather(g, dy, dyOff + n0 * g.outImage(), gn, dyg, ld);
                Sgemm.sgemm(false, true, k, oc, gn * p, 1f, col, 0, ld, dyg, 0, ld, 1f, dwT, 0, oc);
            }
        }
        for (int o = 0; o < oc; o++) {
            int at = o * k;
            for (int kk = 0; kk < k; kk++) {
                part[at + kk] += dwT[kk * oc + o];
            }
        }
    }

    /** {@code wᵀ [K, OC]} of weights {@code w [OC, K]} packed as A row panels for {@link SgemmBlocked#runPackedA}. */
    private static float[] packTransposed(float[] w, int wOff, int k, int oc) {
        float[] ap = new float[SgemmBlocked.roundUp(k, SgemmKernel.MR) * oc];
        SgemmPack.packA(true, w, wOff, k, 0, k, 0, oc, 1f, ap);
        return ap;
    }

    /** Images per GEMM: enough that the column matrix is about {@link #COL_BUDGET} floats, at least one. */
    static int groupSize(ConvGeometry g, int images) {
        long perImage = (long) g.k() * g.p();
        return (int) Math.max(1, Math.min(images, COL_BUDGET / perImage));
    }

    /**
     * Images per GEMM of the weight gradient, whose depth is the group's output positions: one image (no gather
     * of dy) unless an image has fewer than {@link #WEIGHTS_MIN_DEPTH} positions.
     */
    static int weightsGroupSize(ConvGeometry g, int images) {
        int wanted = (WEIGHTS_MIN_DEPTH + g.p() - 1) / g.p();
        return Math.max(1, Math.min(Math.min(images, wanted), groupSize(g, images)));
    }

    /** {@code y[n0 + i, o, :] = tmp[o, i*p .. (i+1)*p) + b[o]} for the {@code gn} images of a group. */
    private static void scatter(ConvGeometry g, float[] tmp, int ld, int gn, float[] b, int bOff, float[] y,
                                int yOff) {
        int p = g.p();
        for (int i = 0; i < gn; i++) {
            for (int o = 0; o < g.oc(); o++) {
                int dst = yOff + i * g.outImage() + o * p;
                System.arraycopy(tmp, o * ld + i * p, y, dst, p);
                if (bOff >= 0) {
                    addScalar(y, dst, p, b[bOff + o]);
                }
            }
        }
    }

    /** {@code dyg[o, i*p .. (i+1)*p) = dy[n0 + i, o, :]}: the group's upstream gradient as one matrix. */
    private static void gather(ConvGeometry g, float[] dy, int dyOff, int gn, float[] dyg, int ld) {
        int p = g.p();
        for (int i = 0; i < gn; i++) {
            for (int o = 0; o < g.oc(); o++) {
                System.arraycopy(dy, dyOff + i * g.outImage() + o * p, dyg, o * ld + i * p, p);
            }
        }
    }

    private static void addBias(ConvGeometry g, float[] b, int bOff, float[] y, int yOff) {
        if (bOff < 0) {
            return;
        }
        for (int o = 0; o < g.oc(); o++) {
            addScalar(y, yOff + o * g.p(), g.p(), b[bOff + o]);
        }
    }

    private static void addScalar(float[] a, int off, int len, float v) {
        for (int i = off; i < off + len; i++) {
            a[i] += v;
        }
    }
}
