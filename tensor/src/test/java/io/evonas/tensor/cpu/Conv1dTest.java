package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.Conv2dTest.rejects;
import static io.evonas.tensor.testing.Oracles.assertClose;
import static io.evonas.tensor.testing.Oracles.dot;
import static io.evonas.tensor.testing.Oracles.numericGradient;
import static io.evonas.tensor.testing.Oracles.randomArray;
import static io.evonas.tensor.testing.Oracles.toDouble;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class Conv1dTest {
    private static final int[] CHANNELS = {1, 3, 5, 17};

    /** A conv1d problem: the double reference is the 2-D one with height 1. */
    record Case(ConvReference ref, float[] x, float[] w, float[] bias, float[] dy) {
        static Case random(RandomGenerator rng, int n, int c, int len, int oc, ConvSpec spec, boolean bias) {
            ConvReference ref = new ConvReference(n, c, 1, len, oc, spec);
            return new Case(ref, randomArray(rng, ref.xSize()), randomArray(rng, ref.wSize()),
                    bias ? randomArray(rng, oc) : null, randomArray(rng, ref.ySize()));
        }

        Tensor xt() {
            return Tensor.wrap(x, ref.n, ref.c, ref.w);
        }

        Tensor wt() {
            return Tensor.wrap(w, ref.oc, ref.c, ref.s.kw());
        }

        Tensor bt() {
            return bias == null ? null : Tensor.wrap(bias, ref.oc);
        }

        Tensor dyt() {
            return Tensor.wrap(dy, ref.n, ref.oc, ref.ow);
        }

        @Override
        public String toString() {
            return "x [" + ref.n + ", " + ref.c + ", " + ref.w + "] oc " + ref.oc + " " + ref.s;
        }
    }

    static Case randomCase(RandomGenerator rng, int k) {
        int d = 1 + rng.nextInt(3);
        int stride = 1 + rng.nextInt(3);
        ConvSpec spec = switch (rng.nextInt(3)) {
            case 0 -> ConvSpec.of1d(k, stride, rng.nextInt(4), d);
            case 1 -> ConvSpec.same1d(k, stride, d);
            default -> ConvSpec.of1d(k, stride, 0, d).withPadding(0, 0, rng.nextInt(4), rng.nextInt(4));
        };
        int len = Math.max(1, d * (k - 1) + 1 - spec.left() - spec.right()) + rng.nextInt(12);
        return Case.random(rng, 1 + rng.nextInt(3), CHANNELS[rng.nextInt(CHANNELS.length)], len, 1 + rng.nextInt(6),
                spec, rng.nextBoolean());
    }

    @Test
    void allPassesMatchTheReferenceForEveryKernelLength() {
        RandomGenerator rng = new SplittableRandom(11);
        for (int k = 1; k <= 9; k++) {
            for (int t = 0; t < 4; t++) {
                Case c = randomCase(rng, k);
                double[] dy = toDouble(c.dy);
                Tensor y = Conv1d.forward(c.xt(), c.wt(), c.bt(), c.ref.s);
                assertEquals(Shape.of(c.ref.n, c.ref.oc, c.ref.ow), y.shape());
                assertClose("forward " + c, c.ref.forward(toDouble(c.x), toDouble(c.w),
                        c.bias == null ? null : toDouble(c.bias)), y.toArray(), 1e-4, 2e-4);
                Tensor dx = Conv1d.backwardInput(c.dyt(), c.wt(), c.ref.s, c.xt().shape());
                assertClose("backwardInput " + c, c.ref.backwardInput(dy, toDouble(c.w)), dx.toArray(), 1e-4, 2e-4);
                Tensor dw = Tensor.full(Float.NaN, c.ref.oc, c.ref.c, k);
                Tensor db = Tensor.full(Float.NaN, c.ref.oc);
                Conv1d.backwardWeights(c.xt(), c.dyt(), c.ref.s, dw, db, false);
                assertClose("backwardWeights " + c, c.ref.backwardWeights(toDouble(c.x), dy), dw.toArray(), 1e-4,
                        1e-3);
                assertClose("bias gradient " + c, c.ref.backwardBias(dy), db.toArray(), 1e-4, 1e-3);
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        RandomGenerator rng = new SplittableRandom(12);
        for (Case c : new Case[] {
            Case.random(rng, 2, 2, 11, 3, ConvSpec.of1d(3, 1, 1, 2), true),
            Case.random(rng, 2, 5, 13, 4, ConvSpec.of1d(4, 2, 0, 1).withPadding(0, 0, 2, 1), true),
            Case.random(rng, 3, 4, 9, 2, ConvSpec.same1d(6, 1, 1), true),
            Case.random(rng, 2, 1, 40, 5, ConvSpec.of1d(3, 1, 1, 1), true),                 // direct kernels
        }) {
            double[] xd = toDouble(c.x);
            double[] wd = toDouble(c.w);
            double[] bd = toDouble(c.bias);
            double[] dy = toDouble(c.dy);
            double[] gx = numericGradient(v -> dot(c.ref.forward(v, wd, bd), dy), xd.clone(), 1e-3);
            double[] gw = numericGradient(v -> dot(c.ref.forward(xd, v, bd), dy), wd.clone(), 1e-3);
            double[] gb = numericGradient(v -> dot(c.ref.forward(xd, wd, v), dy), bd.clone(), 1e-3);
            assertClose("dL/dx " + c, gx, Conv1d.backwardInput(c.dyt(), c.wt(), c.ref.s, c.xt().shape()).toArray(),
                    1e-3, 1e-4);
            Tensor dw = c.wt().zerosLike();
            Tensor db = Tensor.zeros(c.ref.oc);
            Conv1d.backwardWeights(c.xt(), c.dyt(), c.ref.s, dw, db, false);
            assertClose("dL/dw " + c, gw, dw.toArray(), 1e-3, 1e-4);
            assertClose("dL/db " + c, gb, db.toArray(), 1e-3, 1e-4);
        }
    }

    @Test
    void agreesWithConv2dOfHeightOne() {
        RandomGenerator rng = new SplittableRandom(13);
        Case c = Case.random(rng, 2, 5, 20, 3, ConvSpec.of1d(5, 2, 2, 2), true);
        Tensor y1 = Conv1d.forward(c.xt(), c.wt(), c.bt(), c.ref.s);
        Tensor y2 = Conv2d.forward(c.xt().reshape(2, 5, 1, 20), c.wt().reshape(3, 5, 1, 5), c.bt(), c.ref.s);
        assertClose("conv1d vs conv2d", y2.toArray(), y1.toArray(), 0, 0);
    }

    @Test
    void rejectsBadInputNamingTheOpAndShapes() {
        Tensor x = Tensor.zeros(4, 3, 50);
        Tensor w = Tensor.zeros(8, 3, 5);
        ConvSpec s = ConvSpec.of1d(5);
        rejects("conv1d: input [4, 3, 50] has 3 channels, weight [8, 2, 5] expects 2",
                () -> Conv1d.forward(x, Tensor.zeros(8, 2, 5), null, s));
        rejects("conv1d: input [4, 3, 1, 50] must have rank 3 [N, C, L]",
                () -> Conv1d.forward(Tensor.zeros(4, 3, 1, 50), w, null, s));
        rejects("conv1d: weight [8, 3, 1, 5] must have rank 3 [outC, inC, k]",
                () -> Conv1d.forward(x, Tensor.zeros(8, 3, 1, 5), null, s));
        rejects("conv1d: weight [8, 3, 5] has a length-5 kernel, ConvSpec[1×3",
                () -> Conv1d.forward(x, w, null, ConvSpec.of1d(3)));
        rejects("is not 1-D", () -> Conv1d.forward(x, w, null, ConvSpec.of(1, 5).withPadding(1, 1, 0, 0)));
        rejects("conv1d: input [4, 3, 3] with weight [8, 3, 5]",
                () -> Conv1d.forward(Tensor.zeros(4, 3, 3), w, null, s));
        rejects("conv1d: input [4, 3, 0] has a zero dimension",
                () -> Conv1d.forward(Tensor.zeros(4, 3, 0), w, null, s));
        rejects("conv1d: bias [7] must be [8]", () -> Conv1d.forward(x, w, Tensor.zeros(7), s));
        rejects("conv1d backwardInput: dy [4, 8, 50] must be [4, 8, 46]",
                () -> Conv1d.backwardInput(Tensor.zeros(4, 8, 50), w, s, x.shape()));
        rejects("conv1d backwardWeights: dy [4, 8, 45] must be [4, 8, 46]",
                () -> Conv1d.backwardWeights(x, Tensor.zeros(4, 8, 45), s, w.zerosLike(), null, false));
    }
}
