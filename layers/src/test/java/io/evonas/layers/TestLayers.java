package io.evonas.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.autodiff.Variable;
import io.evonas.layers.optim.Adam;
import io.evonas.layers.optim.Optimiser;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Shared by the layer tests: a seeded training step, inference, and a bitwise snapshot of a layer's state. */
final class TestLayers {
    private static final Optimiser ADAM = Adam.of(0.01);

    private TestLayers() {
    }

    /**
     * One training step on a seeded batch of shape {@code input}: forward, backward with a seeded output gradient,
     * an Adam update (the gradients stay). Returns the output.
     */
    static float[] trainStep(Layer layer, Shape input, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        ForwardPass pass = ForwardPass.training(r.split());
        Tensor x = Tensor.uniform(r, -1, 1, input.dims());
        Variable y = layer.forward(pass.tape().parameter(x), pass);
        pass.accumulateGradients(pass.tape().backward(y, Tensor.uniform(r, -1, 1, y.shape().dims())));
        ADAM.updateInPlace(layer.parameters());
        return y.value().toArray();
    }

    static float[] infer(Layer layer, Tensor x) {
        ForwardPass pass = ForwardPass.inference();
        return layer.forward(pass.tape().constant(x), pass).value().toArray();
    }

    /**
     * Everything mutable a layer holds, by name, as raw bits: sizes, each parameter's value, gradient and state,
     * BatchNorm's running statistics, activations, neuron utility, Conv2D's spec, and the same for children.
     */
    static Map<String, int[]> snapshot(Layer layer) {
        Map<String, int[]> s = new LinkedHashMap<>();
        snapshot(layer, "", s);
        return s;
    }

    private static void snapshot(Layer layer, String prefix, Map<String, int[]> s) {
        s.put(prefix + "sizes " + layer.nin() + " " + layer.nout() + " " + layer, new int[0]);
        List<Parameter> params = layer.parameters();
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            String key = prefix + i + " " + p.name();
            s.put(key + " value", bits(p.value()));
            s.put(key + " grad", bits(p.grad()));
            for (String k : p.stateKeys()) {
                s.put(key + " state " + k, bits(p.state(k)));
            }
        }
        switch (layer) {
            case BatchNorm bn -> {
                s.put(prefix + "runningMean", bits(bn.runningMean()));
                s.put(prefix + "runningVar", bits(bn.runningVar()));
                s.put(prefix + "activation " + bn.activation(), new int[0]);
            }
            case WeightedLayer w -> {
                s.put(prefix + "activation " + w.activation(), new int[0]);
                if (w.utility() != null) {
                    s.put(prefix + "utility measured " + w.utility().measured(), bits(w.utility().values()));
                }
                if (w instanceof Conv2D c) {
                    s.put(prefix + "spec " + c.spec(), new int[0]);
                }
            }
            case Sequential seq -> {
                for (int i = 0; i < seq.layers().size(); i++) {
                    snapshot(seq.layers().get(i), prefix + "[" + i + "] ", s);
                }
            }
            default -> {
            }
        }
    }

    static int[] bits(Tensor t) {
        return bits(t.toArray());
    }

    static int[] bits(float[] a) {
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Float.floatToRawIntBits(a[i]);
        }
        return b;
    }

    /** The two snapshots hold the same names and bit-identical arrays. */
    static void assertSameState(Map<String, int[]> expected, Map<String, int[]> actual, String when) {
        assertEquals(expected.keySet(), actual.keySet(), when);
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            assertTrue(Arrays.equals(e.getValue(), actual.get(e.getKey())), when + ": " + e.getKey());
        }
    }
}
