package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

/**
 * Adam with decoupled weight decay, PyTorch's {@code AdamW(lr, betas, eps, weight_decay)}: first
 * {@code p *= 1 - lr * weightDecay}, then the {@link Adam} step. Defaults {@code lr = 1e-3, beta1 = 0.9,
 * beta2 = 0.999, eps = 1e-8, weightDecay = 1e-2}. As a transform, {@code d -> lr * weightDecay * p + adam(d)}.
 * State: {@value #FIRST_MOMENT}, {@value #SECOND_MOMENT}, {@value #STEP} (per element, as in Adam).
 */
public record AdamW(double learningRate, double beta1, double beta2, double epsilon, double weightDecay)
        implements Optimiser {
    /** State key of the first moment {@code m}. */
    public static final String FIRST_MOMENT = "adamw.m";
    /** State key of the second moment {@code v}. */
    public static final String SECOND_MOMENT = "adamw.v";
    /** State key of the step count {@code t}, one per element. */
    public static final String STEP = "adamw.step";

    public AdamW {
        Kernels.nonNegative("AdamW", "learning rate", learningRate);
        Kernels.unitInterval("AdamW", "beta1", beta1);
        Kernels.unitInterval("AdamW", "beta2", beta2);
        Kernels.nonNegative("AdamW", "epsilon", epsilon);
        Kernels.nonNegative("AdamW", "weight decay", weightDecay);
    }

    /** PyTorch's defaults: learning rate 1e-3, weight decay 1e-2. */
    public static AdamW of() {
        return of(1e-3);
    }

    public static AdamW of(double learningRate) {
        return new AdamW(learningRate, 0.9, 0.999, 1e-8, 1e-2);
    }

    public static AdamW of(double learningRate, double weightDecay) {
        return new AdamW(learningRate, 0.9, 0.999, 1e-8, weightDecay);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        Adam.step("AdamW", FIRST_MOMENT, SECOND_MOMENT, STEP, param, direction, false, learningRate, beta1, beta2,
                epsilon, weightDecay);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        Adam.step("AdamW", FIRST_MOMENT, SECOND_MOMENT, STEP, param, gradient, true, learningRate, beta1, beta2,
                epsilon, weightDecay);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public AdamW withLearningRate(double rate) {
        return new AdamW(rate, beta1, beta2, epsilon, weightDecay);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(FIRST_MOMENT, SECOND_MOMENT, STEP);
    }
}
