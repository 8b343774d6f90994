package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

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
        Kernels.backend("AdaGrad", param, g).adaGradStep(g, param.state(SUM), apply ? param.value() : g,
                (float) learningRate, (float) epsilon, apply);
    }
}
