package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

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
        Kernels.backend("RMSProp", param, g).rmsPropStep(g, param.state(SQUARE),
                centered ? param.state(GRAD_AVG) : null, momentum > 0 ? param.state(BUFFER) : null,
                apply ? param.value() : g, learningRate, alpha, epsilon, momentum, apply);
    }
}
