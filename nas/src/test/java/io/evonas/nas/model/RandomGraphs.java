package io.evonas.nas.model;

import io.evonas.autodiff.Tape;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Parameter;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random dense graphs with the shapes NAS produces: chains, batch norm, residual sums, forks into
 * concatenations, residuals around forks, products, and sums of two concatenations whose blocks do not line up.
 */
final class RandomGraphs {
    static final int INPUTS = 4;
    static final int OUTPUTS = 2;

    private RandomGraphs() {
    }

    static CompGraph dense(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] counter = {0};
        Vertex in = Vertex.input("in", INPUTS, InputShape.DENSE);
        Vertex cur = Vertices.dense("d" + counter[0]++, in, 3 + rng.nextInt(5), Activation.TANH, rng);
        int blocks = 2 + rng.nextInt(4);
        for (int b = 0; b < blocks; b++) {
            cur = switch (rng.nextInt(7)) {
                case 0 -> Vertices.dense("d" + counter[0]++, cur, 2 + rng.nextInt(6), Activation.TANH, rng);
                case 1 -> Vertices.batchNorm("bn" + counter[0]++, cur, Activation.IDENTITY);
                case 2 -> residual(cur, rng, counter);
                case 3 -> fork(cur, rng, counter, 2 + rng.nextInt(2));
                case 4 -> forkResidual(cur, rng, counter);
                case 5 -> product(cur, rng, counter);
                default -> misaligned(cur, rng, counter);
            };
        }
        Vertex out = Vertices.dense("out", cur, OUTPUTS, Activation.IDENTITY, rng);
        return new CompGraph(in, out);
    }

    private static Vertex residual(Vertex x, SplittableRandom rng, int[] c) {
        Vertex a = Vertices.dense("r" + c[0]++, x, 2 + rng.nextInt(5), Activation.TANH, rng);
        Vertex b = Vertices.dense("r" + c[0]++, a, x.nout(), Activation.IDENTITY, rng);
        return Vertex.add("add" + c[0]++, x, b);
    }

    private static Vertex fork(Vertex x, SplittableRandom rng, int[] c, int paths) {
        Vertex[] ps = new Vertex[paths];
        for (int i = 0; i < paths; i++) {
            ps[i] = Vertices.dense("f" + c[0]++, x, 1 + rng.nextInt(4), Activation.TANH, rng);
        }
        return Vertex.concat("cat" + c[0]++, ps);
    }

    private static Vertex forkResidual(Vertex x, SplittableRandom rng, int[] c) {
        if (x.nout() < 2) {
            return residual(x, rng, c);
        }
        int first = 1 + rng.nextInt(x.nout() - 1);
        Vertex a = Vertices.dense("f" + c[0]++, x, first, Activation.TANH, rng);
        Vertex b = Vertices.dense("f" + c[0]++, x, x.nout() - first, Activation.TANH, rng);
        return Vertex.add("add" + c[0]++, x, Vertex.concat("cat" + c[0]++, a, b));
    }

    private static Vertex product(Vertex x, SplittableRandom rng, int[] c) {
        Vertex a = Vertices.dense("m" + c[0]++, x, 2 + rng.nextInt(4), Activation.SIGMOID, rng);
        Vertex b = Vertices.dense("m" + c[0]++, x, a.nout(), Activation.TANH, rng);
        return Vertex.mul("mul" + c[0]++, a, b);
    }

    /** concat(a, b) + concat(c, d) with |a| != |c|: ties that are not nested. */
    private static Vertex misaligned(Vertex x, SplittableRandom rng, int[] c) {
        int total = 4 + rng.nextInt(4);
        int ab = 1 + rng.nextInt(total - 1);
        int cd = ab;
        while (cd == ab) {
            cd = 1 + rng.nextInt(total - 1);
        }
        Vertex a = Vertices.dense("u" + c[0]++, x, ab, Activation.TANH, rng);
        Vertex b = Vertices.dense("u" + c[0]++, x, total - ab, Activation.TANH, rng);
        Vertex cc = Vertices.dense("u" + c[0]++, x, cd, Activation.TANH, rng);
        Vertex d = Vertices.dense("u" + c[0]++, x, total - cd, Activation.TANH, rng);
        return Vertex.add("add" + c[0]++, Vertex.concat("cat" + c[0]++, a, b), Vertex.concat("cat" + c[0]++, cc, d));
    }

    /**
     * Random convolutional graphs on 1×8×8 inputs: 3×3 convs with batch norm (in training-free inference mode),
     * residual sums, forks into concatenations, a max pool, global pooling and a dense output.
     */
    static CompGraph conv(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] c = {0};
        Vertex in = Vertex.input("in", 1, InputShape.CONV2D);
        Vertex cur = Vertices.conv2d("c" + c[0]++, in, 2 + rng.nextInt(4), 3, Activation.TANH, rng);
        int blocks = 2 + rng.nextInt(3);
        for (int b = 0; b < blocks; b++) {
            cur = switch (rng.nextInt(5)) {
                case 0 -> Vertices.batchNorm("bn" + c[0]++, cur, Activation.RELU);
                case 1 -> {
                    Vertex r = Vertices.conv2d("r" + c[0]++, cur, 1 + rng.nextInt(4), 3, Activation.TANH, rng);
                    yield Vertex.add("add" + c[0]++, cur,
                            Vertices.conv2d("r" + c[0]++, r, cur.nout(), 1, Activation.IDENTITY, rng));
                }
                case 2 -> Vertex.concat("cat" + c[0]++,
                        Vertices.conv2d("f" + c[0]++, cur, 1 + rng.nextInt(3), 1, Activation.TANH, rng),
                        Vertices.conv2d("f" + c[0]++, cur, 1 + rng.nextInt(3), 3, Activation.TANH, rng));
                case 3 -> b == 0 ? Vertices.maxPool("pool" + c[0]++, cur, 2)
                        : Vertices.conv2d("c" + c[0]++, cur, 2 + rng.nextInt(4), 3, Activation.TANH, rng);
                default -> Vertices.conv2d("c" + c[0]++, cur, 2 + rng.nextInt(4), 3, Activation.TANH, rng);
            };
        }
        Vertex out = Vertices.dense("out", Vertices.globalMeanPool("gp", cur), OUTPUTS, Activation.IDENTITY, rng);
        return new CompGraph(in, out);
    }

    /** A fixed batch of 1×8×8 images. */
    static Tensor images(long seed) {
        return Tensor.uniform(new SplittableRandom(seed), -1, 1, 3, 1, 8, 8);
    }

    /** A fixed batch of inputs. */
    static Tensor batch(long seed) {
        return Tensor.uniform(new SplittableRandom(seed), -1, 1, 5, INPUTS);
    }

    /** The graph's inference output for {@code x}. */
    static float[] infer(CompGraph g, Tensor x) {
        ForwardPass pass = new ForwardPass(new Tape(), false, new SplittableRandom(1));
        return new GraphModel(g).forward(pass.tape().constant(x), pass).value().toArray();
    }

    /** Everything observable about a graph: its summary and every parameter's value, gradient and state. */
    static List<Object> fingerprint(CompGraph g) {
        List<Object> f = new ArrayList<>();
        f.add(g.summary());
        for (Vertex v : g.vertices()) {
            f.add(v.name() + " <- " + v.inputs() + " -> " + v.outputs());
        }
        for (Parameter p : new GraphModel(g).parameters()) {
            f.add(p.name() + java.util.Arrays.toString(p.value().toArray()));
            f.add(p.grad() == null ? "no grad" : java.util.Arrays.toString(p.grad().toArray()));
            for (String k : new java.util.TreeSet<>(p.stateKeys())) {
                f.add(k + java.util.Arrays.toString(p.state(k).toArray()));
            }
        }
        return f;
    }
}
