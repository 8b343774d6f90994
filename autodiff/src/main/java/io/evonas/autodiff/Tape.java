package io.evonas.autodiff;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The record of one forward pass. Leaves are made with {@link #parameter} (gradient wanted) or {@link #constant};
 * every primitive of {@link Ops} applied to variables of this tape appends a node holding its backward rule, but
 * only when one of its inputs needs a gradient, so inference records nothing and keeps no activations. A rule
 * captures exactly the tensors its gradient needs (ReLU keeps its output, not its input).
 *
 * <pre>{@code
 * Tape tape = new Tape();
 * Variable w = tape.parameter(weights);                 // [out, in]
 * Variable x = tape.constant(batch);                    // [N, in]
 * Variable loss = Ops.crossEntropy(Ops.matmul(x, false, w, true), labels);
 * Gradients g = tape.backward(loss);
 * Tensor dw = g.of(w);                                  // [out, in]
 * }</pre>
 *
 * A tape is used by one thread and for one backward pass. Gradients are computed and accumulated on the device
 * the values live on; a seed must be on the output's device.
 */
public final class Tape {
    /** A primitive's gradient rule: given the gradient of its output, push gradients to its inputs. */
    @FunctionalInterface
    interface Rule {
        void backward(Tensor dy, Sink sink);
    }

    /** Receives the gradients a rule computes for its inputs. */
    interface Sink {
        /** Whether {@code input} needs a gradient; rules skip work for inputs that do not. */
        boolean needs(Variable input);

        /** Adds {@code grad} (same shape as {@code input}) into the gradient of {@code input}. */
        void accumulate(Variable input, Tensor grad);
    }

    private record Node(Variable output, String op, Rule rule) {
    }

    private final List<Node> nodes = new ArrayList<>();
    private final List<Variable> parameters = new ArrayList<>();
    private boolean consumed;

    /** A leaf whose gradient {@link #backward} computes. */
    public Variable parameter(Tensor value) {
        Variable v = new Variable(this, Objects.requireNonNull(value, "value"), true);
        parameters.add(v);
        return v;
    }

    /** A leaf that needs no gradient (inputs, targets). */
    public Variable constant(Tensor value) {
        return new Variable(this, Objects.requireNonNull(value, "value"), false);
    }

    /** Number of recorded nodes (primitives applied to something that needs a gradient). */
    public int size() {
        return nodes.size();
    }

    /**
     * Records the result of a primitive. Without an input that needs a gradient nothing is kept and the result
     * is a constant.
     */
    Variable record(String op, Tensor value, Rule rule, Variable... inputs) {
        boolean needs = false;
        for (Variable in : inputs) {
            if (in.tape() != this) {
                throw new IllegalArgumentException(op + ": an input belongs to another tape");
            }
            needs |= in.needsGradient();
        }
        if (consumed) {
            throw new IllegalStateException(op + ": this tape has already run backward; start a new Tape");
        }
        Variable out = new Variable(this, value, needs);
        if (needs) {
            nodes.add(new Node(out, op, rule));
        }
        return out;
    }

    /** Backward from a scalar (one-element) loss, seeded with 1. */
    public Gradients backward(Variable loss) {
        Objects.requireNonNull(loss, "loss");
        if (loss.value().size() != 1) {
            throw new IllegalArgumentException("backward: the loss must have one element, it has shape "
                    + loss.shape() + "; pass a seed gradient for a non-scalar output");
        }
        return backward(loss, Tensor.zeros(loss.shape(), loss.value().device()).fill(1f));
    }

    /**
     * Backward from {@code output} seeded with {@code seed} (its shape): the gradients of
     * {@code sum(output * seed)} with respect to every parameter leaf.
     */
    public Gradients backward(Variable output, Tensor seed) {
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(seed, "seed");
        if (output.tape() != this) {
            throw new IllegalArgumentException("backward: the output belongs to another tape");
        }
        if (!seed.shape().equals(output.shape())) {
            throw new IllegalArgumentException("backward: seed " + seed.shape() + " must have the output's shape "
                    + output.shape());
        }
        if (consumed) {
            throw new IllegalStateException("backward: this tape has already run backward; start a new Tape");
        }
        consumed = true;
        if (output.needsGradient()) {
            output.grad = seed.copy();
        }
        Sink sink = new Sink() {
            @Override
            public boolean needs(Variable input) {
                return input.needsGradient();
            }

            @Override
            public void accumulate(Variable input, Tensor grad) {
                if (!input.needsGradient()) {
                    return;
                }
                if (!grad.shape().equals(input.shape())) {
                    throw new IllegalStateException("gradient rule produced " + grad.shape() + " for an input of "
                            + "shape " + input.shape());
                }
                // A rule may hand the same tensor to several inputs (add passes dy on), so a second
                // contribution makes a new sum instead of adding in place.
                input.grad = input.grad == null ? grad
                        : Backend.of("backward", input.grad, grad).add(input.grad, grad);
            }
        };
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            Tensor dy = n.output().grad;
            if (dy == null) {
                continue;
            }
            n.output().grad = null; // free intermediate gradients as soon as they are used
            try {
                n.rule().backward(dy, sink);
            } catch (IllegalArgumentException | IllegalStateException e) {
                throw new IllegalStateException("backward of " + n.op() + ": " + e.getMessage(), e);
            }
        }
        nodes.clear();
        Map<Variable, Tensor> result = new IdentityHashMap<>();
        for (Variable p : parameters) {
            if (p.grad != null) {
                result.put(p, p.grad);
                p.grad = null;
            }
        }
        return new Gradients(result);
    }
}
