package io.evonas.layers.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Each rule over three steps on a [3, 7] parameter (a full vector of 16 lanes and a scalar tail) against PyTorch's
 * update equations written out plainly in double precision, as in torch/optim/*.py (single-tensor path).
 */
class OptimiserReferenceTest {
    private static final int ROWS = 3;
    private static final int COLS = 7;
    private static final int N = ROWS * COLS;
    private static final int STEPS = 3;

    /** Initial values, exactly representable in float. */
    private static double[] initial() {
        double[] p = new double[N];
        for (int i = 0; i < N; i++) {
            p[i] = (float) (0.5 * Math.sin(0.9 * i + 0.3));
        }
        return p;
    }

    /** The gradient of step {@code t} (1-based), exactly representable in float; element 0 is 0 on step 1. */
    private static double[] gradient(int t) {
        double[] g = new double[N];
        for (int i = 0; i < N; i++) {
            double scale = i % 3 == 0 ? 0.01 : 1;
            g[i] = (float) (Math.cos(1.7 * i + 2.1 * t) * (1 + 0.3 * t) * scale);
        }
        if (t == 1) {
            g[0] = 0;
        }
        return g;
    }

    private static Tensor tensor(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return Tensor.of(f, ROWS, COLS);
    }

    /** Three steps of {@code opt} from {@link #initial()} with the gradients of {@link #gradient}. */
    private static Parameter run(Optimiser opt) {
        Parameter p = new Parameter("w", tensor(initial()));
        for (int t = 1; t <= STEPS; t++) {
            p.zeroGrad();
            p.accumulateGrad(tensor(gradient(t)));
            opt.updateInPlace(p);
        }
        return p;
    }

    private static void assertClose(double[] expected, Tensor actual, String what) {
        float[] a = actual.toArray();
        assertEquals(expected.length, a.length, what + ": size");
        for (int i = 0; i < a.length; i++) {
            double tol = 1e-6 * (1 + Math.abs(expected[i]));
            if (!(Math.abs(a[i] - expected[i]) <= tol)) {
                fail(what + "[" + i + "]: expected " + expected[i] + ", got " + a[i]);
            }
        }
    }

    private static double[] filled(double v) {
        double[] x = new double[N];
        java.util.Arrays.fill(x, v);
        return x;
    }

    @Test
    void descent() {
        double lr = 0.1;
        double[] p = initial();
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            for (int i = 0; i < N; i++) {
                p[i] -= lr * g[i];
            }
        }
        assertClose(p, run(Descent.of(lr)).value(), "value");
    }

    @Test
    void momentumIsTorchSgdWithMomentum() {
        double lr = 0.1;
        double mu = 0.8;
        double[] p = initial();
        double[] buf = null;
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            if (buf == null) {
                buf = g.clone();                                // torch.clone(d_p)
            } else {
                for (int i = 0; i < N; i++) {
                    buf[i] = mu * buf[i] + g[i];                // buf.mul_(momentum).add_(d_p)
                }
            }
            for (int i = 0; i < N; i++) {
                p[i] -= lr * buf[i];
            }
        }
        Parameter q = run(Momentum.of(lr, mu));
        assertClose(p, q.value(), "value");
        assertClose(buf, q.state(Momentum.BUFFER), "buffer");
    }

    @Test
    void nesterovIsTorchSgdWithNesterov() {
        double lr = 0.1;
        double mu = 0.8;
        double[] p = initial();
        double[] buf = null;
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            if (buf == null) {
                buf = g.clone();
            } else {
                for (int i = 0; i < N; i++) {
                    buf[i] = mu * buf[i] + g[i];
                }
            }
            for (int i = 0; i < N; i++) {
                p[i] -= lr * (g[i] + mu * buf[i]);              // d_p = d_p.add(buf, alpha=momentum)
            }
        }
        Parameter q = run(Nesterov.of(lr, mu));
        assertClose(p, q.value(), "value");
        assertClose(buf, q.state(Nesterov.BUFFER), "buffer");
    }

    /** PyTorch's Adam (and AdamW's step after its decay) on {@code p}, {@code m}, {@code v} at step {@code t}. */
    private static void adamStep(double[] p, double[] m, double[] v, double[] g, int t, double lr, double b1,
                                 double b2, double eps) {
        double bc1 = 1 - Math.pow(b1, t);
        double bc2 = 1 - Math.pow(b2, t);
        double stepSize = lr / bc1;
        for (int i = 0; i < N; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
            p[i] -= stepSize * m[i] / denom;
        }
    }

    @Test
    void adam() {
        checkAdam(new Adam(0.1, 0.8, 0.95, 1e-6));
        checkAdam(Adam.of(0.1));   // 1 - 0.999 must be rounded to float from double, not from (float) 0.999
    }

    private static void checkAdam(Adam opt) {
        double lr = opt.learningRate();
        double[] p = initial();
        double[] m = new double[N];
        double[] v = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            adamStep(p, m, v, gradient(t), t, lr, opt.beta1(), opt.beta2(), opt.epsilon());
        }
        Parameter q = run(opt);
        assertClose(p, q.value(), "value");
        assertClose(m, q.state(Adam.FIRST_MOMENT), "m");
        assertClose(v, q.state(Adam.SECOND_MOMENT), "v");
        assertClose(filled(STEPS), q.state(Adam.STEP), "step");
    }

    @Test
    void adamWDecaysBeforeTheAdamStep() {
        double lr = 0.1;
        double wd = 0.3;
        double b1 = 0.8;
        double b2 = 0.95;
        double eps = 1e-6;
        double[] p = initial();
        double[] m = new double[N];
        double[] v = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            for (int i = 0; i < N; i++) {
                p[i] *= 1 - lr * wd;                            // param.mul_(1 - lr * weight_decay)
            }
            adamStep(p, m, v, gradient(t), t, lr, b1, b2, eps);
        }
        Parameter q = run(new AdamW(lr, b1, b2, eps, wd));
        assertClose(p, q.value(), "value");
        assertClose(m, q.state(AdamW.FIRST_MOMENT), "m");
        assertClose(v, q.state(AdamW.SECOND_MOMENT), "v");
    }

    @Test
    void nadam() {
        checkNAdam(new NAdam(0.1, 0.8, 0.95, 1e-6, 0.5));   // psi far from 4e-3, so that mu changes visibly
        checkNAdam(NAdam.of(0.1));
    }

    private static void checkNAdam(NAdam opt) {
        double lr = opt.learningRate();
        double b1 = opt.beta1();
        double b2 = opt.beta2();
        double eps = opt.epsilon();
        double psi = opt.momentumDecay();
        double[] p = initial();
        double[] m = new double[N];
        double[] v = new double[N];
        double muProduct = 1;
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            double bc2 = 1 - Math.pow(b2, t);
            double mu = b1 * (1 - 0.5 * Math.pow(0.96, t * psi));
            double muNext = b1 * (1 - 0.5 * Math.pow(0.96, (t + 1) * psi));
            muProduct *= mu;
            double muProductNext = muProduct * muNext;
            for (int i = 0; i < N; i++) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double denom = Math.sqrt(v[i] / bc2) + eps;
                p[i] -= lr * (1 - mu) / (1 - muProduct) * g[i] / denom;
                p[i] -= lr * muNext / (1 - muProductNext) * m[i] / denom;
            }
        }
        Parameter q = run(opt);
        assertClose(p, q.value(), "value");
        assertClose(m, q.state(NAdam.FIRST_MOMENT), "m");
        assertClose(v, q.state(NAdam.SECOND_MOMENT), "v");
        assertClose(filled(muProduct), q.state(NAdam.MU_PRODUCT), "mu product");
    }

    @Test
    void adaGrad() {
        double lr = 0.1;
        double eps = 1e-10;
        double[] p = initial();
        double[] sum = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            for (int i = 0; i < N; i++) {
                sum[i] += g[i] * g[i];
                p[i] -= lr * g[i] / (Math.sqrt(sum[i]) + eps);
            }
        }
        Parameter q = run(AdaGrad.of(lr));
        assertClose(p, q.value(), "value");
        assertClose(sum, q.state(AdaGrad.SUM), "sum");
    }

    @Test
    void rmsProp() {
        checkRmsProp(new RMSProp(0.01, 0.9, 1e-8, 0, false));
        checkRmsProp(RMSProp.of(0.01));
    }

    private static void checkRmsProp(RMSProp opt) {
        double lr = opt.learningRate();
        double alpha = opt.alpha();
        double eps = opt.epsilon();
        double[] p = initial();
        double[] sq = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            for (int i = 0; i < N; i++) {
                sq[i] = alpha * sq[i] + (1 - alpha) * g[i] * g[i];
                p[i] -= lr * g[i] / (Math.sqrt(sq[i]) + eps);
            }
        }
        Parameter q = run(opt);
        assertClose(p, q.value(), "value");
        assertClose(sq, q.state(RMSProp.SQUARE), "square average");
    }

    @Test
    void rmsPropCenteredWithMomentum() {
        double lr = 0.01;
        double alpha = 0.9;
        double eps = 1e-6;
        double mu = 0.5;
        double[] p = initial();
        double[] sq = new double[N];
        double[] avg = new double[N];
        double[] buf = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            for (int i = 0; i < N; i++) {
                sq[i] = alpha * sq[i] + (1 - alpha) * g[i] * g[i];
                avg[i] = alpha * avg[i] + (1 - alpha) * g[i];
                double r = Math.sqrt(sq[i] - avg[i] * avg[i]) + eps;
                buf[i] = mu * buf[i] + g[i] / r;
                p[i] -= lr * buf[i];
            }
        }
        Parameter q = run(new RMSProp(lr, alpha, eps, mu, true));
        assertClose(p, q.value(), "value");
        assertClose(sq, q.state(RMSProp.SQUARE), "square average");
        assertClose(avg, q.state(RMSProp.GRAD_AVG), "gradient average");
        assertClose(buf, q.state(RMSProp.BUFFER), "buffer");
    }

    @Test
    void weightDecayThenMomentumIsTorchSgdWithMomentumAndWeightDecay() {
        double lr = 0.1;
        double mu = 0.9;
        double wd = 0.05;
        double[] p = initial();
        double[] buf = null;
        for (int t = 1; t <= STEPS; t++) {
            double[] d = gradient(t);
            for (int i = 0; i < N; i++) {
                d[i] += wd * p[i];                              // d_p = d_p.add(param, alpha=weight_decay)
            }
            if (buf == null) {
                buf = d.clone();
            } else {
                for (int i = 0; i < N; i++) {
                    buf[i] = mu * buf[i] + d[i];
                }
            }
            for (int i = 0; i < N; i++) {
                p[i] -= lr * buf[i];
            }
        }
        assertClose(p, run(WeightDecay.of(wd).andThen(Momentum.of(lr, mu))).value(), "value");
        assertClose(p, run(Optimiser.chain(WeightDecay.of(wd), Momentum.of(lr, mu))).value(), "value");
    }

    @Test
    void weightDecayThenAdamIsTorchAdamWithWeightDecay() {
        double lr = 0.1;
        double wd = 0.2;
        double[] p = initial();
        double[] m = new double[N];
        double[] v = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = gradient(t);
            for (int i = 0; i < N; i++) {
                g[i] += wd * p[i];
            }
            adamStep(p, m, v, g, t, lr, 0.9, 0.999, 1e-8);
        }
        assertClose(p, run(WeightDecay.of(wd).andThen(Adam.of(lr))).value(), "value");
    }

    @Test
    void descentAfterAdamScalesItsStep() {
        double[] p = initial();
        double[] m = new double[N];
        double[] v = new double[N];
        for (int t = 1; t <= STEPS; t++) {
            adamStep(p, m, v, gradient(t), t, 0.1 * 0.5, 0.9, 0.999, 1e-8);
        }
        assertClose(p, run(Adam.of(0.1).andThen(Descent.of(0.5))).value(), "value");
    }

    @Test
    void defaultsArePyTorchs() {
        assertEquals(new Adam(1e-3, 0.9, 0.999, 1e-8), Adam.of());
        assertEquals(new AdamW(1e-3, 0.9, 0.999, 1e-8, 1e-2), AdamW.of());
        assertEquals(new NAdam(2e-3, 0.9, 0.999, 1e-8, 4e-3), NAdam.of());
        assertEquals(new AdaGrad(1e-2, 1e-10), AdaGrad.of());
        assertEquals(new RMSProp(1e-2, 0.99, 1e-8, 0, false), RMSProp.of());
        assertEquals(new Momentum(0.1, 0.9), Momentum.of(0.1));
        assertEquals(new Nesterov(0.1, 0.9), Nesterov.of(0.1));
    }
}
