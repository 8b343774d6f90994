package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;
import jdk.incubator.vector.FloatVector;

/**
 * AdaGrad, PyTorch's {@code Adagrad(lr, eps)} with {@code lr_decay = 0} and {@code initial_accumulator_value = 0}
 * (for its {@code weight_decay} chain a {@link WeightDecay} before it):
 * <pre>
 * s += g^2
 * p -= lr * g / (sqrt(s) + eps)
 * </pre>
 * Defaults {@code lr = 1e-2, eps = 1e-10}. State: {@value #SUM}.
 */
public record AdaGrad(double learningRate, double epsilon) implements Optimiser {
    /** State key of the sum of squared gradients {@code s}. */
    public static final String SUM = "adagrad.sum";

    public AdaGrad {
        Kernels.nonNegative("AdaGrad", "learning rate", learningRate);
        Kernels.nonNegative("AdaGrad", "epsilon", epsilon);
    }

    /** PyTorch's defaults: learning rate 1e-2. */
    public static AdaGrad of() {
        return of(1e-2);
    }

    public static AdaGrad of(double learningRate) {
        return new AdaGrad(learningRate, 1e-10);
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
    public AdaGrad withLearningRate(double rate) {
        return new AdaGrad(rate, epsilon);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(SUM);
    }

    private void step(Parameter param, Tensor g, boolean apply) {
        Kernels.checkDirection("AdaGrad", param, g);
        float[] gd = g.data();
        int go = g.offset();
        Tensor s = param.state(SUM);
        float[] sd = s.data();
        int so = s.offset();
        Tensor out = apply ? param.value() : g;
        float[] od = out.data();
        int oo = out.offset();
        float lr = (float) learningRate;
        float eps = (float) epsilon;
        Kernels.forRange(param.size(), (from, to) -> kernel(gd, go + from, sd, so + from, od, oo + from,
                to - from, lr, eps, apply));
    }

    private static void kernel(float[] g, int go, float[] s, int so, float[] o, int oo, int n, float lr, float eps,
                               boolean apply) {
        int i = 0;
        for (int up = Kernels.SPECIES.loopBound(n); i < up; i += Kernels.SPECIES.length()) {
            FloatVector gv = FloatVector.fromArray(Kernels.SPECIES, g, go + i);
            FloatVector sv = FloatVector.fromArray(Kernels.SPECIES, s, so + i).add(gv.mul(gv));
            sv.intoArray(s, so + i);
            FloatVector u = gv.mul(lr).div(sv.sqrt().add(eps));
            if (apply) {
                FloatVector.fromArray(Kernels.SPECIES, o, oo + i).sub(u).intoArray(o, oo + i);
            } else {
                u.intoArray(o, oo + i);
            }
        }
        for (; i < n; i++) {
            float gi = g[go + i];
            float si = s[so + i] + gi * gi;
            s[so + i] = si;
            float u = gi * lr / ((float) Math.sqrt(si) + eps);
            o[oo + i] = apply ? o[oo + i] - u : u;
        }
    }
}
