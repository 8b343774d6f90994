package io.evonas.tensor.testing;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The {@link Loopback} device's backend: every op copies its tensor arguments to the CPU, runs the CPU backend on
 * the copies, copies what the op returns (and what it writes in place) back into loopback tensors. A tensor from
 * another device is refused, so a caller that skipped dispatch fails here. Results are the CPU backend's bits.
 */
final class LoopbackBackend implements Backend {
    private final Device device;
    private final Backend cpu = Devices.cpu().backend();

    LoopbackBackend(Device device) {
        this.device = device;
    }

    @Override
    public Device device() {
        return device;
    }

    /** Max pooling's indices: the CPU backend's, wrapped so that only this backend reads them. */
    private record LoopbackIndices(Indices host) implements Indices {
        @Override
        public int size() {
            return host.size();
        }
    }

    private static Indices host(Indices argmax) {
        if (argmax instanceof LoopbackIndices l) {
            return l.host();
        }
        throw new IllegalArgumentException("loopback: indices " + argmax + " were not made by the loopback backend");
    }

    /** One op's host copies: each loopback tensor is copied once, so aliased arguments stay aliased. */
    private final class Call {
        private final String op;
        private final Map<Tensor, Tensor> hosts = new IdentityHashMap<>();

        Call(String op) {
            this.op = op;
        }

        /** The host copy of {@code t} (null stays null). */
        Tensor in(Tensor t) {
            if (t == null) {
                return null;
            }
            if (t.device() != device) {
                throw new IllegalStateException("loopback backend, " + op + ": got " + t.shape() + " on "
                        + t.device().name());
            }
            return hosts.computeIfAbsent(t, k -> k.to(Devices.cpu()));
        }

        /** Copies the host result of an argument the op wrote back into it; returns it. */
        Tensor written(Tensor t) {
            if (t != null) {
                t.copyFrom(hosts.get(t));
            }
            return t;
        }
    }

    private Call call(String op) {
        return new Call(op);
    }

    /** A CPU result as a new loopback tensor. */
    private Tensor back(Tensor host) {
        return host.to(device);
    }

    private BatchNormGradients back(BatchNormGradients g) {
        return new BatchNormGradients(back(g.dx()), back(g.dgamma()), back(g.dbeta()));
    }

    @Override
    public Tensor add(Tensor a, Tensor b) {
        Call c = call("add");
        return back(cpu.add(c.in(a), c.in(b)));
    }

    @Override
    public Tensor add(Tensor a, Tensor b, Tensor out) {
        Call c = call("add");
        cpu.add(c.in(a), c.in(b), c.in(out));
        return c.written(out);
    }

    @Override
    public Tensor sub(Tensor a, Tensor b) {
        Call c = call("sub");
        return back(cpu.sub(c.in(a), c.in(b)));
    }

    @Override
    public Tensor sub(Tensor a, Tensor b, Tensor out) {
        Call c = call("sub");
        cpu.sub(c.in(a), c.in(b), c.in(out));
        return c.written(out);
    }

    @Override
    public Tensor mul(Tensor a, Tensor b) {
        Call c = call("mul");
        return back(cpu.mul(c.in(a), c.in(b)));
    }

    @Override
    public Tensor div(Tensor a, Tensor b) {
        Call c = call("div");
        return back(cpu.div(c.in(a), c.in(b)));
    }

    @Override
    public Tensor addScalar(Tensor x, float s) {
        Call c = call("addScalar");
        return back(cpu.addScalar(c.in(x), s));
    }

    @Override
    public Tensor mulScalar(Tensor x, float s) {
        Call c = call("mulScalar");
        return back(cpu.mulScalar(c.in(x), s));
    }

    @Override
    public Tensor mulScalar(Tensor x, float s, Tensor out) {
        Call c = call("mulScalar");
        cpu.mulScalar(c.in(x), s, c.in(out));
        return c.written(out);
    }

    @Override
    public Tensor neg(Tensor x) {
        Call c = call("neg");
        return back(cpu.neg(c.in(x)));
    }

    @Override
    public Tensor addScaledInPlace(Tensor acc, float alpha, Tensor x) {
        Call c = call("addScaledInPlace");
        cpu.addScaledInPlace(c.in(acc), alpha, c.in(x));
        return c.written(acc);
    }

    @Override
    public Tensor sumTo(Tensor grad, Shape target) {
        Call c = call("sumTo");
        return back(cpu.sumTo(c.in(grad), target));
    }

    @Override
    public Tensor mulGradA(Tensor dy, Tensor a, Tensor b) {
        Call c = call("mulGradA");
        return back(cpu.mulGradA(c.in(dy), c.in(a), c.in(b)));
    }

    @Override
    public Tensor mulGradB(Tensor dy, Tensor a, Tensor b) {
        Call c = call("mulGradB");
        return back(cpu.mulGradB(c.in(dy), c.in(a), c.in(b)));
    }

    @Override
    public Tensor divGradA(Tensor dy, Tensor a, Tensor b) {
        Call c = call("divGradA");
        return back(cpu.divGradA(c.in(dy), c.in(a), c.in(b)));
    }

    @Override
    public Tensor divGradB(Tensor dy, Tensor a, Tensor b) {
        Call c = call("divGradB");
        return back(cpu.divGradB(c.in(dy), c.in(a), c.in(b)));
    }

    @Override
    public Tensor concat(int axis, Tensor... parts) {
        Call c = call("concat");
        Tensor[] hosts = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            hosts[i] = c.in(parts[i]);
        }
        return back(cpu.concat(axis, hosts));
    }

    @Override
    public Tensor slice(Tensor x, int axis, int from, int length) {
        Call c = call("slice");
        return back(cpu.slice(c.in(x), axis, from, length));
    }

    @Override
    public Tensor matmul(Tensor a, boolean transA, Tensor b, boolean transB) {
        Call c = call("matmul");
        return back(cpu.matmul(c.in(a), transA, c.in(b), transB));
    }

    @Override
    public Tensor activationForward(Activation f, Tensor x) {
        Call c = call("activationForward");
        return back(cpu.activationForward(f, c.in(x)));
    }

    @Override
    public Tensor activationBackward(Activation f, Tensor x, Tensor y, Tensor dy) {
        Call c = call("activationBackward");
        return back(cpu.activationBackward(f, c.in(x), c.in(y), c.in(dy)));
    }

    @Override
    public Tensor softmax(Tensor x, int axis) {
        Call c = call("softmax");
        return back(cpu.softmax(c.in(x), axis));
    }

    @Override
    public Tensor logSoftmax(Tensor x, int axis) {
        Call c = call("logSoftmax");
        return back(cpu.logSoftmax(c.in(x), axis));
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy, int axis) {
        Call c = call("softmaxBackward");
        return back(cpu.softmaxBackward(c.in(y), c.in(dy), axis));
    }

    @Override
    public Tensor logSoftmaxBackward(Tensor y, Tensor dy, int axis) {
        Call c = call("logSoftmaxBackward");
        return back(cpu.logSoftmaxBackward(c.in(y), c.in(dy), axis));
    }

    @Override
    public Tensor sum(Tensor x, int axis) {
        Call c = call("sum");
        return back(cpu.sum(c.in(x), axis));
    }

    @Override
    public Tensor mean(Tensor x, int axis) {
        Call c = call("mean");
        return back(cpu.mean(c.in(x), axis));
    }

    @Override
    public Tensor sumBackward(Tensor dy, Shape inputShape, int axis) {
        Call c = call("sumBackward");
        return back(cpu.sumBackward(c.in(dy), inputShape, axis));
    }

    @Override
    public Tensor meanBackward(Tensor dy, Shape inputShape, int axis) {
        Call c = call("meanBackward");
        return back(cpu.meanBackward(c.in(dy), inputShape, axis));
    }

    @Override
    public Tensor sumAll(Tensor x) {
        Call c = call("sumAll");
        return back(cpu.sumAll(c.in(x)));
    }

    @Override
    public Tensor meanAll(Tensor x) {
        Call c = call("meanAll");
        return back(cpu.meanAll(c.in(x)));
    }

    @Override
    public Tensor sumAllBackward(Tensor dy, Shape inputShape) {
        Call c = call("sumAllBackward");
        return back(cpu.sumAllBackward(c.in(dy), inputShape));
    }

    @Override
    public Tensor meanAllBackward(Tensor dy, Shape inputShape) {
        Call c = call("meanAllBackward");
        return back(cpu.meanAllBackward(c.in(dy), inputShape));
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        Call c = call("conv2d");
        return back(cpu.conv2d(c.in(x), c.in(w), c.in(bias), spec));
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        Call c = call("conv2dBackwardInput");
        return back(cpu.conv2dBackwardInput(c.in(dy), c.in(w), spec, inputShape));
    }

    @Override
    public void conv2dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        Call c = call("conv2dBackwardWeights");
        cpu.conv2dBackwardWeights(c.in(x), c.in(dy), spec, c.in(dw), c.in(db), accumulate);
        c.written(dw);
        c.written(db);
    }

    @Override
    public Tensor conv1d(Tensor x, Tensor w, Tensor bias, ConvSpec spec) {
        Call c = call("conv1d");
        return back(cpu.conv1d(c.in(x), c.in(w), c.in(bias), spec));
    }

    @Override
    public Tensor conv1dBackwardInput(Tensor dy, Tensor w, ConvSpec spec, Shape inputShape) {
        Call c = call("conv1dBackwardInput");
        return back(cpu.conv1dBackwardInput(c.in(dy), c.in(w), spec, inputShape));
    }

    @Override
    public void conv1dBackwardWeights(Tensor x, Tensor dy, ConvSpec spec, Tensor dw, Tensor db, boolean accumulate) {
        Call c = call("conv1dBackwardWeights");
        cpu.conv1dBackwardWeights(c.in(x), c.in(dy), spec, c.in(dw), c.in(db), accumulate);
        c.written(dw);
        c.written(db);
    }

    @Override
    public MaxPooled maxPool2d(Tensor x, PoolSpec spec) {
        MaxPooled p = cpu.maxPool2d(call("maxPool2d").in(x), spec);
        return new MaxPooled(back(p.output()), new LoopbackIndices(p.argmax()));
    }

    @Override
    public Tensor maxPool2dBackward(Tensor dy, Indices argmax, PoolSpec spec, Shape inputShape) {
        return back(cpu.maxPool2dBackward(call("maxPool2dBackward").in(dy), host(argmax), spec, inputShape));
    }

    @Override
    public Tensor meanPool2d(Tensor x, PoolSpec spec) {
        Call c = call("meanPool2d");
        return back(cpu.meanPool2d(c.in(x), spec));
    }

    @Override
    public Tensor meanPool2dBackward(Tensor dy, PoolSpec spec, Shape inputShape) {
        Call c = call("meanPool2dBackward");
        return back(cpu.meanPool2dBackward(c.in(dy), spec, inputShape));
    }

    @Override
    public MaxPooled globalMaxPool(Tensor x) {
        MaxPooled p = cpu.globalMaxPool(call("globalMaxPool").in(x));
        return new MaxPooled(back(p.output()), new LoopbackIndices(p.argmax()));
    }

    @Override
    public Tensor globalMaxPoolBackward(Tensor dy, Indices argmax, Shape inputShape) {
        return back(cpu.globalMaxPoolBackward(call("globalMaxPoolBackward").in(dy), host(argmax), inputShape));
    }

    @Override
    public Tensor globalMeanPool(Tensor x) {
        Call c = call("globalMeanPool");
        return back(cpu.globalMeanPool(c.in(x)));
    }

    @Override
    public Tensor globalMeanPoolBackward(Tensor dy, Shape inputShape) {
        Call c = call("globalMeanPoolBackward");
        return back(cpu.globalMeanPoolBackward(c.in(dy), inputShape));
    }

    @Override
    public BatchNormTraining batchNormTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                               Tensor runningVar, float momentum, float eps, boolean relu) {
        Call c = call("batchNormTraining");
        BatchNormTraining t = cpu.batchNormTraining(c.in(x), c.in(gamma), c.in(beta), c.in(runningMean),
                c.in(runningVar), momentum, eps, relu);
        c.written(runningMean);
        c.written(runningVar);
        return new BatchNormTraining(back(t.output()), back(t.mean()), back(t.invStd()));
    }

    @Override
    public BatchNormGradients batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor mean, Tensor invStd,
                                                Tensor reluOutput) {
        Call c = call("batchNormBackward");
        return back(cpu.batchNormBackward(c.in(x), c.in(dy), c.in(gamma), c.in(mean), c.in(invStd),
                c.in(reluOutput)));
    }

    @Override
    public Tensor batchNormInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                                     float eps, boolean relu) {
        Call c = call("batchNormInference");
        return back(cpu.batchNormInference(c.in(x), c.in(gamma), c.in(beta), c.in(runningMean), c.in(runningVar),
                eps, relu));
    }

    @Override
    public BatchNormGradients batchNormInferenceBackward(Tensor x, Tensor dy, Tensor gamma, Tensor runningMean,
                                                         Tensor runningVar, float eps, Tensor reluOutput) {
        Call c = call("batchNormInferenceBackward");
        return back(cpu.batchNormInferenceBackward(c.in(x), c.in(dy), c.in(gamma), c.in(runningMean),
                c.in(runningVar), eps, c.in(reluOutput)));
    }

    @Override
    public PooledBatchNorm batchNormReluMaxPool(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                Tensor runningVar, float momentum, float eps, boolean training,
                                                boolean forBackward) {
        Call c = call("batchNormReluMaxPool");
        PooledBatchNorm r = cpu.batchNormReluMaxPool(c.in(x), c.in(gamma), c.in(beta), c.in(runningMean),
                c.in(runningVar), momentum, eps, training, forBackward);
        c.written(runningMean);
        c.written(runningVar);
        return new PooledBatchNorm(back(r.output()),
                dy -> back(r.backward().apply(call("batchNormReluMaxPool backward").in(dy))));
    }

    @Override
    public PooledConvBatchNorm convBatchNormReluMaxPool(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor gamma,
                                                        Tensor beta, Tensor runningMean, Tensor runningVar,
                                                        float momentum, float eps, boolean training,
                                                        boolean forBackward) {
        Call c = call("convBatchNormReluMaxPool");
        PooledConvBatchNorm r = cpu.convBatchNormReluMaxPool(c.in(x), c.in(w), bias == null ? null : c.in(bias),
                spec, c.in(gamma), c.in(beta), c.in(runningMean), c.in(runningVar), momentum, eps, training,
                forBackward);
        c.written(runningMean);
        c.written(runningVar);
        return new PooledConvBatchNorm(back(r.output()), dy -> {
            ConvBatchNormGradients g = r.backward().apply(call("convBatchNormReluMaxPool backward").in(dy));
            return new ConvBatchNormGradients(back(g.dw()), g.db() == null ? null : back(g.db()), back(g.dgamma()),
                    back(g.dbeta()));
        });
    }

    @Override
    public Dropped dropout(Tensor x, double p, RandomGenerator rng) {
        Dropped d = cpu.dropout(call("dropout").in(x), p, rng);
        return new Dropped(back(d.output()), back(d.mask()));
    }

    @Override
    public Tensor dropoutBackward(Tensor dy, Tensor mask) {
        Call c = call("dropoutBackward");
        return back(cpu.dropoutBackward(c.in(dy), c.in(mask)));
    }

    @Override
    public Tensor crossEntropy(Tensor logits, int[] labels) {
        Call c = call("crossEntropy");
        return back(cpu.crossEntropy(c.in(logits), labels));
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor targets) {
        Call c = call("crossEntropy");
        return back(cpu.crossEntropy(c.in(logits), c.in(targets)));
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, int[] labels, Tensor dLoss) {
        Call c = call("crossEntropyBackward");
        return back(cpu.crossEntropyBackward(c.in(logits), labels, c.in(dLoss)));
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor targets, Tensor dLoss) {
        Call c = call("crossEntropyBackward");
        return back(cpu.crossEntropyBackward(c.in(logits), c.in(targets), c.in(dLoss)));
    }

    @Override
    public void momentumStep(Tensor g, Tensor buffer, Tensor out, float lr, float mu, boolean nesterov,
                             boolean apply) {
        Call c = call("momentumStep");
        cpu.momentumStep(c.in(g), c.in(buffer), c.in(out), lr, mu, nesterov, apply);
        c.written(buffer);
        c.written(out);
    }

    @Override
    public void adaGradStep(Tensor g, Tensor sum, Tensor out, float lr, float eps, boolean apply) {
        Call c = call("adaGradStep");
        cpu.adaGradStep(c.in(g), c.in(sum), c.in(out), lr, eps, apply);
        c.written(sum);
        c.written(out);
    }

    @Override
    public void adamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor p, Tensor out, double lr, double beta1,
                         double beta2, double eps, double weightDecay, boolean apply) {
        Call c = call("adamStep");
        cpu.adamStep(c.in(g), c.in(m), c.in(v), c.in(steps), c.in(p), c.in(out), lr, beta1, beta2, eps, weightDecay,
                apply);
        c.written(m);
        c.written(v);
        c.written(steps);
        c.written(out);
    }

    @Override
    public void nAdamStep(Tensor g, Tensor m, Tensor v, Tensor steps, Tensor muProducts, Tensor out, double lr,
                          double beta1, double beta2, double eps, double momentumDecay, boolean apply) {
        Call c = call("nAdamStep");
        cpu.nAdamStep(c.in(g), c.in(m), c.in(v), c.in(steps), c.in(muProducts), c.in(out), lr, beta1, beta2, eps,
                momentumDecay, apply);
        c.written(m);
        c.written(v);
        c.written(steps);
        c.written(muProducts);
        c.written(out);
    }

    @Override
    public void rmsPropStep(Tensor g, Tensor square, Tensor gradAvg, Tensor buffer, Tensor out, double lr,
                            double alpha, double eps, double momentum, boolean apply) {
        Call c = call("rmsPropStep");
        cpu.rmsPropStep(c.in(g), c.in(square), c.in(gradAvg), c.in(buffer), c.in(out), lr, alpha, eps, momentum,
                apply);
        c.written(square);
        c.written(gradAvg);
        c.written(buffer);
        c.written(out);
    }

    @Override
    public boolean allFinite(Tensor t) {
        return cpu.allFinite(call("allFinite").in(t));
    }

}
