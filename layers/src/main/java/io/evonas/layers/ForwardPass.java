package io.evonas.layers;

import io.evonas.autodiff.Gradients;
import io.evonas.autodiff.Tape;
import io.evonas.autodiff.Variable;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * One forward pass of layers: the tape it records on, whether it trains (batch statistics, dropout) and the
 * generator dropout draws from. Parameters join the tape through {@link #bind}; after the tape's backward,
 * {@link #accumulateGradients} adds each bound parameter's gradient into the parameter.
 */
public final class ForwardPass {
    private final Tape tape;
    private final boolean training;
    private final RandomGenerator rng;
    private final Map<Parameter, Variable> bound = new IdentityHashMap<>();

    public ForwardPass(Tape tape, boolean training, RandomGenerator rng) {
        this.tape = Objects.requireNonNull(tape, "tape");
        this.training = training;
        this.rng = Objects.requireNonNull(rng, "rng");
    }

    /** A training pass on a new tape. */
    public static ForwardPass training(RandomGenerator rng) {
        return new ForwardPass(new Tape(), true, rng);
    }

    /** An inference pass on a new tape: parameters are bound as constants, so nothing is recorded. */
    public static ForwardPass inference() {
        return new ForwardPass(new Tape(), false, java.util.random.RandomGenerator.of("L64X128MixRandom"));
    }

    public Tape tape() {
        return tape;
    }

    public boolean training() {
        return training;
    }

    public RandomGenerator rng() {
        return rng;
    }

    /** The variable for {@code p} on this pass's tape: a parameter leaf when training, else a constant. */
    public Variable bind(Parameter p) {
        return bound.computeIfAbsent(p, q -> training ? tape.parameter(q.value()) : tape.constant(q.value()));
    }

    /** Adds the gradient of every bound parameter into it. */
    public void accumulateGradients(Gradients g) {
        for (Map.Entry<Parameter, Variable> e : bound.entrySet()) {
            if (e.getValue().needsGradient()) {
                e.getKey().accumulateGrad(g.of(e.getValue()));
            }
        }
    }
}
