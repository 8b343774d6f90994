package io.evonas.tensor.cpu;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.random.RandomGenerator;

/**
 * The {@link Backend} of the host CPU: each method calls the static kernel of the same name in this package, with
 * the same arguments, so results are the kernels' bits and nothing is copied. Max pooling's indices stay the
 * kernel's {@code int[]}, wrapped in {@link HostIndices}.
 */
public final class CpuBackend implements Backend {
    private static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {
    }

    /** The one CPU backend ({@code Devices.cpu().backend()}). */
    public static CpuBackend instance() {
        return INSTANCE;
    }

    /** Max pooling's winners as the CPU kernels keep them: per output element, {@code iy * W + ix} in its plane. */
    public record HostIndices(int[] array) implements Indices {
        @Override
        public int size() {
            return array.length;
        }
    }

    private static int[] host(String op, Indices argmax) {
        if (argmax instanceof HostIndices h) {
            return h.array();
        }
        throw new IllegalArgumentException(op + ": indices " + argmax.getClass().getSimpleName()
                + " were not made by the CPU backend");
    }

    @Override
    public Device device() {
        return Devices.cpu();
    }

    // ---------------------------------------------------------------- elementwise

    @Override
    public Tensor add(Tensor a, Tensor b) {
        return Elementwise.add(a, b);
    }

    @Override
    public Tensor add(Tensor a, Tensor b, Tensor out) {
        return Elementwise.add(a, b, out);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        return Elementwise.sub(a, b);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b, Tensor out) {
        return Elementwise.sub(a, b, out);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        return Elementwise.mul(a, b);
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        return Elementwise.div(a, b);
    }

    @Override
    public Tensor addScalar(Tensor x, float s) {
        return Elementwise.addScalar(x, s);
    }

    @Override
    public Tensor mulScalar(Tensor x, float s) {
        return Elementwise.mulScalar(x, s);
    }

    @Override
    public Tensor mulScalar(Tensor x, float s, Tensor out) {
        return Elementwise.mulScalar(x, s, out);
    }

    @Override
    public Tensor neg(Tensor x) {
        return Elementwise.neg(x);
    }

    @Override
    public Tensor addScaledInPlace(Tensor acc, float alpha, Tensor x) {
        return Elementwise.addScaledInPlace(acc, alpha, x);
    }

    @Override
    public Tensor sumTo(Tensor grad, Shape target) {
        return Elementwise.sumTo(grad, target);
    }

    @Override
    public Tensor mulGradA(Tensor dy, Tensor a, Tensor b) {
        return Elementwise.mulGradA(dy, a, b);
    }

    @Override
    public Tensor mulGradB(Tensor dy, Tensor a, Tensor b) {
        return Elementwise.mulGradB(dy, a, b);
    }

    @Override
    public Tensor divGradA(Tensor dy, Tensor a, Tensor b) {
        return Elementwise.divGradA(dy, a, b);
    }

    @Override
    public Tensor divGradB(Tensor dy, Tensor a, Tensor b) {
        return Elementwise.divGradB(dy, a, b);
    }

    // ---------------------------------------------------------------- layout, matmul, activations

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        return Concat.concat(axis, parts);
    }

    @Override
    public Tensor slice(Tensor x, int axis, int from, int length) {
        return Concat.slice(x, axis, from, length);
    }

    @Override
    public Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        return Sgemm.matmul(a, transA, b, transB);
    }

    @Override
    public Tensor activationForward(Activation f, Tensor x) {
        return f.forward(x);
    }

    @Override
    public Tensor activationBackward(Activation f, Tensor x, Tensor y, Tensor dy) {
        return f.backward(x, y, dy);
    }

    @Override
    public Tensor softmax(Tensor x, int axis) {
        return Softmax.softmax(x, axis);
    }

    @Override
    public Tensor logSoftmax(Tensor x, int axis) {
        return Softmax.logSoftmax(x, axis);
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy, int axis) {
        return Softmax.softmaxBackward(y, dy, axis);
    }

    @Override
    public Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis) {
        return Softmax.logSoftmaxBackward(y, dy, axis);
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public Tensor sum(Tensor x, int axis) {
        return Reductions.sum(x, axis);
    }

    @Override
    public Tensor mean(Tensor x, int axis) {
        return Reductions.mean(x, axis);
    }

    @Override
    public Tensor sumBackward(Tensor dy, Shape inputShape, int axis) {
        return Reductions.sumBackward(dy, inputShape, axis);
    }

    @Override
    public Tensor meanBackward(Tensor dy, Shape inputShape, int axis) {
        return Reductions.meanBackward(dy, inputShape, axis);
    }

    @Override
    public Tensor sumAll(Tensor x) {
        return Tensor.scalar(Reductions.sumAll(x));
    }

    @Override
    public Tensor meanAll(Tensor x) {
        return Tensor.scalar(Reductions.meanAll(x));
    }

    @Override
    public Tensor sumAllBackward(Tensor dy, Shape inputShape) {
        return Tensor.full(dy.item(), inputShape.dims());
    }

    @Override
    public Tensor meanAllBackward(Tensor dy, Shape inputShape) {
        return Tensor.full(dy.item() / inputShape.size(), inputShape.dims());
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return Conv2d.forward(x, w, bias, spec);
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        return Conv2d.backwardInput(dy, w, spec, inputShape);
    }

    @Override
    public void conv2dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        Conv2d.backwardWeights(x, dy, spec, dw, db, accumulate);
    }

    @Override
    public Tensor conv1d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        return Conv1d.forward(x, w, bias, spec);
    }

    @Override
    public Tensor conv1dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        return Conv1d.backwardInput(dy, w, spec, inputShape);
    }

    @Override
    public void conv1dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        Conv1d.backwardWeights(x, dy, spec, dw, db, accumulate);
    }

    // ---------------------------------------------------------------- pooling

    @Override
    public MaxPooled maxPool2d(Tensor x, PoolSpec spec) {
        Pool2d.MaxPooled p = Pool2d.maxPoolWithIndices(x, spec);
        return new MaxPooled(p.output(), new HostIndices(p.argmax()));
    }

    /** Without the winners' indices, which spares the pool their bookkeeping. */
    @Override
    public Tensor maxPool2dValues(Tensor x, PoolSpec spec) {
        return Pool2d.maxPool(x, spec);
    }

    @Override
    public Tensor maxPool2dBackward(Tensor dy, Indices argmax, PoolSpec spec, Shape inputShape) {
        return Pool2d.maxPoolBackward(dy, host("maxPoolBackward", argmax), spec, inputShape);
    }

    @Override
    public Tensor meanPool2d(Tensor x, PoolSpec spec) {
        return Pool2d.meanPool(x, spec);
    }

    @Override
    public Tensor meanPool2dBackward(Tensor dy, PoolSpec spec, Shape inputShape) {
        return Pool2d.meanPoolBackward(dy, spec, inputShape);
    }

    @Override
    public MaxPooled globalMaxPool(Tensor x) {
        Pool2d.MaxPooled p = Pool2d.globalMaxPoolWithIndices(x);
        return new MaxPooled(p.output(), new HostIndices(p.argmax()));
    }

    @Override
    public Tensor globalMaxPoolBackward(Tensor dy, Indices argmax, Shape inputShape) {
        return Pool2d.globalMaxPoolBackward(dy, host("globalMaxPoolBackward", argmax), inputShape);
    }

    @Override
    public Tensor globalMeanPool(Tensor x) {
        return Pool2d.globalMeanPool(x);
    }

    @Override
    public Tensor globalMeanPoolBackward(Tensor dy, Shape inputShape) {
        return Pool2d.globalMeanPoolBackward(dy, inputShape);
    }

    // ---------------------------------------------------------------- batch norm, dropout

    @Override
    public BatchNormTraining batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                               Tensor runningVar, float momentum, float eps, boolean relu) {
        int c = x.rank() >= 2 ? x.dim(1) : 0;
        BatchNormTraining t = new BatchNormTraining(Tensor.zeros(x.shape()), Tensor.zeros(c), Tensor.zeros(c));
        BatchNorm.forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, relu, t.output(), t.mean(),
                t.invStd());
        return t;
    }

    @Override
    public BatchNormGradients batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd,
                                                Tensor reluOutput) {
        BatchNormGradients g = newGradients(x);
        BatchNorm.backward(x, dy, gamma, mean, invStd, reluOutput, g.dx(), g.dgamma(), g.dbeta());
        return g;
    }

    @Override
    public Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                     float eps, boolean relu) {
        return BatchNorm.forwardInference(x, gamma, beta, runningMean, runningVar, eps, relu, Tensor.zeros(x.shape()));
    }

    @Override
    public BatchNormGradients batchNormInferenceBackward(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                                         Tensor runningVar, float eps, Tensor reluOutput) {
        BatchNormGradients g = newGradients(x);
        BatchNorm.backwardInference(x, dy, gamma, runningMean, runningVar, eps, reluOutput, g.dx(), g.dgamma(),
                g.dbeta());
        return g;
    }

    /** Fused: {@link BatchNormMaxPool}, which never writes the normalised activation. */
    @Override
    public PooledBatchNorm batchNormReluMaxPool(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                Tensor runningVar, float momentum, float eps, boolean training,
                                                boolean forBackward) {
        BatchNormMaxPool.Result r = training
                ? BatchNormMaxPool.forwardTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, forBackward)
                : BatchNormMaxPool.forwardInference(x, gamma, beta, runningMean, runningVar, eps, forBackward);
        Once once = new Once("batchNorm+relu+maxPool backward");
        return new PooledBatchNorm(r.output(), dy -> {
            once.check();
            BatchNormGradients g = newGradients(x);
            BatchNormMaxPool.backward(x, dy, gamma, r.saved(), g.dx(), g.dgamma(), g.dbeta());
            once.done(r.saved());
            return g;
        });
    }

    /**
     * Fused ({@link ConvBatchNormMaxPool}, which never writes the convolution's output) where the convolution
     * takes the direct path, and for evaluation on the GEMM path where its forward products are packed from the
     * images; composed otherwise.
     */
    @Override
    public PooledConvBatchNorm convBatchNormReluMaxPool(Tensor x, Tensor w, Tensor bias, ConvSpec spec,
                                                        Tensor gamma, Tensor beta, Tensor runningMean,
                                                        Tensor runningVar, float momentum, float eps,
                                                        boolean training, boolean forBackward) {
        if (!ConvBatchNormMaxPool.applies(x.shape(), w.shape(), spec)) {
            if (!training && !forBackward && ConvBatchNormMaxPool.appliesToProducts(x.shape(), w.shape(), spec)) {
                // evaluation on the GEMM path: pooled from the products, the convolution's output never written
                Tensor y = ConvBatchNormMaxPool.forwardInferenceProducts(x, w, bias, spec, gamma, beta, runningMean,
                        runningVar, eps);
                return new PooledConvBatchNorm(y, dy -> {
                    throw new IllegalStateException("conv2d+batchNormInference+relu+maxPool backward: the forward "
                            + "pass kept no winners (it was run without a backward pass in view)");
                });
            }
            return Backend.super.convBatchNormReluMaxPool(x, w, bias, spec, gamma, beta, runningMean, runningVar,
                    momentum, eps, training, forBackward);
        }
        ConvBatchNormMaxPool.Result r = ConvBatchNormMaxPool.forward(x, w, bias, spec, gamma, beta, runningMean,
                runningVar, momentum, eps, training, forBackward);
        Once once = new Once("conv2d+batchNorm+relu+maxPool backward");
        return new PooledConvBatchNorm(r.output(), dy -> {
            once.check();
            int c = w.dim(0);
            ConvBatchNormGradients g = new ConvBatchNormGradients(Tensor.zeros(w.shape()),
                    bias == null ? null : Tensor.zeros(c), Tensor.zeros(c), Tensor.zeros(c));
            ConvBatchNormMaxPool.backward(x, w, bias, spec, dy, gamma, r.saved(), g.dw(), g.db(), g.dgamma(),
                    g.dbeta());
            once.done(r.saved());
            return g;
        });
    }

    /**
     * The one backward pass a pooled batch norm's forward result allows: once it has succeeded, the saved winners
     * go to the next forward pass of the same shape ({@link Recycler}), and a second pass is refused rather than
     * computed from another pass's state. A pass that fails (a wrong {@code dy}) leaves them, and may be retried.
     */
    private static final class Once {
        private final String op;
        private boolean done;

        Once(String op) {
            this.op = op;
        }

        synchronized void check() {
            if (done) {
                throw new IllegalStateException(op + ": already ran for this forward pass, whose saved state has "
                        + "been handed on for reuse; run the forward pass again");
            }
        }

        synchronized void done(BatchNormMaxPool.Saved saved) {
            done = true;
            BatchNormMaxPool.recycle(saved);
        }
    }

    private static BatchNormGradients newGradients(Tensor x) {
        int c = x.rank() >= 2 ? x.dim(1) : 0;
        return new BatchNormGradients(Tensor.zeros(x.shape()), Tensor.zeros(c), Tensor.zeros(c));
    }

    @Override
    public Dropped dropout(Tensor x, double p, RandomGenerator rng) {
        Dropped d = new Dropped(x.zerosLike(), x.zerosLike());
        Dropout.forward(x, p, rng, d.output(), d.mask());
        return d;
    }

    @Override
    public Tensor dropoutBackward(Tensor dy, Tensor mask) {
        return Dropout.backward(dy, mask);
    }

    // ---------------------------------------------------------------- losses

    @Override
    public Tensor crossEntropy(Tensor logits, int[] labels) {
        return Tensor.scalar(CrossEntropy.forward(logits, labels));
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor targets) {
        return Tensor.scalar(CrossEntropy.forward(logits, targets));
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, int[] labels, Tensor dLoss) {
        return CrossEntropy.backward(logits, labels, CrossEntropy.Reduction.MEAN, dLoss.item(),
                Tensor.zeros(logits.shape()));
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dLoss) {
        return CrossEntropy.backward(logits, targets, CrossEntropy.Reduction.MEAN, dLoss.item(),
                Tensor.zeros(logits.shape()));
    }

    // ---------------------------------------------------------------- optimiser steps

    @Override
    public void momentumStep(Tensor g, Tensor buffer, Tensor out, float lr, float mu, boolean nesterov,
                             boolean apply) {
        OptimiserSteps.momentum(g, buffer, out, lr, mu, nesterov, apply);
    }

    @Override
    public void adaGradStep(Tensor g, Tensor sum, Tensor out, float lr, float eps, boolean apply) {
        OptimiserSteps.adaGrad(g, sum, out, lr, eps, apply);
    }

    @Override
    public void adamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor p, Tensor out, double lr, double beta1,
                         double beta2, double eps, double weightDecay, boolean apply) {
        OptimiserSteps.adam(g, m, v, steps, p, out, lr, beta1, beta2, eps, weightDecay, apply);
    }

    @Override
    public void nAdamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor muProducts, Tensor out, double lr,
                          double beta1, double beta2, double eps, double momentumDecay, boolean apply) {
        OptimiserSteps.nAdam(g, m, v, steps, muProducts, out, lr, beta1, beta2, eps, momentumDecay, apply);
    }

    @Override
    public void rmsPropStep(Tensor g, Tensor square, Tensor gradAvg, Tensor buffer, Tensor out, double lr,
                            double alpha, double eps, double momentum, boolean apply) {
        OptimiserSteps.rmsProp(g, square, gradAvg, buffer, out, lr, alpha, eps, momentum, apply);
    }

    @Override
    public boolean allFinite(Tensor t) {
        return OptimiserSteps.allFinite(t);
    }

    @Override
    public String toString() {
        return "cpu backend";
    }
}
