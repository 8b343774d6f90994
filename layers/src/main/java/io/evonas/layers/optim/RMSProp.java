package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;
import jdk.incubator.vector.FloatVector;

/**
 * RMSProp, PyTorch's {@code RMSprop(lr, alpha, eps, momentum, centered)} (for its {@code weight_decay} chain a
 * {@link WeightDecay} before it):
 * <pre>
 * s  = alpha * s + (1 - alpha) * g^2
 * a  = alpha * a + (1 - alpha) * g                 centered only
 * r  = sqrt(s) + eps, or sqrt(s - a^2) + eps       centered
 * b  = momentum * b + g / r;  p -= lr * b          momentum &gt; 0
 * p -= lr * g / r                                  momentum = 0
 * </pre>
 * Defaults {@code lr = 1e-2, alpha = 0.99, eps = 1e-8, momentum = 0, centered = false}. State: {@value #SQUARE},
 * and {@value #GRAD_AVG} when centered, {@value #BUFFER} when momentum &gt; 0.
 */
public record RMSProp(double learningRate, double alpha, double epsilon, double momentum, boolean centered)
        implements Optimiser {
    /** State key of the running mean of squared gradients {@code s}. */
    public static final String SQUARE = "rmsprop.square";
    /** State key of the running mean of gradients {@code a} (centered only). */
    public static final String GRAD_AVG = "rmsprop.gradAvg";
    /** State key of the momentum buffer {@code b} (momentum &gt; 0 only). */
    public static final String BUFFER = "rmsprop.buffer";

    public RMSProp {
        Kernels.nonNegative("RMSProp", "learning rate", learningRate);
        Kernels.unitInterval("RMSProp", "alpha", alpha);
        Kernels.nonNegative("RMSProp", "epsilon", epsilon);
        Kernels.unitInterval("RMSProp", "momentum", momentum);
    }

    /** PyTorch's defaults: learning rate 1e-2. */
    public static RMSProp of() {
        return of(1e-2);
    }

    public static RMSProp of(double learningRate) {
        return new RMSProp(learningRate, 0.99, 1e-8, 0, false);
    }

    /** This optimiser with {@code momentum}. */
    public RMSProp withMomentum(double momentum) {
        return new RMSProp(learningRate, alpha, epsilon, momentum, centered);
    }

    /** This optimiser, centered or not. */
    public RMSProp withCentered(boolean centered) {
        return new RMSProp(learningRate, alpha, epsilon, momentum, centered);
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
    public RMSProp withLearningRate(double rate) {
        return new RMSProp(rate, alpha, epsilon, momentum, centered);
    }

    @Override
    public Set<String> stateKeys() {
        if (centered) {
            return momentum > 0 ? Set.of(SQUARE, GRAD_AVG, BUFFER) : Set.of(SQUARE, GRAD_AVG);
        }
        return momentum > 0 ? Set.of(SQUARE, BUFFER) : Set.of(SQUARE);
    }

    private void step(Parameter param, Tensor g, boolean apply) {
        Kernels.checkDirection("RMSProp", param, g);
        float[] gd = g.data();
        int go = g.offset();
        Tensor s = param.state(SQUARE);
        // unused arrays stand in for state this configuration does not keep; the kernel never touches them
        Tensor a = centered ? param.state(GRAD_AVG) : s;
        Tensor b = momentum > 0 ? param.state(BUFFER) : s;
        Tensor out = apply ? param.value() : g;
        float[] sd = s.data();
        float[] ad = a.data();
        float[] bd = b.data();
        float[] od = out.data();
        int so = s.offset();
        int ao = a.offset();
        int bo = b.offset();
        int oo = out.offset();
        float[] k = {(float) learningRate, (float) alpha, (float) (1 - alpha), (float) epsilon, (float) momentum};
        boolean c = centered;
        boolean withMomentum = momentum > 0;
        Kernels.forRange(param.size(), (from, to) -> kernel(gd, go + from, sd, so + from, ad, ao + from,
                bd, bo + from, od, oo + from, to - from, k, c, withMomentum, apply));
    }

    /** {@code k = {lr, alpha, 1 - alpha, eps, momentum}}, {@code 1 - alpha} rounded from double as in PyTorch. */
    private static void kernel(float[] g, int go, float[] s, int so, float[] a, int ao, float[] b, int bo,
                               float[] o, int oo, int n, float[] k, boolean centered, boolean withMomentum,
                               boolean apply) {
        float lr = k[0];
        float alpha = k[1];
        float c = k[2];
        float eps = k[3];
        float mu = k[4];
        int i = 0;
        for (int up = Kernels.SPECIES.loopBound(n); i < up; i += Kernels.SPECIES.length()) {
            FloatVector gv = FloatVector.fromArray(Kernels.SPECIES, g, go + i);
            FloatVector sv = FloatVector.fromArray(Kernels.SPECIES, s, so + i).mul(alpha).add(gv.mul(gv).mul(c));
            sv.intoArray(s, so + i);
            FloatVector r;
            if (centered) {
                FloatVector av = FloatVector.fromArray(Kernels.SPECIES, a, ao + i).mul(alpha).add(gv.mul(c));
                av.intoArray(a, ao + i);
                r = sv.sub(av.mul(av)).sqrt().add(eps);
            } else {
                r = sv.sqrt().add(eps);
            }
            FloatVector u;
            if (withMomentum) {
                FloatVector bv = FloatVector.fromArray(Kernels.SPECIES, b, bo + i).mul(mu).add(gv.div(r));
                bv.intoArray(b, bo + i);
                u = bv.mul(lr);
            } else {
                u = gv.mul(lr).div(r);
            }
            if (apply) {
                FloatVector.fromArray(Kernels.SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float si = s[so + i] * alpha + gi * gi * c;
            s[so + i] = si;
            float r;
            if (centered) {
                float ai = a[ao + i] * alpha + gi * c;
                a[ao + i] = ai;
                r = (float) Math.sqrt(si - ai * ai) + eps;
            } else {
                r = (float) Math.sqrt(si) + eps;
            }
            float u;
            if (withMomentum) {
                float bi = b[bo + i] * mu + gi / r;
                b[bo + i] = bi;
                u = bi * lr;
            } else {
                u = gi * lr / r;
            }
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }
}
