package io.evonas.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.BatchNorm;
import io.evonas.tensor.cpu.PoolSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Every primitive's gradient rule against central finite differences. */
class OpsGradientTest {
    private final SplittableRandom rng = new SplittableRandom(11);

    private Tensor rand(int... dims) {
        return Tensor.uniform(rng, -1, 1, dims);
    }

    /** The device the checks run on: the CPU here; {@link OpsLoopbackTest} runs them all on another. */
    Device device() {
        return Devices.cpu();
    }

    /** {@code t} on the device of {@code like}'s value: constants a checked function builds follow its inputs. */
    static Tensor on(Variable like, Tensor t) {
        return t.to(like.value().device());
    }

    void assertGradients(Function<List<Variable>, Variable> f, Tensor... inputs) {
        List<Tensor> xs = new ArrayList<>();
        for (Tensor x : inputs) {
            xs.add(x.to(device()));
        }
        GradientCheck.Result r = GradientCheck.check(f, xs, new SplittableRandom(5));
        assertTrue(r.maxError() < 2e-3, r.toString());
    }

    @Test
    void arithmeticWithBroadcasting() {
        assertGradients(in -> Ops.add(in.get(0), in.get(1)), rand(2, 3, 2, 2), rand(3, 1, 1));
        assertGradients(in -> Ops.sub(in.get(0), in.get(1)), rand(4, 5), rand(5));
        assertGradients(in -> Ops.mul(in.get(0), in.get(1)), rand(2, 3, 2, 2), rand(1, 3, 1, 1));
        Tensor positive = Tensor.uniform(rng, 0.5f, 1.5f, 5);
        assertGradients(in -> Ops.div(in.get(0), in.get(1)), rand(3, 5), positive);
        assertGradients(in -> Ops.mulScalar(Ops.addScalar(in.get(0), 2f), -3f), rand(7));
    }

    @Test
    void concatenationAlongChannelsAndFeatures() {
        assertGradients(in -> Ops.concat(1, in.get(0), in.get(1), in.get(0)), rand(2, 3, 2, 2), rand(2, 1, 2, 2));
        assertGradients(in -> Ops.concat(1, in.get(0), in.get(1)), rand(3, 5), rand(3, 2));
        Tape tape = new Tape();
        Tensor y = Ops.concat(1, tape.constant(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)),
                tape.constant(Tensor.of(new float[] {5, 6}, 2, 1))).value();
        assertArrayEquals(new float[] {1, 2, 5, 3, 4, 6}, y.toArray());
    }

    @Test
    void concatenationRefusesMismatchedShapes() {
        Tape t = new Tape();
        var e = assertThrows(IllegalArgumentException.class,
                () -> Ops.concat(1, t.constant(Tensor.zeros(2, 3, 4, 4)), t.constant(Tensor.zeros(2, 3, 5, 4))));
        assertTrue(e.getMessage().contains("[2, 3, 5, 4]"), e.getMessage());
    }

    @Test
    void matmulInEveryTransposition() {
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = ta ? rand(4, 3) : rand(3, 4);
                Tensor b = tb ? rand(5, 4) : rand(4, 5);
                assertGradients(in -> Ops.matmul(in.get(0), ta, in.get(1), tb), a, b);
            }
        }
    }

    @Test
    void convolutions() {
        assertGradients(in -> Ops.conv2d(in.get(0), in.get(1), in.get(2), io.evonas.tensor.cpu.ConvSpec.same(3, 2)),
                rand(2, 3, 5, 4), rand(4, 3, 3, 2), rand(4));
        assertGradients(in -> Ops.conv2d(in.get(0), in.get(1), null,
                new io.evonas.tensor.cpu.ConvSpec(3, 3, 2, 1, 1, 0, 2, 1, 1, 2)), rand(1, 2, 7, 6), rand(3, 2, 3, 3));
        assertGradients(in -> Ops.conv1d(in.get(0), in.get(1), in.get(2), io.evonas.tensor.cpu.ConvSpec.of1d(3, 2, 1,
                1)), rand(2, 3, 9), rand(2, 3, 3), rand(2));
    }

    @Test
    void activations() {
        // Keep away from the kinks at 0, where the derivative is one-sided.
        Tensor x = rand(3, 17);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = d[i] >= 0 ? d[i] + 0.05f : d[i] - 0.05f;
        }
        for (Activation f : Activation.values()) {
            assertGradients(in -> Ops.activation(in.get(0), f), x);
        }
    }

    @Test
    void softmaxReductionsAndReshape() {
        assertGradients(in -> Ops.softmax(in.get(0), 1), rand(3, 6));
        assertGradients(in -> Ops.logSoftmax(in.get(0), -1), rand(2, 3, 4));
        assertGradients(in -> Ops.sum(in.get(0), 1), rand(2, 3, 4));
        assertGradients(in -> Ops.mean(in.get(0), 0), rand(2, 3, 4));
        assertGradients(in -> Ops.sumAll(in.get(0)), rand(5, 2));
        assertGradients(in -> Ops.meanAll(in.get(0)), rand(5, 2));
        assertGradients(in -> Ops.flatten(Ops.mulScalar(in.get(0), 2f)), rand(2, 3, 2, 2));
    }

    /** Distinct values at least 0.05 apart, so a finite-difference step never changes which element is the max. */
    private Tensor separated(int... dims) {
        Tensor t = Tensor.zeros(dims);
        float[] d = t.data();
        int[] perm = rng.ints(0, Integer.MAX_VALUE).limit(d.length).toArray();
        Integer[] order = new Integer[d.length];
        for (int i = 0; i < d.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Integer.compare(perm[a], perm[b]));
        for (int i = 0; i < d.length; i++) {
            d[order[i]] = -1 + 0.05f * i;
        }
        return t;
    }

    @Test
    void poolingAndNormalisation() {
        assertGradients(in -> Ops.maxPool2d(in.get(0), PoolSpec.of(2)), separated(2, 3, 5, 4));
        assertGradients(in -> Ops.meanPool2d(in.get(0), PoolSpec.of(3, 2).withStride(1, 2)), rand(1, 2, 5, 6));
        assertGradients(in -> Ops.globalMaxPool(in.get(0)), separated(2, 3, 3, 3));
        assertGradients(in -> Ops.globalMeanPool(in.get(0)), rand(2, 3, 3, 3));
        assertGradients(in -> Ops.batchNormTraining(in.get(0), in.get(1), in.get(2), on(in.get(0), Tensor.zeros(3)),
                on(in.get(0), Tensor.full(1f, 3)), 0.1f, 1e-5f), rand(4, 3, 2, 2), rand(3), rand(3));
        assertGradients(in -> Ops.batchNormInference(in.get(0), in.get(1), in.get(2),
                on(in.get(0), Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3)),
                on(in.get(0), Tensor.of(new float[] {0.5f, 1.5f, 2f}, 3)), 1e-5f), rand(4, 3), rand(3), rand(3));
        assertGradients(in -> Ops.dropout(in.get(0), 0.3, new SplittableRandom(3)), rand(4, 9));
        // Batch norm, ReLU and 2×2 max pool as one primitive; distinct inputs keep away from the pool's ties.
        for (boolean training : new boolean[] {true, false}) {
            assertGradients(in -> Ops.batchNormReluMaxPool(in.get(0), in.get(1), in.get(2),
                    on(in.get(0), Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3)),
                    on(in.get(0), Tensor.of(new float[] {0.5f, 1.5f, 2f}, 3)), 0.1f, 1e-5f, training),
                    separated(3, 3, 4, 5), Tensor.of(new float[] {0.8f, -1.2f, 1.1f}, 3),
                    Tensor.of(new float[] {0.3f, 0.2f, -0.1f}, 3));
        }
    }

    @Test
    void fusedConvolutionBatchNormAndPool() {
        // A constant input (the fused primitive gives it no gradient) with rows of 16 outputs, so the CPU fuses;
        // the weight, bias, γ (one negative: that channel is normalised before pooling) and β are checked. The
        // input is one for which no window's winner and no ReLU sign changes within the finite-difference step
        // (other seeds give the composed primitives the same spurious errors).
        Tensor x = Tensor.uniform(new SplittableRandom(51), -1, 1, 2, 1, 4, 18);
        for (boolean training : new boolean[] {true, false}) {
            assertGradients(in -> Ops.convBatchNormReluMaxPool(in.get(0).tape().constant(on(in.get(0), x)),
                    in.get(0), in.get(1), io.evonas.tensor.cpu.ConvSpec.of(3, 3), in.get(2), in.get(3),
                    on(in.get(0), Tensor.of(new float[] {0.1f, -0.2f, 0.3f}, 3)),
                    on(in.get(0), Tensor.of(new float[] {0.5f, 1.5f, 2f}, 3)), 0.1f, 1e-5f, training),
                    Tensor.uniform(new SplittableRandom(22), -1, 1, 3, 1, 3, 3), rand(3),
                    Tensor.of(new float[] {0.8f, -1.2f, 1.1f}, 3), Tensor.of(new float[] {0.3f, 0.2f, -0.1f}, 3));
        }
    }

    @Test
    void maxPoolOfAConstantKeepsNoIndicesAndGivesTheSameValues() {
        Tensor x = separated(2, 3, 5, 4).to(device());
        Tape tape = new Tape();
        Variable constant = Ops.maxPool2d(tape.constant(x), PoolSpec.of(2));
        Variable parameter = Ops.maxPool2d(tape.parameter(x), PoolSpec.of(2));
        assertArrayEquals(parameter.value().toArray(), constant.value().toArray());
        assertTrue(!constant.needsGradient() && parameter.needsGradient());
        assertEquals(1, tape.size(), "only the pool of the parameter is recorded");
    }

    @Test
    void losses() {
        int[] labels = {0, 2, 1, 2};
        assertGradients(in -> Ops.crossEntropy(in.get(0), labels), rand(4, 3));
        Tensor soft = Tensor.of(new float[] {0.2f, 0.8f, 0, 1, 0.5f, 0.5f}, 3, 2);
        assertGradients(in -> Ops.crossEntropy(in.get(0), on(in.get(0), soft)), rand(3, 2));
        assertGradients(in -> Ops.mse(in.get(0), in.get(1)), rand(3, 4), rand(3, 4));
        Tensor t = Tensor.uniform(rng, 0, 1, 3, 4);
        assertGradients(in -> Ops.binaryCrossEntropyWithLogits(in.get(0), in.get(0).tape().constant(on(in.get(0), t))),
                rand(3, 4));
    }

    @Test
    void aSmallNetworkEndToEnd() {
        int[] labels = {1, 0, 3};
        assertGradients(in -> {
            Variable h = Ops.activation(Ops.add(Ops.matmul(in.get(0), false, in.get(1), true), in.get(2)),
                    Activation.TANH);
            return Ops.crossEntropy(Ops.matmul(h, false, in.get(3), true), labels);
        }, rand(3, 5), rand(6, 5), rand(6), rand(4, 6));
    }

    @Test
    void fanOutAccumulates() {
        Tape tape = new Tape();
        Variable x = tape.parameter(Tensor.of(new float[] {1, 2, 3}, 3));
        // y = sum(x·x + x) -> dy/dx = 2x + 1
        Variable y = Ops.sumAll(Ops.add(Ops.mul(x, x), x));
        assertArrayEquals(new float[] {3, 5, 7}, tape.backward(y).of(x).toArray());
    }

    @Test
    void constantsRecordNothingAndKeepNoActivations() {
        Tape tape = new Tape();
        Variable x = tape.constant(rand(4, 3));
        Variable w = tape.constant(rand(2, 3));
        Variable y = Ops.activation(Ops.matmul(x, false, w, true), Activation.RELU);
        assertEquals(0, tape.size());
        assertTrue(!y.needsGradient());
        Variable p = tape.parameter(rand(2, 3));
        Ops.activation(Ops.matmul(x, false, p, true), Activation.RELU);
        assertEquals(2, tape.size());
    }

    @Test
    void misuseIsReported() {
        Tape tape = new Tape();
        Variable x = tape.parameter(rand(3));
        Variable y = Ops.sumAll(x);
        var e = assertThrows(IllegalArgumentException.class, () -> tape.backward(x));
        assertTrue(e.getMessage().contains("[3]"), e.getMessage());
        tape.backward(y);
        assertThrows(IllegalStateException.class, () -> tape.backward(y));
        Variable other = new Tape().parameter(rand(3));
        Tape t2 = new Tape();
        assertThrows(IllegalArgumentException.class, () -> Ops.add(t2.parameter(rand(3)), other));
        Variable c = t2.constant(rand(3));
        Gradients g = t2.backward(Ops.sumAll(Ops.mul(t2.parameter(rand(3)), c)));
        assertThrows(IllegalArgumentException.class, () -> g.of(c));
    }

    @Test
    void batchNormTrainingUpdatesRunningStatistics() {
        Tensor mean = Tensor.zeros(2);
        Tensor var = Tensor.full(1f, 2);
        Tape tape = new Tape();
        Tensor x = Tensor.of(new float[] {1, 10, 3, 20}, 2, 2);
        Ops.batchNormTraining(tape.constant(x), tape.parameter(Tensor.full(1f, 2)), tape.parameter(Tensor.zeros(2)),
                mean, var, BatchNorm.DEFAULT_MOMENTUM, BatchNorm.DEFAULT_EPS);
        assertEquals(0.2f, mean.get(0), 1e-6);
        assertEquals(1.5f, mean.get(1), 1e-6);
        // unbiased batch variances 2 and 50
        assertEquals(0.9f + 0.2f, var.get(0), 1e-6);
        assertEquals(0.9f + 5f, var.get(1), 1e-5);
    }

    /** The output, then each input's gradient, of {@code f} run on {@code device} with a seeded output gradient. */
    static List<float[]> forwardBackward(Function<List<Variable>, Variable> f, Tensor[] inputs, Device device) {
        Tape tape = new Tape();
        List<Variable> leaves = new ArrayList<>();
        for (Tensor x : inputs) {
            leaves.add(tape.parameter(x.copy().to(device)));
        }
        Variable y = f.apply(leaves);
        assertSame(device, y.value().device());
        Tensor seed = Tensor.uniform(new SplittableRandom(3), -1, 1, y.shape().dims()).to(device);
        Gradients g = tape.backward(y, seed);
        List<float[]> out = new ArrayList<>();
        out.add(y.value().toArray());
        for (Variable leaf : leaves) {
            Tensor d = g.of(leaf);
            assertSame(device, d.device());
            out.add(d.toArray());
        }
        return out;
    }
}
