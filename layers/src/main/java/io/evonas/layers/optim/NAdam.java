package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

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
        Kernels.backend("NAdam", param, g).nAdamStep(g, param.state(FIRST_MOMENT), param.state(SECOND_MOMENT),
                param.state(STEP), param.state(MU_PRODUCT), apply ? param.value() : g, learningRate, beta1, beta2,
                epsilon, momentumDecay, apply);
    }
}
