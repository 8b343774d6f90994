package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Optimisers composed as gradient transforms, Optimisers.jl's {@code OptimiserChain}: each component replaces the
 * direction by its transform of it, in order, and the result is subtracted from the value (the last component
 * applies the step with its fused kernel). So
 * <pre>{@code
 * WeightDecay.of(wd).andThen(Momentum.of(lr, mu))   // PyTorch SGD(lr, momentum=mu, weight_decay=wd)
 * WeightDecay.of(wd).andThen(Adam.of(lr))           // PyTorch Adam(lr, weight_decay=wd)
 * Adam.of(lr).andThen(Descent.of(s))                // Adam with its step scaled by s
 * }</pre>
 * Nested chains are flattened; a chain has at least one component, and no two components may keep state under the
 * same key (two {@link Momentum}s would share one buffer). The chain's learning rate is the product of its
 * components' rates, as NaiveGAflux reads a chain's rate.
 */
public record OptimiserChain(List<Optimiser> components) implements Optimiser {
    public OptimiserChain {
        Objects.requireNonNull(components, "components");
        List<Optimiser> flat = new ArrayList<>();
        for (Optimiser o : components) {
            Objects.requireNonNull(o, "component");
            if (o instanceof OptimiserChain c) {
                flat.addAll(c.components());
            } else {
                flat.add(o);
            }
        }
        if (flat.isEmpty()) {
            throw new IllegalArgumentException("OptimiserChain: needs at least one optimiser");
        }
        Map<String, Optimiser> owner = new LinkedHashMap<>();
        for (Optimiser o : flat) {
            for (String key : o.stateKeys()) {
                Optimiser before = owner.putIfAbsent(key, o);
                if (before != null) {
                    throw new IllegalArgumentException("OptimiserChain: " + before + " and " + o
                            + " would both keep state " + key + "; merge them into one");
                }
            }
        }
        components = List.copyOf(flat);
    }

    public static OptimiserChain of(Optimiser... components) {
        return new OptimiserChain(List.of(components));
    }

    public static OptimiserChain of(List<Optimiser> components) {
        return new OptimiserChain(components);
    }

    @Override
    public void transformInPlace(Parameter param, Tensor direction) {
        for (Optimiser o : components) {
            o.transformInPlace(param, direction);
        }
    }

    @Override
    public void updateInPlace(Parameter param, Tensor gradient) {
        Objects.requireNonNull(param, "param");
        Objects.requireNonNull(gradient, "gradient");
        int last = components.size() - 1;
        Tensor d = last == 0 ? gradient : gradient.copy();
        for (int i = 0; i < last; i++) {
            components.get(i).transformInPlace(param, d);
        }
        components.get(last).updateInPlace(param, d);
    }

    @Override
    public boolean hasLearningRate() {
        for (Optimiser o : components) {
            if (o.hasLearningRate()) {
                return true;
            }
        }
        return false;
    }

    /** The product of the components' learning rates. */
    @Override
    public double learningRate() {
        if (!hasLearningRate()) {
            throw new UnsupportedOperationException(this + " has no learning rate");
        }
        double rate = 1;
        for (Optimiser o : components) {
            if (o.hasLearningRate()) {
                rate *= o.learningRate();
            }
        }
        return rate;
    }

    /**
     * This chain with the first component that has a learning rate rescaled so that the chain's rate (the
     * product) becomes {@code rate}; the others keep theirs.
     *
     * @throws IllegalArgumentException if {@code rate} is not finite and at least 0, or if the other components'
     *                                  rates multiply to 0 while {@code rate} is not 0
     */
    @Override
    public OptimiserChain withLearningRate(double rate) {
        Kernels.nonNegative("OptimiserChain", "learning rate", rate);
        int first = -1;
        double others = 1;
        for (int i = 0; i < components.size(); i++) {
            Optimiser o = components.get(i);
            if (!o.hasLearningRate()) {
                continue;
            }
            if (first < 0) {
                first = i;
            } else {
                others *= o.learningRate();
            }
        }
        if (first < 0) {
            throw new UnsupportedOperationException(this + " has no learning rate");
        }
        if (others == 0 && rate != 0) {
            throw new IllegalArgumentException("OptimiserChain: cannot reach learning rate " + rate + ": the rates"
                    + " after " + components.get(first) + " multiply to 0");
        }
        List<Optimiser> changed = new ArrayList<>(components);
        changed.set(first, components.get(first).withLearningRate(others == 0 ? 0 : rate / others));
        return new OptimiserChain(changed);
    }

    @Override
    public Set<String> stateKeys() {
        Set<String> keys = new LinkedHashSet<>();
        for (Optimiser o : components) {
            keys.addAll(o.stateKeys());
        }
        return Collections.unmodifiableSet(keys);
    }
}
