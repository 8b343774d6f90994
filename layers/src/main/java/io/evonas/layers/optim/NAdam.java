package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Set;
import jdk.incubator.vector.FloatVector;

/**
 * NAdam, PyTorch's {@code NAdam(lr, betas=(beta1, beta2), eps, momentum_decay)} (for its {@code weight_decay}
 * chain a {@link WeightDecay} before it), with step count {@code t} and momentum product per element:
 * <pre>
 * t     += 1
 * mu     = beta1 * (1 - 0.5 * 0.96^(t * psi))          psi = momentumDecay
 * muNext = beta1 * (1 - 0.5 * 0.96^((t + 1) * psi))
 * prod  *= mu                                          (prod starts at 1)
 * m      = beta1 * m + (1 - beta1) * g
 * v      = beta2 * v + (1 - beta2) * g^2
 * denom  = sqrt(v / (1 - beta2^t)) + eps
 * p     -= lr * (1 - mu) / (1 - prod) * g / denom + lr * muNext / (1 - prod * muNext) * m / denom
 * </pre>
 * Defaults {@code lr = 2e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, momentumDecay = 4e-3}. State:
 * {@value #FIRST_MOMENT}, {@value #SECOND_MOMENT}, {@value #STEP} (count per element) and
 * {@value #MU_PRODUCT} (the product per element, float32 as in PyTorch; read where {@code t > 0}, since an
 * inserted element's zero state stands for a fresh start).
 */
public record NAdam(double learningRate, double beta1, double beta2, double epsilon, double momentumDecay)
        implements Optimiser {
    /** State key of the first moment {@code m}. */
    public static final String FIRST_MOMENT = "nadam.m";
    /** State key of the second moment {@code v}. */
    public static final String SECOND_MOMENT = "nadam.v";
    /** State key of the step count {@code t}, one per element. */
    public static final String STEP = "nadam.step";
    /** State key of the momentum product {@code prod}, one per element. */
    public static final String MU_PRODUCT = "nadam.muProduct";

    public NAdam {
        Kernels.nonNegative("NAdam", "learning rate", learningRate);
        Kernels.unitInterval("NAdam", "beta1", beta1);
        Kernels.unitInterval("NAdam", "beta2", beta2);
        Kernels.nonNegative("NAdam", "epsilon", epsilon);
        Kernels.nonNegative("NAdam", "momentum decay", momentumDecay);
    }

    /** PyTorch's defaults: learning rate 2e-3. */
    public static NAdam of() {
        return of(2e-3);
    }

    public static NAdam of(double learningRate) {
        return new NAdam(learningRate, 0.9, 0.999, 1e-8, 4e-3);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        step(param, direction, false);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        step(param, gradient, true);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public NAdam withLearningRate(double rate) {
        return new NAdam(rate, beta1, beta2, epsilon, momentumDecay);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(FIRST_MOMENT, SECOND_MOMENT, STEP, MU_PRODUCT);
    }

    private void step(Parameter param, Tensor g, boolean apply) {
        Kernels.checkDirection("NAdam", param, g);
        float[] gd = g.data();
        int go = g.offset();
        Tensor m = param.state(FIRST_MOMENT);
        Tensor v = param.state(SECOND_MOMENT);
        Tensor steps = param.state(STEP);
        Tensor prods = param.state(MU_PRODUCT);
        Tensor out = apply ? param.value() : g;
        float[] md = m.data();
        float[] vd = v.data();
        float[] sd = steps.data();
        float[] pd = prods.data();
        float[] od = out.data();
        int mo = m.offset();
        int vo = v.offset();
        int so = steps.offset();
        int po = prods.offset();
        int oo = out.offset();
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float c1 = (float) (1 - beta1);
        float c2 = (float) (1 - beta2);
        float eps = (float) epsilon;
        int n = param.size();
        for (int from = 0; from < n; ) {
            int to = Kernels.runEnd(sd, so, from, n);
            float t = sd[so + from] + 1f;
            // equal counts mean equal products (both follow from the same steps with the same beta1 and psi), so
            // the run's first element speaks for the run
            float prod = (float) ((t == 1f ? 1f : pd[po + from]) * momentum(t));
            Arrays.fill(sd, so + from, so + to, t);
            Arrays.fill(pd, po + from, po + to, prod);
            double mu = momentum(t);
            double muNext = momentum(t + 1.0);
            float gScale = (float) (learningRate * (1 - mu) / (1 - prod));
            float mScale = (float) (learningRate * muNext / (1 - prod * muNext));
            float bc2 = (float) (1 - Math.pow(beta2, t));
            int f = from;
            Kernels.forRange(to - from, (a, b) -> kernel(gd, go + f + a, md, mo + f + a, vd, vo + f + a,
                    od, oo + f + a, b - a, b1, c1, b2, c2, eps, bc2, gScale, mScale, apply));
            from = to;
        }
    }

    /** The momentum coefficient {@code mu} of step {@code t}. */
    private double momentum(double t) {
        return beta1 * (1 - 0.5 * Math.pow(0.96, t * momentumDecay));
    }

    private static void kernel(float[] g, int go, float[] m, int mo, float[] v, int vo, float[] o, int oo, int n,
                               float b1, float c1, float b2, float c2, float eps, float bc2, float gScale,
                               float mScale, boolean apply) {
        int i = 0;
        for (int up = Kernels.SPECIES.loopBound(n); i < up; i += Kernels.SPECIES.length()) {
            FloatVector gv = FloatVector.fromArray(Kernels.SPECIES, g, go + i);
            FloatVector mv = FloatVector.fromArray(Kernels.SPECIES, m, mo + i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(Kernels.SPECIES, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, mo + i);
            vv.intoArray(v, vo + i);
            FloatVector u = gv.mul(gScale).add(mv.mul(mScale)).div(vv.div(bc2).sqrt().add(eps));
            if (apply) {
                FloatVector.fromArray(Kernels.SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float mi = m[mo + i] * b1 + gi * c1;
            float vi = v[vo + i] * b2 + gi * gi * c2;
            m[mo + i] = mi;
            v[vo + i] = vi;
            float u = (gi * gScale + mi * mScale) / ((float) Math.sqrt(vi / bc2) + eps);
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }
}
