package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;

/**
 * L2 weight decay as a gradient transform, Flux's {@code WeightDecay} and PyTorch's {@code weight_decay} argument:
 * {@code g -> g + lambda * p}. Meant to come first in a chain: {@code WeightDecay.of(wd).andThen(Momentum.of(lr))}
 * is PyTorch's {@code SGD(lr, momentum=0.9, weight_decay=wd)}, {@code WeightDecay.of(wd).andThen(Adam.of(lr))} is
 * PyTorch's {@code Adam(lr, weight_decay=wd)}. Alone it steps {@code p -= g + lambda * p}. No learning rate, no
 * state. (For decoupled decay see {@link AdamW}.)
 */
public record WeightDecay(double lambda) implements Optimiser {
    public WeightDecay {
        Kernels.nonNegative("WeightDecay", "lambda", lambda);
    }

    public static WeightDecay of(double lambda) {
        return new WeightDecay(lambda);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        Kernels.backend("WeightDecay", param, direction).addScaledInPlace(direction, (float) lambda, param.value());
    }
}
