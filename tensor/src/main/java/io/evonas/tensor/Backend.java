package io.evonas.tensor;

import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.Objects;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * The tensor operations of one {@link Device}: what autodiff's gradient rules, gradient accumulation, parameters and
 * optimisers run. Every caller reaches the kernels through here, so the same code trains on any device.
 *
 * <p><b>Dispatch.</b> An op asks {@link #of(String, Tensor, Tensor)} (or an overload) for the backend of its
 * inputs: the inputs' common {@link Device#backend()}. Inputs on different devices are an error that names the op
 * and both devices; nothing is moved implicitly ({@link Tensor#to} moves a tensor). A device without a backend
 * throws {@link UnsupportedOperationException} there, naming the device. The CPU backend
 * ({@code io.evonas.tensor.cpu.CpuBackend}) delegates to the static kernels of {@code io.evonas.tensor.cpu}, with the
 * same bits and no copies.
 *
 * <pre>{@code
 * Tensor y = Backend.of("add", a, b).add(a, b);   // a and b on one device; y on it too
 * }</pre>
 *
 * <p><b>Contract.</b> Every tensor argument lives on this backend's device, and every tensor a method allocates is
 * allocated there ({@link Tensor#zeros(Shape, Device)}). Shapes, broadcasting, aliasing and errors are those of the
 * CPU kernel of the same name ({@code Elementwise}, {@code Sgemm}, {@code Conv2d}, {@code Pool2d}, {@code BatchNorm},
 * ...), whose Javadoc has the maths. Scalars the host needs (a loss) stay one-element tensors on the device until
 * the caller reads them with {@link Tensor#item()}. What a backward pass needs from its forward pass is handed back
 * in the device-neutral results below ({@link MaxPooled}, {@link Dropped}, {@link BatchNormTraining}), whose
 * payload only the backend that made it reads.
 */
public interface Backend {
    /** The device whose tensors this backend computes on. */
    Device device();

    // ---------------------------------------------------------------- dispatch

    /** The backend of {@code x}'s device. */
    static Backend of(String op, Tensor x) {
        return x.device().backend();
    }

    /**
     * The backend of the device {@code a} and {@code b} live on.
     *
     * @throws IllegalArgumentException naming {@code op} and both devices when they differ
     */
    static Backend of(String op, Tensor a, Tensor b) {
        Device d = a.device();
        if (!d.equals(b.device())) {
            throw mixed(op, a, b);
        }
        return d.backend();
    }

    /** The backend of the device all non-null {@code tensors} live on (at least one is not null). */
    static Backend of(String op, Tensor... tensors) {
        Tensor first = null;
        for (Tensor t : tensors) {
            if (t == null) {
                continue;
            }
            if (first == null) {
                first = t;
            } else if (!first.device().equals(t.device())) {
                throw mixed(op, first, t);
            }
        }
        if (first == null) {
            throw new IllegalArgumentException(op + ": no tensor to pick a device from");
        }
        return first.device().backend();
    }

    private static IllegalArgumentException mixed(String op, Tensor a, Tensor b) {
        return new IllegalArgumentException(op + ": inputs are on different devices, " + a.shape() + " on "
                + a.device().name() + " and " + b.shape() + " on " + b.device().name()
                + "; move them to one device with Tensor.to");
    }

    // ---------------------------------------------------------------- results

    /** The winners of a max pooling, one per output element, kept where the backend wants them. */
    interface Indices {
        /** Number of indices (the pooled output's size). */
        int size();
    }

    /** Max pooling's output and the indices its backward pass scatters through. */
    record MaxPooled(Tensor output, Indices argmax) {
        public MaxPooled {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(argmax, "argmax");
        }
    }

    /** Dropout's output and mask (the kept scale per element, the input's shape). */
    record Dropped(Tensor output, Tensor mask) {
        public Dropped {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(mask, "mask");
        }
    }

    /** A batch-norm training pass's output and batch statistics ({@code [C]} each) for its backward pass. */
    record BatchNormTraining(Tensor output, Tensor mean, Tensor invStd) {
        public BatchNormTraining {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(mean, "mean");
            Objects.requireNonNull(invStd, "invStd");
        }
    }

    /**
     * {@link #batchNormReluMaxPool}'s pooled output and its backward pass, which a backend may let run only once (the
     * CPU backend hands the saved state on to the next forward pass; a second call throws
     * {@link IllegalStateException}).
     */
    record PooledBatchNorm(Tensor output, Function<Tensor, BatchNormGradients> backward) {
        public PooledBatchNorm {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(backward, "backward");
        }
    }

    /** {@link #convBatchNormReluMaxPool}'s pooled output and its backward pass, run once as {@link PooledBatchNorm}'s. */
    record PooledConvBatchNorm(Tensor output, Function<Tensor, ConvBatchNormGradients> backward) {
        public PooledConvBatchNorm {
            Objects.requireNonNull(output, "output");
            Objects.requireNonNull(backward, "backward");
        }
    }

    /**
     * The gradients of a convolution followed by batch norm: the convolution's weight and bias (null without a
     * bias), the batch norm's scale and shift ({@code [C]} each).
     */
    record ConvBatchNormGradients(Tensor dw, Tensor db, Tensor dgamma, Tensor dbeta) {
        public ConvBatchNormGradients {
            Objects.requireNonNull(dw, "dw");
            Objects.requireNonNull(dgamma, "dgamma");
            Objects.requireNonNull(dbeta, "dbeta");
        }
    }

    /** Batch norm's gradients: input ({@code x}'s shape), scale and shift ({@code [C]} each). */
    record BatchNormGradients(Tensor dx, Tensor dgamma, Tensor dbeta) {
        public BatchNormGradients {
            Objects.requireNonNull(dx, "dx");
            Objects.requireNonNull(dgamma, "dgamma");
            Objects.requireNonNull(dbeta, "dbeta");
        }
    }

    // ---------------------------------------------------------------- elementwise (Elementwise)

    /** {@code a + b} with broadcasting, new tensor. */
    Tensor add(Tensor a, Tensor b);

    /** {@code out = a + b}; {@code out} may be {@code a} or {@code b}. Returns {@code out}. */
    Tensor add(Tensor a, Tensor b, Tensor out);

    Tensor sub(Tensor a, Tensor b);

    /** {@code out = a - b}; {@code out} may be {@code a} or {@code b}. Returns {@code out}. */
    Tensor sub(Tensor a, Tensor b, Tensor out);

    Tensor mul(Tensor a, Tensor b);

    Tensor div(Tensor a, Tensor b);

    Tensor addScalar(Tensor x, float s);

    Tensor mulScalar(Tensor x, float s);

    /** {@code out = s · x}; {@code out} may be {@code x}. Returns {@code out}. */
    Tensor mulScalar(Tensor x, float s, Tensor out);

    Tensor neg(Tensor x);

    /** {@code acc += alpha · x} (same shapes). Returns {@code acc}. */
    Tensor addScaledInPlace(Tensor acc, float alpha, Tensor x);

    /** {@code grad} summed over its broadcast axes down to {@code target}. */
    Tensor sumTo(Tensor grad, Shape target);

    /** {@code sumTo(dy · b, a.shape())}: the gradient of {@code a · b} for {@code a}. */
    Tensor mulGradA(Tensor dy, Tensor a, Tensor b);

    /** {@code sumTo(dy · a, b.shape())}. */
    Tensor mulGradB(Tensor dy, Tensor a, Tensor b);

    /** {@code sumTo(dy / b, a.shape())}. */
    Tensor divGradA(Tensor dy, Tensor a, Tensor b);

    /** {@code sumTo(-dy · a / b², b.shape())}. */
    Tensor divGradB(Tensor dy, Tensor a, Tensor b);

    // ---------------------------------------------------------------- layout (Concat)

    /** The parts joined along {@code axis}. */
    Tensor concat(int axis, Tensor... parts);

    /** Elements {@code [from, from + length)} along {@code axis}, as a new tensor. */
    Tensor slice(Tensor x, int axis, int from, int length);

    // ---------------------------------------------------------------- matmul (Sgemm)

    /** {@code op(a) × op(b)} for matrices. */
    Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB);

    // ---------------------------------------------------------------- activations, softmax (Activation, Softmax)

    Tensor activationForward(Activation f, Tensor x);

    /** {@code dy · f'(·)} from {@code x} or {@code y}, whichever {@link Activation#backwardNeedsInput()} says. */
    Tensor activationBackward(Activation f, Tensor x, Tensor y, Tensor dy);

    Tensor softmax(Tensor x, int axis);

    Tensor logSoftmax(Tensor x, int axis);

    Tensor softmaxBackward(Tensor y, Tensor dy, int axis);

    Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis);

    // ---------------------------------------------------------------- reductions (Reductions)

    /** Sum over {@code axis}, which is dropped. */
    Tensor sum(Tensor x, int axis);

    Tensor mean(Tensor x, int axis);

    Tensor sumBackward(Tensor dy, Shape inputShape, int axis);

    Tensor meanBackward(Tensor dy, Shape inputShape, int axis);

    /** The sum of all elements as a rank-0 tensor. */
    Tensor sumAll(Tensor x);

    /** The mean of all elements as a rank-0 tensor. */
    Tensor meanAll(Tensor x);

    /** A tensor of {@code inputShape} filled with {@code dy}'s single element. */
    Tensor sumAllBackward(Tensor dy, Shape inputShape);

    /** A tensor of {@code inputShape} filled with {@code dy}'s single element divided by the element count. */
    Tensor meanAllBackward(Tensor dy, Shape inputShape);

    // ---------------------------------------------------------------- convolution (Conv2d, Conv1d)

    /** {@code x [N, C, H, W]} with {@code w [OC, C, kh, kw]} plus {@code bias [OC]} (may be null). */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec);

    Tensor conv2dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape);

    /** Writes (or, with {@code accumulate}, adds) the weight gradient into {@code dw} and, if not null, {@code db}. */
    void conv2dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate);

    /** {@code x [N, C, L]} with {@code w [OC, C, k]} plus {@code bias [OC]} (may be null). */
    Tensor conv1d(Tensor x, Tensor w, Tensor bias, ConvSpec spec);

    Tensor conv1dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape);

    void conv1dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate);

    // ---------------------------------------------------------------- pooling (Pool2d)

    MaxPooled maxPool2d(Tensor x, PoolSpec spec);

    Tensor maxPool2dBackward(Tensor dy, Indices argmax, PoolSpec spec, Shape inputShape);

    /**
     * Max pooling's output alone, for a pass no gradient will flow through (evaluation, scoring): a backend may
     * skip the winners' indices. This default keeps them and drops them.
     */
    default Tensor maxPool2dValues(Tensor x, PoolSpec spec) {
        return maxPool2d(x, spec).output();
    }

    Tensor meanPool2d(Tensor x, PoolSpec spec);

    Tensor meanPool2dBackward(Tensor dy, PoolSpec spec, Shape inputShape);

    /** Maximum over H × W: {@code [N, C, H, W]} to {@code [N, C, 1, 1]}. */
    MaxPooled globalMaxPool(Tensor x);

    Tensor globalMaxPoolBackward(Tensor dy, Indices argmax, Shape inputShape);

    Tensor globalMeanPool(Tensor x);

    Tensor globalMeanPoolBackward(Tensor dy, Shape inputShape);

    // ---------------------------------------------------------------- batch norm (BatchNorm), dropout (Dropout)

    /**
     * Training pass over channel axis 1 with batch statistics, then ReLU when {@code relu}; updates
     * {@code runningMean} and {@code runningVar} in place.
     */
    BatchNormTraining batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                        float momentum, float eps, boolean relu);

    /** Training-mode gradients; {@code reluOutput} is the fused pass's output, or null without ReLU. */
    BatchNormGradients batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd,
                                         Tensor reluOutput);

    /** Inference pass with the running statistics, then ReLU when {@code relu}. */
    Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps,
                              boolean relu);

    /** Inference-mode gradients; {@code reluOutput} as in {@link #batchNormBackward}. */
    BatchNormGradients batchNormInferenceBackward(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                                  Tensor runningVar, float eps, Tensor reluOutput);

    /**
     * Batch norm (batch statistics when {@code training}, running statistics otherwise), ReLU and 2×2 max pooling
     * with stride 2 over {@code x [N, C, H, W]}, as one primitive: the pooled output {@code [N, C, H/2, W/2]} and
     * its backward pass (upstream gradient of the pooled shape to the gradients of x, γ and β). In training the
     * running statistics are updated in place. Without {@code forBackward} no gradient will be asked for, and a
     * backend may skip what only the backward pass needs (its backward function then refuses). This default
     * composes {@link #batchNormTraining} (or {@link #batchNormInference}) with {@link #maxPool2d}; a backend may
     * fuse them.
     */
    default PooledBatchNorm batchNormReluMaxPool(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                 Tensor runningVar, float momentum, float eps, boolean training,
                                                 boolean forBackward) {
        PoolSpec spec = PoolSpec.of(2);
        if (training) {
            BatchNormTraining t = batchNormTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, true);
            MaxPooled p = maxPool2d(t.output(), spec);
            return new PooledBatchNorm(p.output(), dy -> batchNormBackward(x,
                    maxPool2dBackward(dy, p.argmax(), spec, x.shape()), gamma, t.mean(), t.invStd(), t.output()));
        }
        Tensor y = batchNormInference(x, gamma, beta, runningMean, runningVar, eps, true);
        MaxPooled p = maxPool2d(y, spec);
        return new PooledBatchNorm(p.output(), dy -> batchNormInferenceBackward(x,
                maxPool2dBackward(dy, p.argmax(), spec, x.shape()), gamma, runningMean, runningVar, eps, y));
    }

    /**
     * {@link #conv2d} ({@code bias} may be null), then {@link #batchNormReluMaxPool}, as one primitive: the pooled
     * output and its backward pass, which gives the gradients of the convolution's weight and bias and of γ and β
     * but none for {@code x} (callers whose input needs a gradient use the two primitives). This default composes
     * them; a backend may fuse them for the layers it chooses (the CPU does for convolutions with few input
     * channels, a network's first layer, and never writes the convolution's output).
     */
    default PooledConvBatchNorm convBatchNormReluMaxPool(Tensor x, Tensor w, Tensor bias, ConvSpec spec,
                                                         Tensor gamma, Tensor beta, Tensor runningMean,
                                                         Tensor runningVar, float momentum, float eps,
                                                         boolean training, boolean forBackward) {
        Tensor y = conv2d(x, w, bias, spec);
        PooledBatchNorm p = batchNormReluMaxPool(y, gamma, beta, runningMean, runningVar, momentum, eps, training,
                forBackward);
        return new PooledConvBatchNorm(p.output(), dy -> {
            BatchNormGradients g = p.backward().apply(dy);
            Tensor dw = Tensor.zeros(w.shape(), device());
            Tensor db = bias == null ? null : Tensor.zeros(bias.shape(), device());
            conv2dBackwardWeights(x, g.dx(), spec, dw, db, false);
            return new ConvBatchNormGradients(dw, db, g.dgamma(), g.dbeta());
        });
    }

    /** Inverted dropout with probability {@code p}, the mask drawn from {@code rng}. */
    Dropped dropout(Tensor x, double p, RandomGenerator rng);

    Tensor dropoutBackward(Tensor dy, Tensor mask);

    // ---------------------------------------------------------------- losses (CrossEntropy)

    /** Mean cross-entropy of logits {@code [N, C]} against class indices, as a rank-0 tensor. */
    Tensor crossEntropy(Tensor logits, int[] labels);

    /** Mean cross-entropy of logits against target distributions of their shape, as a rank-0 tensor. */
    Tensor crossEntropy(Tensor logits, Tensor targets);

    /** The logits' gradient of the mean loss scaled by {@code dLoss}'s single element. */
    Tensor crossEntropyBackward(Tensor logits, int[] labels, Tensor dLoss);

    Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dLoss);

    // ---------------------------------------------------------------- optimiser steps (OptimiserSteps)
    //
    // Each advances the rule's state tensors (the gradient's shape) from gradient g. With apply, out is the
    // parameter's value and becomes value - step; without, out is g and becomes the step.

    /** Momentum (or Nesterov): {@code b = mu b + g}, step {@code lr b} (Nesterov: {@code lr (g + mu b)}). */
    void momentumStep(Tensor g, Tensor buffer, Tensor out, float lr, float mu, boolean nesterov, boolean apply);

    /** AdaGrad: {@code s += g²}, step {@code lr g / (√s + eps)}. */
    void adaGradStep(Tensor g, Tensor sum, Tensor out, float lr, float eps, boolean apply);

    /**
     * Adam with decoupled decay {@code weightDecay} (0: Adam) and per-element step counts {@code steps}; {@code p}
     * is the value the decay reads.
     */
    void adamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor p, Tensor out, double lr, double beta1,
                  double beta2, double eps, double weightDecay, boolean apply);

    /** NAdam with per-element step counts and momentum products {@code muProducts}. */
    void nAdamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor muProducts, Tensor out, double lr,
                   double beta1, double beta2, double eps, double momentumDecay, boolean apply);

    /**
     * RMSProp; {@code gradAvg} (centred) and {@code buffer} (momentum) are null when the configuration keeps no
     * such state.
     */
    void rmsPropStep(Tensor g, Tensor square, Tensor gradAvg, Tensor buffer, Tensor out, double lr, double alpha,
                     double eps, double momentum, boolean apply);

    /** Whether every element of {@code t} is finite. */
    boolean allFinite(Tensor t);
}
