package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Backend;
import io.evonas.tensor.Tensor;
import java.util.Objects;

/**
 * What the optimisers share: argument checks and the dispatch of a step to the backend of the parameter's device.
 * The fused update kernels themselves are the backend's ({@code io.evonas.tensor.cpu.OptimiserSteps} on the CPU),
 * including the per-element step counters of the bias-corrected rules: float tensors of the value's shape, one
 * count per element, so they move with neurons under {@code resizeInPlace} like every other state and a new (zero)
 * slice restarts its bias correction.
 */
final class Kernels {
    private Kernels() {
    }

    /**
     * Checks {@code direction} as {@link #checkDirection} does and returns the backend of the device it and the
     * parameter live on.
     */
    static Backend backend(String op, Parameter param, Tensor direction) {
        checkDirection(op, param, direction);
        return Backend.of(op, param.value(), direction);
    }

    /** Checks that {@code direction} has the value's shape and shares no element with the value. */
    static void checkDirection(String op, Parameter param, Tensor direction) {
        Objects.requireNonNull(param, "param");
        Objects.requireNonNull(direction, "direction");
        Tensor value = param.value();
        if (!direction.shape().equals(value.shape())) {
            throw new IllegalArgumentException(op + ": gradient " + direction.shape() + " does not match parameter "
                    + param.name() + " " + value.shape());
        }
        if (direction.size() > 0 && direction.storage().equals(value.storage())
                && direction.offset() < value.offset() + value.size()
                && value.offset() < direction.offset() + direction.size()) {
            throw new IllegalArgumentException(op + ": gradient " + direction.shape() + " shares elements with the"
                    + " value of parameter " + param.name());
        }
    }

    /** {@code value} if it is finite and at least 0. */
    static double nonNegative(String op, String what, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(op + ": " + what + " " + value + " must be finite and >= 0");
        }
        return value;
    }

    /** {@code value} if it lies in {@code [0, 1)}. */
    static double unitInterval(String op, String what, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(op + ": " + what + " " + value + " must be in [0, 1)");
        }
        return value;
    }
}
