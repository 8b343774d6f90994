package io.evonas.tensor.cpu;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * im2col and its adjoint col2im for one NCHW image. The column matrix has {@code k = c * kh * kw} rows, ordered
 * like the weight's {@code [c, kh, kw]} so that {@code weight[oc, :]} is a row of the GEMM's A, and one column
 * per output position: {@code col[(ci * kh + i) * kw + j][oh * ow_ + ow] = x[ci, oh*sh - top + i*dh,
 * ow*sw - left + j*dw]}, zero where that falls in the padding. The matrix may be one column block of a wider
 * matrix (several images side by side), hence the column offset and row stride.
 *
 * <p>Each (row, output row) pair is one contiguous run of the input for stride 1. Runs are short in the small
 * feature maps of a CNN (11 floats for a 13×13 input), where a {@link System#arraycopy} per run costs more than
 * the data: a run of at most one vector is copied as one whole vector, whose extra lanes land on the following
 * columns, which are written later. Hence the {@linkplain #SLACK slack} contract of {@link #im2col}. Wider
 * strides gather.
 */
final class Im2col {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> SI = S.withLanes(int.class);

    /** Floats a column matrix needs after each row's last column: one vector. */
    static final int SLACK = S.length();

    /** {@code L} all-ones then {@code L} zero lanes: loaded at {@code L - n}, the bit mask of the first n lanes. */
    private static final int[] PREFIX = new int[2 * SLACK];

    static {
        Arrays.fill(PREFIX, 0, SLACK, -1);
    }

    private Im2col() {
    }

    /**
     * Writes image {@code x[xOff ..]} ({@code [c, h, w]}) as columns {@code [colOff, colOff + oh*ow)} of the
     * matrix {@code col} whose rows are {@code ld} apart. It may also write garbage into up to {@link #SLACK}
     * columns after these: the caller leaves that much slack after each row ({@code ld >= columns + SLACK}) and
     * writes the images of one matrix from left to right, so that later images overwrite it.
     */
    static void im2col(ConvGeometry g, float[] x, int xOff, float[] col, int colOff, int ld) {
        ConvSpec s = g.spec();
        int kh = s.kh(), kw = s.kw(), h = g.h(), w = g.w(), oh = g.oh(), ow = g.ow();
        for (int ci = 0; ci < g.c(); ci++) {
            for (int i = 0; i < kh; i++) {
                int ih0 = i * s.dh() - s.top();
                int y0 = firstInside(ih0, s.sh(), oh);
                int y1 = endInside(ih0, s.sh(), h, oh);
                for (int j = 0; j < kw; j++) {
                    int row = colOff + ((ci * kh + i) * kw + j) * ld;
                    int iw0 = j * s.dw() - s.left();
                    int lo = firstInside(iw0, s.sw(), ow);
                    int hi = endInside(iw0, s.sw(), w, ow);
                    if (lo >= hi || y0 >= y1) {
                        Arrays.fill(col, row, row + oh * ow, 0f);
                        continue;
                    }
                    Arrays.fill(col, row, row + y0 * ow, 0f);
                    int src = xOff + (ci * h + y0 * s.sh() + ih0) * w + iw0;
                    if (s.sw() == 1) {
                        copyRows(x, src, s.sh() * w, col, row + y0 * ow, ow, lo, hi, y1 - y0);
                    } else {
                        gatherRows(x, src, s.sh() * w, s.sw(), col, row + y0 * ow, ow, lo, hi, y1 - y0);
                    }
                    Arrays.fill(col, row + y1 * ow, row + oh * ow, 0f);
                }
            }
        }
    }

    /**
     * {@code rows} output rows of one column-matrix row, stride 1: row {@code r} copies {@code x[src + r*step + lo,
     * src + r*step + hi)} to {@code col[d + r*ow + lo ..]} and zeroes the padding columns around it.
     */
    private static void copyRows(float[] x, int src, int step, float[] col, int d, int ow, int lo, int hi,
                                 int rows) {
        int len = hi - lo;
        boolean whole = len <= SLACK && src + (rows - 1) * step + lo + SLACK <= x.length;
        if (whole && lo == 0 && hi == ow) {
            for (int r = 0; r < rows; r++) {
                FloatVector.fromArray(S, x, src + r * step).intoArray(col, d + r * ow);
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            int dd = d + r * ow;
            for (int o = 0; o < lo; o++) {
                col[dd + o] = 0f;
            }
            if (whole) {
                FloatVector.fromArray(S, x, src + r * step + lo).intoArray(col, dd + lo);
            } else {
                System.arraycopy(x, src + r * step + lo, col, dd + lo, len);
            }
            for (int o = hi; o < ow; o++) {
                col[dd + o] = 0f;
            }
        }
    }

    /** As {@link #copyRows} for a width stride {@code sw > 1}. */
    private static void gatherRows(float[] x, int src, int step, int sw, float[] col, int d, int ow, int lo, int hi,
                                   int rows) {
        for (int r = 0; r < rows; r++) {
            int dd = d + r * ow;
            int ss = src + r * step;
            for (int o = 0; o < lo; o++) {
                col[dd + o] = 0f;
            }
            for (int o = lo; o < hi; o++) {
                col[dd + o] = x[ss + o * sw];
            }
            for (int o = hi; o < ow; o++) {
                col[dd + o] = 0f;
            }
        }
    }

    /**
     * The adjoint of {@link #im2col}: adds columns {@code [colOff, colOff + oh*ow)} of {@code col} into image
     * {@code dx[dxOff ..]}, each entry to the input element it was copied from (padding entries are dropped).
     * Reads up to {@link #SLACK} floats past a row's columns (which must exist); writes only inside the image.
     */
    static void col2im(ConvGeometry g, float[] col, int colOff, int ld, float[] dx, int dxOff) {
        ConvSpec s = g.spec();
        int kh = s.kh(), kw = s.kw(), h = g.h(), w = g.w(), oh = g.oh(), ow = g.ow();
        int end = dxOff + g.inImage();
        for (int ci = 0; ci < g.c(); ci++) {
            for (int i = 0; i < kh; i++) {
                int ih0 = i * s.dh() - s.top();
                int y0 = firstInside(ih0, s.sh(), oh);
                int y1 = endInside(ih0, s.sh(), h, oh);
                for (int j = 0; j < kw; j++) {
                    int row = colOff + ((ci * kh + i) * kw + j) * ld;
                    int iw0 = j * s.dw() - s.left();
                    int lo = firstInside(iw0, s.sw(), ow);
                    int hi = endInside(iw0, s.sw(), w, ow);
                    if (lo >= hi || y0 >= y1) {
                        continue;
                    }
                    int dst = dxOff + (ci * h + y0 * s.sh() + ih0) * w + iw0;
                    int d = row + y0 * ow;
                    if (s.sw() == 1) {
                        addRows(dx, dst + lo, s.sh() * w, col, d + lo, ow, hi - lo, y1 - y0, end);
                    } else {
                        for (int r = 0; r < y1 - y0; r++) {
                            int dd = dst + r * s.sh() * w;
                            int cc = d + r * ow;
                            for (int o = lo; o < hi; o++) {
                                dx[dd + o * s.sw()] += col[cc + o];
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@code dx[dst + r*step ..][0, len) += col[src + r*ow ..][0, len)} for {@code rows} rows. A run shorter than a
     * vector is added as one whole vector whose extra lanes are cleared bitwise (so whatever lies in {@code col}
     * past the run, even NaN, adds +0) when the vector stays below {@code dxEnd}.
     */
    private static void addRows(float[] dx, int dst, int step, float[] col, int src, int ow, int len, int rows,
                                int dxEnd) {
        int last = rows - 1;
        if (len < SLACK && dst + last * step + SLACK <= dxEnd && src + last * ow + SLACK <= col.length) {
            IntVector keep = IntVector.fromArray(SI, PREFIX, SLACK - len);
            // Rows closer than a vector overlap: visit them interleaved, so that no load reads a vector the store
            // just before it wrote (a store-forwarding stall on every row otherwise).
            int passes = (SLACK + step - 1) / step;
            for (int first = 0; first < passes; first++) {
                for (int r = first; r < rows; r += passes) {
                    FloatVector v = FloatVector.fromArray(S, col, src + r * ow).reinterpretAsInts()
                            .lanewise(VectorOperators.AND, keep).reinterpretAsFloats();
                    int dd = dst + r * step;
                    FloatVector.fromArray(S, dx, dd).add(v).intoArray(dx, dd);
                }
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            addTo(dx, dst + r * step, col, src + r * ow, len);
        }
    }

    /** Along one axis: the first output index {@code o < out} whose input index {@code i0 + o*stride} is >= 0. */
    static int firstInside(int i0, int stride, int out) {
        return i0 >= 0 ? 0 : Math.min(out, (-i0 + stride - 1) / stride);
    }

    /** Along one axis: one past the last output index {@code o < out} whose input index {@code i0 + o*stride} is
     * below {@code size}. */
    static int endInside(int i0, int stride, int size, int out) {
        if (i0 >= size) {
            return 0;
        }
        return Math.min(out, (size - 1 - i0) / stride + 1);
    }

    /** {@code dst[d .. d+len) += src[s .. s+len)}. */
    static void addTo(float[] dst, int d, float[] src, int s, int len) {
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += S.length()) {
            FloatVector.fromArray(S, dst, d + i).add(FloatVector.fromArray(S, src, s + i)).intoArray(dst, d + i);
        }
        for (; i < len; i++) {
            dst[d + i] += src[s + i];
        }
    }
}
