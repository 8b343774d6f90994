package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;

/**
 * Plain gradient descent, PyTorch's {@code SGD(lr)} without momentum: {@code p -= lr * g}. No state.
 *
 * <p>As a transform, {@code d -> lr * d}; after another rule in a chain it scales that rule's step, which is how
 * NaiveGAflux applies a population-wide learning-rate multiplier.
 */
public record Descent(double learningRate) implements Optimiser {
    public Descent {
        Kernels.nonNegative("Descent", "learning rate", learningRate);
    }

    public static Descent of(double learningRate) {
        return new Descent(learningRate);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        Kernels.backend("Descent", param, direction).mulScalar(direction, (float) learningRate, direction);
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        Kernels.backend("Descent", param, gradient).addScaledInPlace(param.value(), (float) -learningRate, gradient);
    }

    @Override
    public boolean hasLearningRate() {
        return true;
    }

    @Override
    public Descent withLearningRate(double rate) {
        return new Descent(rate);
    }
}
