package io.evonas.layers;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A trainable tensor and everything that must follow its neurons: its value, its accumulated gradient, and the
 * optimiser's state (moments, accumulators), each of the value's shape. Long-lived: layers own parameters across
 * training steps, and a tape sees them only through {@link ForwardPass#bind}.
 *
 * <p>{@link #resizeInPlace} is neuron surgery: along one axis, keep, reorder and insert slices by an index list
 * ({@code -1} = a new slice), rewriting value, gradient and every state tensor together, so optimiser moments
 * stay with their neurons. Only between training steps.
 *
 * <p>Value, gradient and state live on one device, the value's: gradients accumulate and state is created there,
 * and {@link #moveToInPlace} moves all of them together.
 */
public final class Parameter {
    private final String name;
    private Tensor value;
    private Tensor grad;
    private final Map<String, Tensor> state = new LinkedHashMap<>();

    public Parameter(String name, Tensor value) {
        this.name = Objects.requireNonNull(name, "name");
        this.value = Objects.requireNonNull(value, "value");
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    public Shape shape() {
        return value.shape();
    }

    /** Number of elements. */
    public int size() {
        return value.size();
    }

    /** The accumulated gradient: zeros until a backward pass adds to it. */
    public Tensor grad() {
        if (grad == null) {
            grad = value.zerosLike();
        }
        return grad;
    }

    /** Adds {@code g} into the gradient. */
    public void accumulateGrad(Tensor g) {
        if (!g.shape().equals(value.shape())) {
            throw new IllegalArgumentException("parameter " + name + ": gradient " + g.shape()
                    + " does not match value " + value.shape());
        }
        Backend be = Backend.of("parameter " + name + ": accumulateGrad", value, g);
        if (grad == null) {
            grad = g.copy();
        } else {
            be.add(grad, g, grad);
        }
    }

    /** Sets the gradient to zero. */
    public void zeroGrad() {
        if (grad != null) {
            grad.fill(0f);
        }
    }

    /** Optimiser state {@code key} (created as zeros of the value's shape on first use). */
    public Tensor state(String key) {
        return state.computeIfAbsent(key, k -> value.zerosLike());
    }

    /** The device the value, gradient and state live on. */
    public Device device() {
        return value.device();
    }

    /**
     * Moves the value, the gradient and every optimiser state tensor to {@code target} (nothing happens for those
     * already there). Between training steps only: tapes that bound the old value keep it.
     */
    public void moveToInPlace(Device target) {
        Objects.requireNonNull(target, "target");
        value = value.to(target);
        if (grad != null) {
            grad = grad.to(target);
        }
        state.replaceAll((k, t) -> t.to(target));
    }

    /** Whether optimiser state {@code key} exists. */
    public boolean hasState(String key) {
        return state.containsKey(key);
    }

    /** The state keys in creation order. */
    public java.util.Set<String> stateKeys() {
        return java.util.Collections.unmodifiableSet(state.keySet());
    }

    /**
     * A deep copy: the same name, and copies of the value, the gradient (if any) and every optimiser state tensor,
     * in the same key order. Nothing is shared, so training or resizing one leaves the other unchanged.
     */
    public Parameter copy() {
        Parameter p = new Parameter(name, value.copy());
        if (grad != null) {
            p.grad = grad.copy();
        }
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            p.state.put(e.getKey(), e.getValue().copy());
        }
        return p;
    }

    /** Replaces the value (same shape), e.g. when loading. */
    public void setValue(Tensor newValue) {
        if (!newValue.shape().equals(value.shape())) {
            throw new IllegalArgumentException("parameter " + name + ": new value " + newValue.shape()
                    + " does not match " + value.shape() + "; use resizeInPlace to change its size");
        }
        value.copyFrom(newValue);
    }

    /**
     * Keeps, reorders and inserts slices along {@code axis}: slice {@code i} of the result is old slice
     * {@code indices[i]}, or, where that is {@code -1}, a new slice whose value elements come from {@code fill}
     * and whose gradient and optimiser state are zero.
     *
     * @throws IllegalArgumentException for an index outside {@code [-1, dim(axis))}
     */
    public void resizeInPlace(int axis, int[] indices, Fill fill, RandomGenerator rng) {
        Objects.requireNonNull(indices, "indices");
        Objects.requireNonNull(fill, "fill");
        int a = value.shape().normaliseAxis(axis);
        int old = value.dim(a);
        for (int idx : indices) {
            if (idx < -1 || idx >= old) {
                throw new IllegalArgumentException("parameter " + name + " " + value.shape() + ": index " + idx
                        + " along axis " + a + " is outside [-1, " + old + ")");
            }
        }
        value = select(value, a, indices, fill, rng);
        if (grad != null) {
            grad = select(grad, a, indices, Fill.ZEROS, rng);
        }
        state.replaceAll((k, t) -> select(t, a, indices, Fill.ZEROS, rng));
    }

    /** The selection on the host; a tensor on another device goes there and back (surgery is rare). */
    private static Tensor select(Tensor src, int axis, int[] indices, Fill fill, RandomGenerator rng) {
        Shape s = src.shape();
        int outer = s.sizeOf(0, axis);
        int inner = s.sizeOf(axis + 1, s.rank());
        int oldDim = s.dim(axis);
        Tensor dst = Tensor.zeros(s.withDim(axis, indices.length));
        boolean host = src.device().isCpu();
        float[] from = host ? src.data() : src.toArray();
        float[] to = dst.data();
        int fo = host ? src.offset() : 0;
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < indices.length; i++) {
                int d = (o * indices.length + i) * inner;
                if (indices[i] >= 0) {
                    System.arraycopy(from, fo + (o * oldDim + indices[i]) * inner, to, d, inner);
                } else {
                    for (int j = 0; j < inner; j++) {
                        to[d + j] = fill.next(rng);
                    }
                }
            }
        }
        return dst.to(src.device());
    }

    @Override
    public String toString() {
        return "Parameter " + name + " " + value.shape();
    }
}
