package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.cpu.Activation;
import java.util.random.RandomGenerator;

/**
 * A fully connected layer {@code y = f(x Wᵀ + b)}: input {@code [N, in]}, weight {@code [out, in]}, bias
 * {@code [out]}, output {@code [N, out]}.
 *
 * <pre>{@code
 * Dense d = Dense.of(64, 10, Activation.RELU, rng);   // Glorot-uniform weights, zero bias
 * }</pre>
 */
public final class Dense extends WeightedLayer {
    /** Standard deviation of the weights of inserted output neurons. */
    public static final float NEW_NEURON_STD = WeightedLayer.NEW_NEURON_STD;

    public Dense(Parameter weight, Parameter bias, Activation activation) {
        super(weight, bias, activation);
        if (weight.shape().rank() != 2 || !bias.shape().equals(Shape.of(weight.shape().dim(0)))) {
            throw new IllegalArgumentException("dense: weight " + weight.shape() + " must be [out, in] and bias "
                    + bias.shape() + " [out]");
        }
    }

    /** {@code in → out} with Glorot-uniform weights and zero bias. */
    public static Dense of(int in, int out, Activation activation, RandomGenerator rng) {
        return of(in, out, activation, Initialiser.glorotUniform(), rng);
    }

    /** {@code in → out} with weights from {@code init} and zero bias. */
    public static Dense of(int in, int out, Activation activation, Initialiser init, RandomGenerator rng) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("dense: sizes " + in + " -> " + out + " must be positive");
        }
        return new Dense(new Parameter("weight", init.create(Shape.of(out, in), rng)),
                new Parameter("bias", io.evonas.tensor.Tensor.zeros(out)), activation);
    }

    /**
     * The identity {@code n → n}: weight the identity matrix, zero bias, then {@code activation}. Inserted where a
     * NAS mutation must keep the function: exact with the identity activation, or with ReLU on non-negative input.
     */
    public static Dense identity(int n, Activation activation) {
        if (n < 1) {
            throw new IllegalArgumentException("dense identity: size " + n + " must be positive");
        }
        return new Dense(new Parameter("weight", Initialiser.identity().create(Shape.of(n, n), null)),
                new Parameter("bias", io.evonas.tensor.Tensor.zeros(n)), activation);
    }

    /**
     * A view of this layer with another activation, sharing the parameters and the neuron utility; see
     * {@link #copy} for an independent layer and {@link #changeActivationInPlace} to change this one.
     */
    public Dense withActivation(Activation f) {
        Dense d = new Dense(weight, bias, f);
        d.utility = utility;
        return d;
    }

    /** Starts measuring neuron utility every {@code interval} training batches. */
    public Dense trackUtility(int interval) {
        startTracking(interval);
        return this;
    }

    /** A deep copy: parameters (value, gradient, optimiser state) and neuron utility are copied. */
    @Override
    public Dense copy() {
        return copyUtilityTo(new Dense(weight.copy(), bias.copy(), activation));
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        outputShape(x.shape());
        Variable z = Ops.add(Ops.matmul(x, false, pass.bind(weight), true), pass.bind(bias));
        return activateAndObserve(z, pass);
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() != 2 || input.dim(1) != nin()) {
            throw new IllegalArgumentException("dense: input " + input + " must be [N, " + nin() + "]");
        }
        return Shape.of(input.dim(0), nout());
    }

    @Override
    public String toString() {
        return "Dense(" + nin() + " => " + nout() + (activation == Activation.IDENTITY ? "" : ", "
                + activation.name().toLowerCase(java.util.Locale.ROOT)) + ")";
    }
}
