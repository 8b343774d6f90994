package io.evonas.tensor.cpu;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * Shape validation of {@link Conv2d} and {@link Conv1d} (rank 3: {@code [N, C, L]}, weight {@code [OC, C, k]},
 * a 1-D {@link ConvSpec}). Every failure is an {@link IllegalArgumentException} that names the operation and the
 * shapes, e.g. {@code conv2d: input [8, 3, 32, 32] has 3 channels, weight [16, 4, 3, 3] expects 4}.
 */
final class ConvChecks {
    private ConvChecks() {
    }

    /** Checks {@code x} and {@code w} (rank 4, or rank 3 for conv1d) against {@code spec}. */
    static ConvGeometry geometry(String op, int rank, Shape x, Shape w, ConvSpec spec) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(spec, "spec");
        String dims = rank == 4 ? "[N, C, H, W]" : "[N, C, L]";
        String wdims = rank == 4 ? "[outC, inC, kH, kW]" : "[outC, inC, k]";
        if (x.rank() != rank) {
            throw new IllegalArgumentException(op + ": input " + x + " must have rank " + rank + " " + dims);
        }
        if (w.rank() != rank) {
            throw new IllegalArgumentException(op + ": weight " + w + " must have rank " + rank + " " + wdims);
        }
        if (x.size() == 0) {
            throw new IllegalArgumentException(op + ": input " + x + " has a zero dimension");
        }
        if (w.size() == 0) {
            throw new IllegalArgumentException(op + ": weight " + w + " has a zero dimension");
        }
        if (x.dim(1) != w.dim(1)) {
            throw new IllegalArgumentException(op + ": input " + x + " has " + x.dim(1) + " channels, weight " + w
                    + " expects " + w.dim(1));
        }
        if (rank == 3 && !spec.is1d()) {
            throw new IllegalArgumentException(op + ": " + spec + " is not 1-D (kernel height, height stride and "
                    + "dilation must be 1, height padding 0); make it with ConvSpec.of1d or ConvSpec.same1d");
        }
        int kh = rank == 4 ? w.dim(2) : 1;
        int kw = w.dim(rank - 1);
        if (kh != spec.kh() || kw != spec.kw()) {
            throw new IllegalArgumentException(op + ": weight " + w + " has a " + kernel(rank, kh, kw)
                    + " kernel, " + spec + " expects " + kernel(rank, spec.kh(), spec.kw()));
        }
        int h = rank == 4 ? x.dim(2) : 1;
        int wd = x.dim(rank - 1);
        int oh;
        int ow;
        try {
            oh = spec.outH(h);
            ow = spec.outW(wd);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": input " + x + " with weight " + w + " and " + spec
                    + " gives an empty output: " + e.getMessage().replaceFirst("^conv: ", ""), e);
        }
        int n = x.dim(0);
        int oc = w.dim(0);
        long k = (long) x.dim(1) * kh * kw;
        if ((long) n * oc * oh * ow > Integer.MAX_VALUE - 16 || k * oh * ow > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(op + ": input " + x + " with weight " + w + " and " + spec
                    + " is too large (more than 2^31 output or column elements)");
        }
        return new ConvGeometry(n, x.dim(1), h, wd, oc, oh, ow, spec);
    }

    private static String kernel(int rank, int kh, int kw) {
        return rank == 4 ? kh + "×" + kw : "length-" + kw;
    }

    static ConvGeometry checkForward(String op, int rank, Tensor x, Tensor w, Tensor bias, ConvSpec spec,
                                     Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(w, "w");
        ConvGeometry g = geometry(op, rank, x.shape(), w.shape(), spec);
        checkBias(op, bias, w, g.oc());
        checkShape(op, "out", out, g.outShape(rank), x, w);
        checkDisjoint(op, "out", out, x, w, bias);
        return g;
    }

    static ConvGeometry checkBackwardInput(String op, int rank, Tensor dy, Tensor w, ConvSpec spec, Tensor dx) {
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(w, "w");
        Objects.requireNonNull(dx, "dx");
        String bop = op + " backwardInput";
        ConvGeometry g = geometry(bop, rank, dx.shape(), w.shape(), spec);
        checkShape(bop, "dy", dy, g.outShape(rank), dx, w);
        checkDisjoint(bop, "dx", dx, dy, w, null);
        return g;
    }

    static ConvGeometry checkBackwardWeights(String op, int rank, Tensor x, Tensor dy, ConvSpec spec, Tensor dw,
                                             Tensor db) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(dy, "dy");
        Objects.requireNonNull(dw, "dw");
        String bop = op + " backwardWeights";
        ConvGeometry g = geometry(bop, rank, x.shape(), dw.shape(), spec);
        checkShape(bop, "dy", dy, g.outShape(rank), x, dw);
        checkBias(bop, db, dw, g.oc());
        checkDisjoint(bop, "dw", dw, x, dy, db);
        if (db != null) {
            checkDisjoint(bop, "db", db, x, dy, null);
        }
        return g;
    }

    static void checkBias(String op, Tensor bias, Tensor w, int oc) {
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != oc)) {
            throw new IllegalArgumentException(op + ": bias " + bias.shape() + " must be [" + oc
                    + "], one per output channel of weight " + w.shape());
        }
    }

    static void checkShape(String op, String name, Tensor t, Shape expected, Tensor x, Tensor w) {
        if (!t.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " must be " + expected
                    + " for input " + x.shape() + " and weight " + w.shape());
        }
    }

    /** Throws if {@code out} overlaps any of the (nullable) inputs. */
    static void checkDisjoint(String op, String name, Tensor out, Tensor a, Tensor b, Tensor c) {
        for (Tensor in : new Tensor[] {a, b, c}) {
            if (in != null && out.storage() == in.storage() && out.offset() < in.offset() + in.size()
                    && in.offset() < out.offset() + out.size()) {
                throw new IllegalArgumentException(op + ": " + name + " " + out.shape()
                        + " overlaps an input " + in.shape() + " in memory");
            }
        }
    }
}
