package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

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
        Kernels.backend(op, param, g).adamStep(g, param.state(mKey), param.state(vKey), param.state(tKey),
                param.value(), apply ? param.value() : g, lr, beta1, beta2, eps, wd, apply);
    }
}
