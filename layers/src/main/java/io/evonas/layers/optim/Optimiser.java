package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Backend;
import io.evonas.tensor.Tensor;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An optimiser: a rule that turns a parameter's gradient into the step subtracted from its value, keeping its
 * moments in the {@link Parameter} itself so that neuron surgery ({@link Parameter#resizeInPlace}) carries them
 * along with the neurons.
 *
 * <p>The one abstract method is {@link #transformInPlace}: it replaces an update direction {@code d} (on entry the
 * gradient) by this optimiser's step, so that {@code value -= d} is one step. Composition follows Optimisers.jl,
 * which NaiveGAflux builds its optimiser genes on: a chain applies its components' transforms in order and
 * subtracts the result, so {@code WeightDecay.of(wd).andThen(Momentum.of(lr, mu))} is PyTorch's
 * {@code SGD(lr, momentum=mu, weight_decay=wd)}, and {@code Adam.of().andThen(Descent.of(0.5))} halves Adam's step.
 * Every rule in this package has PyTorch's update equations and defaults (documented on each), written as in
 * PyTorch's single-tensor CPU path, in float32.
 *
 * <pre>{@code
 * Optimiser opt = WeightDecay.of(5e-4).andThen(Momentum.of(0.01));
 * // after the backward pass has accumulated gradients into the parameters:
 * opt.updateInPlace(layer.parameters());       // value -= step; gradients are left as they are
 * for (Parameter p : layer.parameters()) {
 *     p.zeroGrad();                            // or opt.updateInPlaceAndZeroGrad(params)
 * }
 * Optimiser faster = opt.withLearningRate(2 * opt.learningRate());   // a new optimiser; state stays in params
 * }</pre>
 *
 * <p><b>Gradients are not zeroed</b> by {@link #updateInPlace}: the caller decides when to clear them (use
 * {@link #updateInPlaceAndZeroGrad} for the usual case). Every listed parameter is stepped, also with an all-zero
 * gradient (momentum keeps moving it, step counts advance), as PyTorch does after {@code zero_grad(set_to_none=False)};
 * leave a frozen parameter out of the list. Optimisers are immutable values (records, compared by
 * their hyper-parameters); their state lives under {@link #stateKeys()} in each parameter, created as zeros on the
 * first step. Slices inserted by {@code resizeInPlace} get zero state, which every rule here treats as a fresh
 * start for those elements (step counters are kept per element, so bias corrections restart for new neurons while
 * kept neurons continue exactly where they were).
 *
 * <p><b>Non-finite gradients</b> propagate as in PyTorch: a NaN or infinite gradient element makes that value
 * element and its moments NaN or infinite, for good. NaiveGAflux's training stops a candidate on a non-finite loss
 * instead; a training loop that would rather skip such a step checks {@link #gradientsFinite} first.
 *
 * <p>A step runs on the device the parameter lives on, through its {@link Backend}; the gradient must be there
 * too. Updates are not thread-safe per parameter: one optimiser step at a time.
 */
@FunctionalInterface
public interface Optimiser {
    /**
     * Replaces {@code direction} (the gradient, or what earlier components of a chain made of it; the value's
     * shape) by this optimiser's step for {@code param}, advancing {@code param}'s optimiser state. Reads the
     * parameter's value but does not change it; {@code direction} must not share elements with it.
     */
    void transformInPlace(Parameter param, Tensor direction);

    /**
     * One step on {@code param} from {@code gradient}: {@code value -= transform(gradient)}, advancing the state;
     * {@code gradient} itself is not changed. The rules in this package override this with a fused kernel.
     */
    default void updateInPlace(Parameter param, Tensor gradient) {
        Objects.requireNonNull(param, "param");
        Objects.requireNonNull(gradient, "gradient");
        Tensor d = gradient.copy();
        transformInPlace(param, d);
        Backend.of("updateInPlace", param.value(), d).sub(param.value(), d, param.value());
    }

    /** One step on {@code param} from its accumulated gradient, which is left as it is. */
    default void updateInPlace(Parameter param) {
        Objects.requireNonNull(param, "param");
        updateInPlace(param, param.grad());
    }

    /**
     * One step on every parameter from its accumulated gradient, which is left as it is. A parameter listed twice
     * is stepped twice.
     */
    default void updateInPlace(List<Parameter> params) {
        Objects.requireNonNull(params, "params");
        for (Parameter p : params) {
            updateInPlace(p);
        }
    }

    /** {@link #updateInPlace(List)}, then sets every gradient to zero: the usual end of a training step. */
    default void updateInPlaceAndZeroGrad(List<Parameter> params) {
        updateInPlace(params);
        for (Parameter p : params) {
            p.zeroGrad();
        }
    }

    /** Whether this optimiser has a learning rate ({@link WeightDecay} and plain lambdas do not). */
    default boolean hasLearningRate() {
        return false;
    }

    /**
     * The learning rate; for a chain, the product of its components' rates.
     *
     * @throws UnsupportedOperationException if {@link #hasLearningRate()} is false
     */
    default double learningRate() {
        throw new UnsupportedOperationException(this + " has no learning rate");
    }

    /**
     * This optimiser with learning rate {@code rate} and every other hyper-parameter unchanged; state in the
     * parameters is unaffected, so training continues with the new rate.
     *
     * @throws UnsupportedOperationException if {@link #hasLearningRate()} is false
     * @throws IllegalArgumentException if {@code rate} is negative, infinite or NaN
     */
    default Optimiser withLearningRate(double rate) {
        throw new UnsupportedOperationException(this + " has no learning rate");
    }

    /** The keys of the state this optimiser keeps in each parameter (see {@link Parameter#state}). */
    default Set<String> stateKeys() {
        return Set.of();
    }

    /**
     * Sets this optimiser's state in every parameter to zero, which every rule here reads as a fresh start (step
     * counts 0): what NaiveGAflux does once per generation, and what a change of rule should do.
     */
    default void resetStateInPlace(List<Parameter> params) {
        Objects.requireNonNull(params, "params");
        for (Parameter p : params) {
            for (String key : stateKeys()) {
                if (p.hasState(key)) {
                    p.state(key).fill(0f);
                }
            }
        }
    }

    /** This optimiser's transform followed by {@code next}'s: {@code chain(this, next)}. */
    default Optimiser andThen(Optimiser next) {
        return OptimiserChain.of(this, next);
    }

    /** The chain of {@code components}, applied in order (see {@link OptimiserChain}). */
    static OptimiserChain chain(Optimiser... components) {
        return OptimiserChain.of(components);
    }

    /** Whether every element of every parameter's accumulated gradient is finite. */
    static boolean gradientsFinite(List<Parameter> params) {
        Objects.requireNonNull(params, "params");
        for (Parameter p : params) {
            if (!Backend.of("gradientsFinite", p.grad()).allFinite(p.grad())) {
                return false;
            }
        }
        return true;
    }
}
