package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

/**
 * Nesterov momentum, PyTorch's {@code SGD(lr, momentum, nesterov=True)} (dampening 0):
 * <pre>
 * b  = mu * b + g          (b starts at 0)
 * p -= lr * (g + mu * b)
 * </pre>
 * Default {@code mu = 0.9}. State: {@value #BUFFER}.
 */
public record Nesterov(double learningRate, double momentum) implements Optimiser {
    /** State key of the momentum buffer {@code b}. */
    public static final String BUFFER = "nesterov.buffer";

    public Nesterov {
        Kernels.nonNegative("Nesterov", "learning rate", learningRate);
        Kernels.unitInterval("Nesterov", "momentum", momentum);
    }

    /** Momentum 0.9. */
    public static Nesterov of(double learningRate) {
        return new Nesterov(learningRate, 0.9);
    }

    public static Nesterov of(double learningRate, double momentum) {
        return new Nesterov(learningRate, momentum);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        Momentum.step("Nesterov", BUFFER, param, direction, false, learningRate, momentum, true);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        Momentum.step("Nesterov", BUFFER, param, gradient, true, learningRate, momentum, true);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public Nesterov withLearningRate(double rate) {
        return new Nesterov(rate, momentum);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(BUFFER);
    }
}
