package io.evonas.autodiff;

import io.evonas.tensor.Backend;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.random.RandomGenerator;

/**
 * The differentiable primitives and their gradient rules, all in one place: each method runs the forward
 * kernel and records, on the inputs' tape, a rule that maps the output's gradient to its inputs' gradients.
 * Composite functions (MSE, binary cross-entropy) are built from primitives. Inputs must belong to one tape and
 * live on one device: each primitive runs on that device's {@link Backend}, forward and backward, and allocates its
 * results there.
 *
 * <pre>
 * add      y = a + b (broadcast)     da = sumTo(dy, a)          db = sumTo(dy, b)
 * sub      y = a - b                 da = sumTo(dy, a)          db = -sumTo(dy, b)
 * mul      y = a · b                 da = sumTo(dy · b, a)      db = sumTo(dy · a, b)
 * div      y = a / b                 da = sumTo(dy / b, a)      db = -sumTo(dy · a / b², b)
 * concat   y = [x1, x2, …] (axis)  dxk = the slice of dy that xk filled
 * matmul   Y = op(A) op(B)           dA = dY op(B)ᵀ (transposed back as A is stored), likewise dB
 * act      y = f(x)                  dx = dy · f'(x)
 * softmax  y = e^x / Σe^x            dx = y · (dy - Σ dy·y)
 * cross-entropy of logits z          dz = (softmax(z) - onehot) / N
 * </pre>
 */
public final class Ops {
    private Ops() {
    }

    private static Tape tapeOf(Variable first, Variable... rest) {
        for (Variable v : rest) {
            if (v.tape() != first.tape()) {
                throw new IllegalArgumentException("ops: inputs belong to different tapes");
            }
        }
        return first.tape();
    }

    private static Tensor reduceTo(Backend be, Tensor grad, Shape shape) {
        return grad.shape().equals(shape) ? grad : be.sumTo(grad, shape);
    }

    // ------------------------------------------------------------------------------------------ arithmetic

    /** {@code a + b} with broadcasting. */
    public static Variable add(Variable a, Variable b) {
        Backend be = Backend.of("add", a.value(), b.value());
        Tensor y = be.add(a.value(), b.value());
        return tapeOf(a, b).record("add", y, (dy, s) -> {
            s.accumulate(a, reduceTo(be, dy, a.shape()));
            s.accumulate(b, reduceTo(be, dy, b.shape()));
        }, a, b);
    }

    /** {@code a - b} with broadcasting. */
    public static Variable sub(Variable a, Variable b) {
        Backend be = Backend.of("sub", a.value(), b.value());
        Tensor y = be.sub(a.value(), b.value());
        return tapeOf(a, b).record("sub", y, (dy, s) -> {
            s.accumulate(a, reduceTo(be, dy, a.shape()));
            if (s.needs(b)) {
                s.accumulate(b, be.neg(reduceTo(be, dy, b.shape())));
            }
        }, a, b);
    }

    /** {@code a · b} elementwise with broadcasting. */
    public static Variable mul(Variable a, Variable b) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Backend be = Backend.of("mul", av, bv);
        Tensor y = be.mul(av, bv);
        return tapeOf(a, b).record("mul", y, (dy, s) -> {
            if (s.needs(a)) {
                s.accumulate(a, be.mulGradA(dy, av, bv));
            }
            if (s.needs(b)) {
                s.accumulate(b, be.mulGradB(dy, av, bv));
            }
        }, a, b);
    }

    /** {@code a / b} elementwise with broadcasting. */
    public static Variable div(Variable a, Variable b) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Backend be = Backend.of("div", av, bv);
        Tensor y = be.div(av, bv);
        return tapeOf(a, b).record("div", y, (dy, s) -> {
            if (s.needs(a)) {
                s.accumulate(a, be.divGradA(dy, av, bv));
            }
            if (s.needs(b)) {
                s.accumulate(b, be.divGradB(dy, av, bv));
            }
        }, a, b);
    }

    /** The inputs joined along {@code axis} (1 for NC features and NCHW channels). */
    public static Variable concat(int axis, Variable... parts) {
        if (parts.length == 0) {
            throw new IllegalArgumentException("concat: no inputs");
        }
        Tensor[] values = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            values[i] = parts[i].value();
        }
        Backend be = Backend.of("concat", values);
        Tensor y = be.concat(axis, values);
        int a = y.shape().normaliseAxis(axis);
        return tapeOf(parts[0], parts).record("concat", y, (dy, s) -> {
            int from = 0;
            for (Variable p : parts) {
                int length = p.shape().dim(a);
                if (s.needs(p)) {
                    s.accumulate(p, be.slice(dy, a, from, length));
                }
                from += length;
            }
        }, parts);
    }

    /** {@code x + c}. */
    public static Variable addScalar(Variable x, float c) {
        Backend be = Backend.of("addScalar", x.value());
        return x.tape().record("addScalar", be.addScalar(x.value(), c), (dy, s) -> s.accumulate(x, dy), x);
    }

    /** {@code c · x}. */
    public static Variable mulScalar(Variable x, float c) {
        Backend be = Backend.of("mulScalar", x.value());
        return x.tape().record("mulScalar", be.mulScalar(x.value(), c),
                (dy, s) -> s.accumulate(x, be.mulScalar(dy, c)), x);
    }

    /** {@code op(a) × op(b)} for matrices; {@code trans*} says whether the stored matrix is used transposed. */
    public static Variable matmul(Variable a, boolean transA, Variable b, boolean transB) {
        Tensor av = a.value();
        Tensor bv = b.value();
        Backend be = Backend.of("matmul", av, bv);
        Tensor y = be.matmul(av, transA, bv, transB);
        return tapeOf(a, b).record("matmul", y, (dy, s) -> {
            if (s.needs(a)) {
                // A stored [m, k]: dA = dY op(B)ᵀ; A stored [k, m] (transA): dA = op(B) dYᵀ.
                s.accumulate(a, transA ? be.matmul(bv, transB, dy, true) : be.matmul(dy, false, bv, !transB));
            }
            if (s.needs(b)) {
                // B stored [k, n]: dB = op(A)ᵀ dY; B stored [n, k] (transB): dB = dYᵀ op(A).
                s.accumulate(b, transB ? be.matmul(dy, true, av, transA) : be.matmul(av, !transA, dy, false));
            }
        }, a, b);
    }

    /** A view with new dimensions (one may be -1). */
    public static Variable reshape(Variable x, int... dims) {
        Shape in = x.shape();
        return x.tape().record("reshape", x.value().reshape(dims), (dy, s) -> s.accumulate(x, dy.reshape(in)), x);
    }

    /** {@code [N, ...]} to {@code [N, rest]}. */
    public static Variable flatten(Variable x) {
        return reshape(x, x.shape().dim(0), -1);
    }

    /** Receives a variable's value and the gradient flowing into it during backward. */
    @FunctionalInterface
    public interface BackwardHook {
        void onBackward(Tensor value, Tensor gradient);
    }

    /**
     * The identity, with {@code hook} called during backward with {@code x}'s value and its gradient (used to
     * measure neuron utility, |activation × gradient|). Records nothing when {@code x} needs no gradient.
     */
    public static Variable hook(Variable x, BackwardHook hook) {
        Tensor v = x.value();
        return x.tape().record("hook", v, (dy, s) -> {
            hook.onBackward(v, dy);
            s.accumulate(x, dy);
        }, x);
    }

    // ------------------------------------------------------------------------------------------ activations

    /** {@code f(x)} elementwise. */
    public static Variable activation(Variable x, Activation f) {
        Backend be = Backend.of("activation", x.value());
        Tensor y = be.activationForward(f, x.value());
        Tensor keptInput = f.backwardNeedsInput() ? x.value() : null;
        return x.tape().record("activation " + f.name(), y,
                (dy, s) -> s.accumulate(x, be.activationBackward(f, keptInput, y, dy)), x);
    }

    /** Softmax along {@code axis}. */
    public static Variable softmax(Variable x, int axis) {
        Backend be = Backend.of("softmax", x.value());
        Tensor y = be.softmax(x.value(), axis);
        return x.tape().record("softmax", y, (dy, s) -> s.accumulate(x, be.softmaxBackward(y, dy, axis)), x);
    }

    /** Log-softmax along {@code axis}. */
    public static Variable logSoftmax(Variable x, int axis) {
        Backend be = Backend.of("logSoftmax", x.value());
        Tensor y = be.logSoftmax(x.value(), axis);
        return x.tape().record("logSoftmax", y,
                (dy, s) -> s.accumulate(x, be.logSoftmaxBackward(y, dy, axis)), x);
    }

    // ------------------------------------------------------------------------------------------ reductions

    /** Sum over {@code axis}, which is dropped. */
    public static Variable sum(Variable x, int axis) {
        Shape in = x.shape();
        Backend be = Backend.of("sum", x.value());
        return x.tape().record("sum", be.sum(x.value(), axis),
                (dy, s) -> s.accumulate(x, be.sumBackward(dy, in, axis)), x);
    }

    /** Mean over {@code axis}, which is dropped. */
    public static Variable mean(Variable x, int axis) {
        Shape in = x.shape();
        Backend be = Backend.of("mean", x.value());
        return x.tape().record("mean", be.mean(x.value(), axis),
                (dy, s) -> s.accumulate(x, be.meanBackward(dy, in, axis)), x);
    }

    /** Sum of all elements, as a one-element tensor. */
    public static Variable sumAll(Variable x) {
        Shape in = x.shape();
        Backend be = Backend.of("sumAll", x.value());
        return x.tape().record("sumAll", be.sumAll(x.value()), (dy, s) -> s.accumulate(x, be.sumAllBackward(dy, in)),
                x);
    }

    /** Mean of all elements, as a one-element tensor. */
    public static Variable meanAll(Variable x) {
        Shape in = x.shape();
        Backend be = Backend.of("meanAll", x.value());
        return x.tape().record("meanAll", be.meanAll(x.value()),
                (dy, s) -> s.accumulate(x, be.meanAllBackward(dy, in)), x);
    }

    // ------------------------------------------------------------------------------------------ convolution

    /**
     * 2-D convolution (cross-correlation, as PyTorch) of {@code x} {@code [N, C, H, W]} with {@code w}
     * {@code [OC, C, kh, kw]} plus {@code bias} {@code [OC]} (may be null).
     */
    public static Variable conv2d(Variable x, Variable w, Variable bias, ConvSpec spec) {
        return conv(x, w, bias, spec, false);
    }

    /** 1-D convolution of {@code x} {@code [N, C, L]} with {@code w} {@code [OC, C, k]}; {@code bias} may be null. */
    public static Variable conv1d(Variable x, Variable w, Variable bias, ConvSpec spec) {
        return conv(x, w, bias, spec, true);
    }

    private static Variable conv(Variable x, Variable w, Variable bias, ConvSpec spec, boolean oneD) {
        Tensor xv = x.value();
        Tensor wv = w.value();
        Tensor bv = bias == null ? null : bias.value();
        String op = oneD ? "conv1d" : "conv2d";
        Backend be = Backend.of(op, xv, wv, bv);
        Tensor y = oneD ? be.conv1d(xv, wv, bv, spec) : be.conv2d(xv, wv, bv, spec);
        Tape.Rule rule = (dy, s) -> {
            if (s.needs(x)) {
                s.accumulate(x, oneD ? be.conv1dBackwardInput(dy, wv, spec, xv.shape())
                        : be.conv2dBackwardInput(dy, wv, spec, xv.shape()));
            }
            boolean needBias = bias != null && s.needs(bias);
            if (s.needs(w) || needBias) {
                Tensor dw = Tensor.zeros(wv.shape(), be.device());
                Tensor db = needBias ? Tensor.zeros(bv.shape(), be.device()) : null;
                if (oneD) {
                    be.conv1dBackwardWeights(xv, dy, spec, dw, db, false);
                } else {
                    be.conv2dBackwardWeights(xv, dy, spec, dw, db, false);
                }
                s.accumulate(w, dw);
                if (needBias) {
                    s.accumulate(bias, db);
                }
            }
        };
        return bias == null ? tapeOf(x, w).record(op, y, rule, x, w)
                : tapeOf(x, w, bias).record(op, y, rule, x, w, bias);
    }

    // ------------------------------------------------------------------------------------------ pooling, norm

    /** Max pooling over H and W of {@code [N, C, H, W]}. */
    public static Variable maxPool2d(Variable x, PoolSpec spec) {
        Shape in = x.shape();
        Backend be = Backend.of("maxPool2d", x.value());
        if (!x.needsGradient()) {
            // nothing will ask for a gradient (the tape keeps no rule for a constant): no winners' indices
            return x.tape().record("maxPool2d", be.maxPool2dValues(x.value(), spec), (dy, s) -> {
                throw new IllegalStateException("maxPool2d: a constant has no gradient");
            }, x);
        }
        Backend.MaxPooled p = be.maxPool2d(x.value(), spec);
        return x.tape().record("maxPool2d", p.output(),
                (dy, s) -> s.accumulate(x, be.maxPool2dBackward(dy, p.argmax(), spec, in)), x);
    }

    /** Mean pooling over H and W of {@code [N, C, H, W]} (padding counts in the divisor). */
    public static Variable meanPool2d(Variable x, PoolSpec spec) {
        Shape in = x.shape();
        Backend be = Backend.of("meanPool2d", x.value());
        return x.tape().record("meanPool2d", be.meanPool2d(x.value(), spec),
                (dy, s) -> s.accumulate(x, be.meanPool2dBackward(dy, spec, in)), x);
    }

    /** Maximum over H × W: {@code [N, C, H, W]} to {@code [N, C, 1, 1]}. */
    public static Variable globalMaxPool(Variable x) {
        Shape in = x.shape();
        Backend be = Backend.of("globalMaxPool", x.value());
        Backend.MaxPooled p = be.globalMaxPool(x.value());
        return x.tape().record("globalMaxPool", p.output(),
                (dy, s) -> s.accumulate(x, be.globalMaxPoolBackward(dy, p.argmax(), in)), x);
    }

    /** Mean over H × W: {@code [N, C, H, W]} to {@code [N, C, 1, 1]}. */
    public static Variable globalMeanPool(Variable x) {
        Shape in = x.shape();
        Backend be = Backend.of("globalMeanPool", x.value());
        return x.tape().record("globalMeanPool", be.globalMeanPool(x.value()),
                (dy, s) -> s.accumulate(x, be.globalMeanPoolBackward(dy, in)), x);
    }

    /**
     * Batch normalisation in training mode over axis 1 with batch statistics; updates {@code runningMean} and
     * {@code runningVar} in place.
     */
    public static Variable batchNormTraining(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                             Tensor runningVar, float momentum, float eps) {
        return batchNormTraining(x, gamma, beta, runningMean, runningVar, momentum, eps, false);
    }

    /**
     * Batch normalisation with batch statistics, followed by ReLU when {@code relu}: one primitive, so the
     * activation costs no pass of its own forward or backward (the same bits as the two ops in a row).
     */
    public static Variable batchNormTraining(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                             Tensor runningVar, float momentum, float eps, boolean relu) {
        Tensor xv = x.value();
        Tensor gv = gamma.value();
        Backend be = Backend.of("batchNorm", xv, gv, beta.value(), runningMean, runningVar);
        Backend.BatchNormTraining t = be.batchNormTraining(xv, gv, beta.value(), runningMean, runningVar, momentum,
                eps, relu);
        Tensor y = t.output();
        return tapeOf(x, gamma, beta).record(relu ? "batchNorm+relu" : "batchNorm", y, (dy, s) -> {
            Backend.BatchNormGradients g = be.batchNormBackward(xv, dy, gv, t.mean(), t.invStd(), relu ? y : null);
            s.accumulate(x, g.dx());
            s.accumulate(gamma, g.dgamma());
            s.accumulate(beta, g.dbeta());
        }, x, gamma, beta);
    }

    /** Batch normalisation in inference mode with the running statistics. */
    public static Variable batchNormInference(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                              Tensor runningVar, float eps) {
        return batchNormInference(x, gamma, beta, runningMean, runningVar, eps, false);
    }

    /** Batch normalisation in inference mode, followed by ReLU when {@code relu}, as one primitive. */
    public static Variable batchNormInference(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                              Tensor runningVar, float eps, boolean relu) {
        Tensor xv = x.value();
        Tensor gv = gamma.value();
        Backend be = Backend.of("batchNormInference", xv, gv, beta.value(), runningMean, runningVar);
        Tensor y = be.batchNormInference(xv, gv, beta.value(), runningMean, runningVar, eps, relu);
        return tapeOf(x, gamma, beta).record(relu ? "batchNormInference+relu" : "batchNormInference", y,
                (dy, s) -> {
                    Backend.BatchNormGradients g = be.batchNormInferenceBackward(xv, dy, gv, runningMean, runningVar,
                            eps, relu ? y : null);
                    s.accumulate(x, g.dx());
                    s.accumulate(gamma, g.dgamma());
                    s.accumulate(beta, g.dbeta());
                }, x, gamma, beta);
    }

    /**
     * Batch normalisation (batch statistics when {@code training}, updating the running statistics; running
     * statistics otherwise), ReLU and 2×2 max pooling with stride 2, as one primitive: {@code [N, C, H, W]} to
     * {@code [N, C, H/2, W/2]}. The same function as {@link #batchNormTraining} (or {@link #batchNormInference})
     * with ReLU followed by {@link #maxPool2d} with a 2×2 window; on the CPU the normalised activation is never
     * written (see {@code BatchNormMaxPool}).
     */
    public static Variable batchNormReluMaxPool(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                                Tensor runningVar, float momentum, float eps, boolean training) {
        Tensor xv = x.value();
        Backend be = Backend.of("batchNorm+relu+maxPool", xv, gamma.value(), beta.value(), runningMean, runningVar);
        boolean needed = x.needsGradient() || gamma.needsGradient() || beta.needsGradient();
        Backend.PooledBatchNorm r = be.batchNormReluMaxPool(xv, gamma.value(), beta.value(), runningMean, runningVar,
                momentum, eps, training, needed);
        return tapeOf(x, gamma, beta).record(training ? "batchNorm+relu+maxPool" : "batchNormInference+relu+maxPool",
                r.output(), (dy, s) -> {
                    Backend.BatchNormGradients g = r.backward().apply(dy);
                    s.accumulate(x, g.dx());
                    s.accumulate(gamma, g.dgamma());
                    s.accumulate(beta, g.dbeta());
                }, x, gamma, beta);
    }

    /**
     * {@link #conv2d} ({@code bias} may be null) followed by {@link #batchNormReluMaxPool}, as one primitive where the
     * backend fuses them (the CPU does for convolutions with few input channels, such as a network's first layer,
     * and never writes the convolution's output). The fused primitive gives no gradient to {@code x}; when
     * {@code x} needs one, the two primitives are recorded instead.
     */
    public static Variable convBatchNormReluMaxPool(Variable x, Variable w, Variable bias, ConvSpec spec,
                                                    Variable gamma, Variable beta, Tensor runningMean,
                                                    Tensor runningVar, float momentum, float eps, boolean training) {
        if (x.needsGradient()) {
            return batchNormReluMaxPool(conv2d(x, w, bias, spec), gamma, beta, runningMean, runningVar, momentum,
                    eps, training);
        }
        Tensor bv = bias == null ? null : bias.value();
        String op = "conv2d+batchNorm+relu+maxPool";
        Backend be = Backend.of(op, x.value(), w.value(), bv, gamma.value(), beta.value(), runningMean,
                runningVar);
        boolean needed = w.needsGradient() || (bias != null && bias.needsGradient()) || gamma.needsGradient()
                || beta.needsGradient();
        Backend.PooledConvBatchNorm r = be.convBatchNormReluMaxPool(x.value(), w.value(), bv, spec, gamma.value(),
                beta.value(), runningMean, runningVar, momentum, eps, training, needed);
        Tape.Rule rule = (dy, s) -> {
            Backend.ConvBatchNormGradients g = r.backward().apply(dy);
            s.accumulate(w, g.dw());
            if (bias != null) {
                s.accumulate(bias, g.db());
            }
            s.accumulate(gamma, g.dgamma());
            s.accumulate(beta, g.dbeta());
        };
        String name = training ? op : "conv2d+batchNormInference+relu+maxPool";
        return bias == null
                ? tapeOf(x, w, gamma, beta).record(name, r.output(), rule, x, w, gamma, beta)
                : tapeOf(x, w, bias, gamma, beta).record(name, r.output(), rule, x, w, bias, gamma, beta);
    }

    /** Inverted dropout with probability {@code p}. */
    public static Variable dropout(Variable x, double p, RandomGenerator rng) {
        Backend be = Backend.of("dropout", x.value());
        Backend.Dropped d = be.dropout(x.value(), p, rng);
        return x.tape().record("dropout", d.output(), (dy, s) -> s.accumulate(x, be.dropoutBackward(dy, d.mask())), x);
    }

    // ------------------------------------------------------------------------------------------ losses

    /** Mean cross-entropy of logits {@code [N, C]} against class indices. */
    public static Variable crossEntropy(Variable logits, int[] labels) {
        Tensor z = logits.value();
        Backend be = Backend.of("crossEntropy", z);
        return logits.tape().record("crossEntropy", be.crossEntropy(z, labels),
                (dy, s) -> s.accumulate(logits, be.crossEntropyBackward(z, labels, dy)), logits);
    }

    /** Mean cross-entropy of logits {@code [N, C]} against target distributions (one-hot or soft). */
    public static Variable crossEntropy(Variable logits, Tensor targets) {
        Tensor z = logits.value();
        Backend be = Backend.of("crossEntropy", z, targets);
        return logits.tape().record("crossEntropy", be.crossEntropy(z, targets),
                (dy, s) -> s.accumulate(logits, be.crossEntropyBackward(z, targets, dy)), logits);
    }

    /** Mean squared error {@code mean((y - t)²)}. */
    public static Variable mse(Variable prediction, Variable target) {
        Variable d = sub(prediction, target);
        return meanAll(mul(d, d));
    }

    /**
     * Binary cross-entropy of logits against targets in [0, 1], averaged:
     * {@code mean(softplus(z) - z·t)}, which is stable for any finite logit.
     */
    public static Variable binaryCrossEntropyWithLogits(Variable logits, Variable targets) {
        return meanAll(sub(activation(logits, Activation.SOFTPLUS), mul(logits, targets)));
    }
}
