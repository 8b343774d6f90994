package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Batch normalisation over channel axis 1 of {@code [N, C]}, {@code [N, C, L]} or {@code [N, C, H, W]}, then an
 * optional activation: training passes use batch statistics and update the running averages, inference passes
 * use the running statistics. Size-transparent: resizing its inputs or outputs resizes its channels, and new
 * channels are the identity (γ = 1, β = 0, running mean 0, running variance 1).
 */
public final class BatchNorm implements Resizable {
    private final Parameter gamma;
    private final Parameter beta;
    private Tensor runningMean;
    private Tensor runningVar;
    private final float momentum;
    private final float eps;
    private Activation activation;

    public BatchNorm(int channels, Activation activation) {
        this(channels, activation, io.evonas.tensor.cpu.BatchNorm.DEFAULT_MOMENTUM,
                io.evonas.tensor.cpu.BatchNorm.DEFAULT_EPS);
    }

    public BatchNorm(int channels, Activation activation, float momentum, float eps) {
        if (channels < 1) {
            throw new IllegalArgumentException("batchnorm: channel count " + channels + " must be positive");
        }
        if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
            throw new IllegalArgumentException("batchnorm: momentum " + momentum + " must be in [0, 1] and eps "
                    + eps + " positive");
        }
        this.gamma = new Parameter("gamma", Tensor.full(1f, channels));
        this.beta = new Parameter("beta", Tensor.zeros(channels));
        this.runningMean = Tensor.zeros(channels);
        this.runningVar = Tensor.full(1f, channels);
        this.momentum = momentum;
        this.eps = eps;
        this.activation = Objects.requireNonNull(activation, "activation");
    }

    /** A copy of every field: the parameters and running statistics are deep-copied. */
    private BatchNorm(BatchNorm src) {
        this.gamma = src.gamma.copy();
        this.beta = src.beta.copy();
        this.runningMean = src.runningMean.copy();
        this.runningVar = src.runningVar.copy();
        this.momentum = src.momentum;
        this.eps = src.eps;
        this.activation = src.activation;
    }

    /**
     * A new layer with identity parameters on {@code channels} channels: γ = 1, β = 0, running mean 0, running
     * variance 1, then {@code activation}. Inserted where a NAS mutation must keep the function; in inference it
     * computes {@code x / √(1 + eps)}, the identity up to a relative {@code eps / 2} (about {@code 5e-6}), before
     * the activation. Training passes normalise with the batch statistics, which changes the function.
     */
    public static BatchNorm identity(int channels, Activation activation) {
        return new BatchNorm(channels, activation);
    }

    public Parameter gamma() {
        return gamma;
    }

    public Parameter beta() {
        return beta;
    }

    public Tensor runningMean() {
        return runningMean;
    }

    public Tensor runningVar() {
        return runningVar;
    }

    public Activation activation() {
        return activation;
    }

    /**
     * Replaces the activation applied after the normalisation, keeping the parameters, their gradients and
     * optimiser state and the running statistics. Between training steps only.
     */
    public void changeActivationInPlace(Activation a) {
        activation = Objects.requireNonNull(a, "a");
    }

    /** A deep copy: γ, β (values, gradients, optimiser state) and the running statistics are copied. */
    @Override
    public BatchNorm copy() {
        return new BatchNorm(this);
    }

    /** True: the channels are both the inputs and the outputs. */
    @Override
    public boolean inputsAreOutputs() {
        return true;
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        outputShape(x.shape());
        // ReLU, the common case, runs inside the batch-norm primitive: no pass of its own.
        boolean relu = activation == Activation.RELU;
        Variable y = pass.training()
                ? Ops.batchNormTraining(x, pass.bind(gamma), pass.bind(beta), runningMean, runningVar, momentum, eps,
                        relu)
                : Ops.batchNormInference(x, pass.bind(gamma), pass.bind(beta), runningMean, runningVar, eps, relu);
        return activation == Activation.IDENTITY || relu ? y : Ops.activation(y, activation);
    }

    /**
     * Whether {@link #forwardMaxPooled} can stand for this layer followed by {@code next}: ReLU activation and a
     * 2×2 max pool with stride 2 and no padding.
     */
    public boolean fusesWith(Layer next) {
        return activation == Activation.RELU && next instanceof Pool2D p && p.kind() == Pool2D.Kind.MAX
                && p.spec().equals(PoolSpec.of(2));
    }

    /**
     * This layer followed by a 2×2 max pool with stride 2 ({@link #fusesWith}), as one primitive
     * ({@link Ops#batchNormReluMaxPool}): the same function without writing the normalised activation. Needs
     * ReLU activation and an input {@code [N, C, H, W]} with H and W at least 2.
     *
     * @throws IllegalStateException when the activation is not ReLU
     */
    public Variable forwardMaxPooled(Variable x, ForwardPass pass) {
        if (activation != Activation.RELU) {
            throw new IllegalStateException("forwardMaxPooled: needs ReLU activation, this layer has " + activation);
        }
        outputShape(x.shape());
        return Ops.batchNormReluMaxPool(x, pass.bind(gamma), pass.bind(beta), runningMean, runningVar, momentum, eps,
                pass.training());
    }

    /**
     * Whether {@link #forwardConvMaxPooled} can stand for {@code previous}, this layer and a 2×2 max pool
     * ({@link #fusesWith}): {@code previous} is a 2-D convolution with identity activation, no neuron utility to
     * measure (it needs the convolution's output) and this layer's channel count.
     */
    public boolean fusesAfter(Layer previous) {
        return previous instanceof Conv2D c && c.activation() == Activation.IDENTITY && c.utility() == null
                && c.nout() == nin();
    }

    /**
     * {@code conv}, this layer and a 2×2 max pool with stride 2 ({@link #fusesAfter}, {@link #fusesWith}) as one
     * primitive ({@link Ops#convBatchNormReluMaxPool}): the same function, and on the CPU, for a convolution with
     * few input channels such as a network's first, the convolution's output is never written. Meant for an
     * input that needs no gradient (a network's input); one that does gets the separate primitives.
     *
     * @throws IllegalStateException when the activation is not ReLU or {@code conv} does not fuse
     */
    public Variable forwardConvMaxPooled(Conv2D conv, Variable x, ForwardPass pass) {
        if (activation != Activation.RELU || !fusesAfter(conv)) {
            throw new IllegalStateException("forwardConvMaxPooled: needs ReLU activation (this layer has "
                    + activation + ") after a convolution with identity activation, no neuron utility and " + nin()
                    + " output channels");
        }
        outputShape(conv.outputShape(x.shape()));
        return Ops.convBatchNormReluMaxPool(x, pass.bind(conv.weight()), pass.bind(conv.bias()), conv.spec(),
                pass.bind(gamma), pass.bind(beta), runningMean, runningVar, momentum, eps, pass.training());
    }

    @Override
    public Shape outputShape(Shape input) {
        if (input.rank() < 2 || input.dim(1) != nin()) {
            throw new IllegalArgumentException("batchnorm: input " + input + " must have " + nin()
                    + " channels on axis 1");
        }
        return input;
    }

    @Override
    public int nin() {
        return gamma.size();
    }

    @Override
    public int nout() {
        return gamma.size();
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(gamma, beta);
    }

    /** Moves γ, β and the running statistics. */
    @Override
    public void moveToInPlace(Device target) {
        gamma.moveToInPlace(target);
        beta.moveToInPlace(target);
        runningMean = runningMean.to(target);
        runningVar = runningVar.to(target);
    }

    @Override
    public void resizeOutputs(int[] indices, RandomGenerator rng) {
        resizeChannels(indices);
    }

    @Override
    public void resizeInputs(int[] indices) {
        resizeChannels(indices);
    }

    private void resizeChannels(int[] indices) {
        gamma.resizeInPlace(0, indices, Fill.ONES, null);
        beta.resizeInPlace(0, indices, Fill.ZEROS, null);
        Parameter mean = new Parameter("runningMean", runningMean);
        mean.resizeInPlace(0, indices, Fill.ZEROS, null);
        runningMean = mean.value();
        Parameter var = new Parameter("runningVar", runningVar);
        var.resizeInPlace(0, indices, Fill.ONES, null);
        runningVar = var.value();
    }

    @Override
    public String toString() {
        return "BatchNorm(" + nin() + (activation == Activation.IDENTITY ? "" : ", "
                + activation.name().toLowerCase(java.util.Locale.ROOT)) + ")";
    }
}
