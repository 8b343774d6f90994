package io.evonas.layers.optim;

import io.evonas.layers.Parameter;
import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Lanes;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * What the optimisers share: the vector species, splitting large parameters over {@link Parallel}, argument
 * checks, and the per-element step counters of the bias-corrected rules.
 *
 * <p>Step counters ({@code adam.step}, ...) are float tensors of the value's shape, one count per element, so
 * they move with neurons under {@code resizeInPlace} like every other state and a new (zero) slice restarts its
 * bias correction. Counts are exact up to 2^24 and then stay there, where every correction of a usual beta is
 * already 1 in float. Elements with equal counts form runs (normally the whole tensor, or a few runs per row
 * after inserting neurons); each run gets its scalar corrections once and goes through the vector kernel.
 */
final class Kernels {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per part when a step is split over {@link Parallel}; below two parts it stays on the caller. */
    static final int GRAIN = 1 << 15;

    private Kernels() {
    }

    /** Runs {@code task} over {@code [0, n)}, split over the worker pool when {@code n} is large. */
    static void forRange(int n, Parallel.RangeTask task) {
        if (n < 2 * GRAIN) {
            task.run(0, n);
        } else {
            Parallel.forRange(n, GRAIN, task);
        }
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
        if (direction.size() > 0 && direction.data() == value.data()
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

    /** The end (exclusive) of the run of counts equal to {@code s[so + from]}, at most {@code n}. */
    static int runEnd(float[] s, int so, int from, int n) {
        float t = s[so + from];
        FloatVector tv = FloatVector.broadcast(SPECIES, t);
        int i = from + 1;
        for (int up = n - SPECIES.length(); i <= up; i += SPECIES.length()) {
            VectorMask<Float> differs = FloatVector.fromArray(SPECIES, s, so + i).compare(VectorOperators.NE, tv);
            if (differs.anyTrue()) {
                return i + differs.firstTrue();
            }
        }
        while (i < n && s[so + i] == t) {
            i++;
        }
        return i;
    }

    /** Whether every element of {@code t} is finite. */
    static boolean allFinite(Tensor t) {
        float[] x = t.data();
        int o = t.offset();
        int n = t.size();
        // x * 0 is 0 for finite x and NaN for NaN or infinite x, so the sum is NaN exactly when one is not finite.
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (int up = SPECIES.loopBound(n); i < up; i += SPECIES.length()) {
            acc = acc.add(FloatVector.fromArray(SPECIES, x, o + i).mul(0f));
        }
        float sum = Lanes.sum(acc);
        for (; i < n; i++) {
            sum += x[o + i] * 0f;
        }
        return sum == 0f;
    }
}
