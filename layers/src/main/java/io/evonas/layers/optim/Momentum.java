package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.Set;

/**
 * Heavy-ball momentum, PyTorch's {@code SGD(lr, momentum)} (dampening 0):
 * <pre>
 * b  = mu * b + g          (b starts at 0, so the first step has b = g, as PyTorch's clone)
 * p -= lr * b
 * </pre>
 * Default {@code mu = 0.9}. State: {@value #BUFFER}. Chained after {@link WeightDecay} it is PyTorch's
 * {@code SGD(lr, momentum, weight_decay)}.
 */
public record Momentum(double learningRate, double momentum) implements Optimiser {
    /** State key of the momentum buffer {@code b}. */
    public static final String BUFFER = "momentum.buffer";

    public Momentum {
        Kernels.nonNegative("Momentum", "learning rate", learningRate);
        Kernels.unitInterval("Momentum", "momentum", momentum);
    }

    /** Momentum 0.9. */
    public static Momentum of(double learningRate) {
        return new Momentum(learningRate, 0.9);
    }

    public static Momentum of(double learningRate, double momentum) {
        return new Momentum(learningRate, momentum);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        step("Momentum", BUFFER, param, direction, false, learningRate, momentum, false);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        step("Momentum", BUFFER, param, gradient, true, learningRate, momentum, false);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public Momentum withLearningRate(double rate) {
        return new Momentum(rate, momentum);
    }

    @Override
    public Set<String> stateKeys() {
        return Set.of(BUFFER);
    }

    /**
     * Advances buffer {@code key} by {@code g}; {@code apply}: {@code value -= lr * u}, else {@code g = lr * u},
     * where {@code u} is the buffer, or {@code g + mu * b} for Nesterov.
     */
    static void step(String op, String key, Parameter param, Tensor g, boolean apply, double lr, double mu,
                     boolean nesterov) {
        Kernels.backend(op, param, g).momentumStep(g, param.state(key), apply ? param.value() : g, (float) lr,
                (float) mu, nesterov, apply);
    }
}
