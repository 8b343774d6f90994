package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.Set;
import jdk.incubator.vector.FloatVector;

/**
 * Adam, PyTorch's {@code Adam(lr, betas=(beta1, beta2), eps)} (no amsgrad; for its {@code weight_decay} chain a
 * {@link WeightDecay} before it), with step count {@code t} per element:
 * <pre>
 * t += 1
 * m  = beta1 * m + (1 - beta1) * g
 * v  = beta2 * v + (1 - beta2) * g^2
 * p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * Defaults {@code lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8}. State: {@value #FIRST_MOMENT},
 * {@value #SECOND_MOMENT}, {@value #STEP} (the count {@code t} of each element; an inserted neuron starts
 * again at 0, so its first step is bias-corrected like a fresh Adam's).
 */
public record Adam(double learningRate, double beta1, double beta2, double epsilon) implements Optimiser {
    /** State key of the first moment {@code m}. */
    public static final String FIRST_MOMENT = "adam.m";
    /** State key of the second moment {@code v}. */
    public static final String SECOND_MOMENT = "adam.v";
    /** State key of the step count {@code t}, one per element. */
    public static final String STEP = "adam.step";

    public Adam {
        Kernels.nonNegative("Adam", "learning rate", learningRate);
        Kernels.unitInterval("Adam", "beta1", beta1);
        Kernels.unitInterval("Adam", "beta2", beta2);
        Kernels.nonNegative("Adam", "epsilon", epsilon);
    }

    /** PyTorch's defaults: learning rate 1e-3. */
    public static Adam of() {
        return of(1e-3);
    }

    public static Adam of(double learningRate) {
        return new Adam(learningRate, 0.9, 0.999, 1e-8);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        step("Adam", FIRST_MOMENT, SECOND_MOMENT, STEP, param, direction, false, learningRate, beta1, beta2,
                epsilon, 0);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        step("Adam", FIRST_MOMENT, SECOND_MOMENT, STEP, param, gradient, true, learningRate, beta1, beta2,
                epsilon, 0);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public Adam withLearningRate(double rate) {
        return new Adam(rate, beta1, beta2, epsilon);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(FIRST_MOMENT, SECOND_MOMENT, STEP);
    }

    /**
     * One Adam step with decoupled decay {@code wd} (0 for Adam): {@code apply}: {@code p = p * (1 - lr * wd) - u},
     * else {@code g = lr * wd * p + u}, where {@code u} is Adam's step.
     */
    static void step(String op, String mKey, String vKey, String tKey, Parameter param, Tensor g, boolean apply,
                     double lr, double beta1, double beta2, double eps, double wd) {
        Kernels.checkDirection(op, param, g);
        float[] gd = g.data();
        int go = g.offset();
        Tensor m = param.state(mKey);
        Tensor v = param.state(vKey);
        Tensor steps = param.state(tKey);
        Tensor p = param.value();
        Tensor out = apply ? p : g;
        float[] md = m.data();
        float[] vd = v.data();
        float[] sd = steps.data();
        float[] pd = p.data();
        float[] od = out.data();
        int mo = m.offset();
        int vo = v.offset();
        int so = steps.offset();
        int po = p.offset();
        int oo = out.offset();
        // 1 - beta in double, as PyTorch passes it: 1 - (float) 0.999 is 1.3e-5 off
        Consts c = new Consts((float) beta1, (float) (1 - beta1), (float) beta2, (float) (1 - beta2), (float) eps,
                (float) (apply ? 1 - lr * wd : lr * wd), wd != 0, apply);
        int n = param.size();
        for (int from = 0; from < n; ) {
            int to = Kernels.runEnd(sd, so, from, n);
            float t = sd[so + from] + 1f;
            Arrays.fill(sd, so + from, so + to, t);
            float stepSize = (float) (lr / (1 - Math.pow(beta1, t)));
            float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, t));
            int f = from;
            Kernels.forRange(to - from, (a, b) -> kernel(gd, go + f + a, md, mo + f + a, vd, vo + f + a,
                    pd, po + f + a, od, oo + f + a, b - a, stepSize, bc2Sqrt, c));
            from = to;
        }
    }

    /** The constants of one call. {@code decay}: the factor on {@code p} ({@code 1 - lr wd} or {@code lr wd}). */
    private record Consts(float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float eps, float decay,
                          boolean decays, boolean apply) {
    }

    private static void kernel(float[] g, int go, float[] m, int mo, float[] v, int vo, float[] p, int po,
                               float[] o, int oo, int n, float stepSize, float bc2Sqrt, Consts c) {
        float b1 = c.beta1();
        float b2 = c.beta2();
        float c1 = c.oneMinusBeta1();
        float c2 = c.oneMinusBeta2();
        float eps = c.eps();
        float decay = c.decay();
        boolean decays = c.decays();
        boolean apply = c.apply();
        int i = 0;
        for (int up = Kernels.SPECIES.loopBound(n); i < up; i += Kernels.SPECIES.length()) {
            FloatVector gv = FloatVector.fromArray(Kernels.SPECIES, g, go + i);
            FloatVector mv = FloatVector.fromArray(Kernels.SPECIES, m, mo + i).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromArray(Kernels.SPECIES, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
            mv.intoArray(m, mo + i);
            vv.intoArray(v, vo + i);
            FloatVector u = mv.mul(stepSize).div(vv.sqrt().div(bc2Sqrt).add(eps));
            if (apply) {
                FloatVector.fromArray(Kernels.SPECIES, p, po + i).mul(decay).sub(u).intoArray(o, oo + i);
            } else if (decays) {
                FloatVector.fromArray(Kernels.SPECIES, p, po + i).mul(decay).add(u).intoArray(o, oo + i);
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
            float u = mi * stepSize / ((float) Math.sqrt(vi) / bc2Sqrt + eps);
            if (apply) {
                o[oo + i] = p[po + i] * decay - u;
            } else if (decays) {
                o[oo + i] = p[po + i] * decay + u;
            } else {
                o[oo + i] = u;
            }
        }
    }
}
