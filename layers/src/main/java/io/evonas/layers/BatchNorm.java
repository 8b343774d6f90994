package io.evonas.layers;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
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
    private final Activation activation;

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

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        outputShape(x.shape());
        Variable y = pass.training()
                ? Ops.batchNormTraining(x, pass.bind(gamma), pass.bind(beta), runningMean, runningVar, momentum, eps)
                : Ops.batchNormInference(x, pass.bind(gamma), pass.bind(beta), runningMean, runningVar, eps);
        return activation == Activation.IDENTITY ? y : Ops.activation(y, activation);
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
