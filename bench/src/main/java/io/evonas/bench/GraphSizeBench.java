package io.evonas.bench;

import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Delta;
import io.evonas.nas.graph.InputShape;
import io.evonas.nas.graph.SizeChanges;
import io.evonas.nas.graph.SizeKind;
import io.evonas.nas.graph.Vertex;
import io.evonas.nas.model.Vertices;
import io.evonas.tensor.cpu.Activation;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Size changes end to end on a {@link CompGraph} of real layers shaped like an AutoFlux model: building the size
 * problem from the graph, reading the utilities of the tied vertices from their weights, solving, and recording
 * the (lazy) neuron surgery. Each case runs on a fresh copy of the graph; the copy is not timed.
 */
final class GraphSizeBench {
    private GraphSizeBench() {
    }

    /** An AutoFlux-like graph: stem, residual blocks, forks, a residual around a fork, misaligned sums. */
    static CompGraph autoFluxLike(SplittableRandom rng) {
        int[] n = {0};
        Vertex in = Vertex.input("in", 3, InputShape.CONV2D);
        Vertex x = bn(conv(in, 64, 3, rng, n), n);
        int[] widths = {96, 176, 288};
        for (int stage = 0; stage < widths.length; stage++) {
            int w = widths[stage];
            if (x.nout() != w) {
                x = bn(conv(x, w, 1, rng, n), n);
            }
            // Residual block.
            Vertex r = bn(conv(bn(conv(x, w / 2, 3, rng, n), n), w, 3, rng, n), n);
            x = Vertex.add("add" + n[0]++, x, r);
            // Fork block into a concatenation.
            Vertex a = conv(x, w / 4, 1, rng, n);
            Vertex b = conv(x, w / 2, 3, rng, n);
            Vertex c = conv(x, w / 4, 5, rng, n);
            x = bn(Vertex.concat("cat" + n[0]++, a, b, c), n);
            // A residual around a fork.
            Vertex p = conv(x, w / 3, 3, rng, n);
            Vertex q = conv(x, w - w / 3, 1, rng, n);
            x = Vertex.add("add" + n[0]++, x, Vertex.concat("cat" + n[0]++, p, q));
            // A sum of two concatenations whose blocks do not line up.
            Vertex s1 = conv(x, w * 5 / 12, 3, rng, n);
            Vertex s2 = conv(x, w - w * 5 / 12, 3, rng, n);
            Vertex s3 = conv(x, w * 2 / 3, 1, rng, n);
            Vertex s4 = conv(x, w - w * 2 / 3, 3, rng, n);
            x = Vertex.add("add" + n[0]++, Vertex.concat("cat" + n[0]++, s1, s2),
                    Vertex.concat("cat" + n[0]++, s3, s4));
            x = Vertices.maxPool("pool" + n[0]++, x, 2);
        }
        Vertex out = Vertices.dense("out", Vertices.globalMeanPool("gp", x), 10, Activation.IDENTITY, rng);
        return new CompGraph(in, out);
    }

    private static Vertex conv(Vertex in, int nout, int k, SplittableRandom rng, int[] n) {
        return Vertices.conv2d("conv" + n[0]++, in, nout, k, Activation.RELU, rng);
    }

    private static Vertex bn(Vertex in, int[] n) {
        return Vertices.batchNorm("bn" + n[0]++, in, Activation.IDENTITY);
    }

    /** Prints the median and worst time of single and joint changes. */
    static void run(int rounds) {
        CompGraph g = autoFluxLike(new SplittableRandom(3));
        List<String> convs = new ArrayList<>();
        int neurons = 0;
        for (Vertex v : g.vertices()) {
            neurons += v.nout();
            if (v.kind() == SizeKind.ABSORB && !g.outputs().contains(v)) {
                convs.add(v.name());
            }
        }
        List<Double> times = new ArrayList<>();
        for (int r = -1; r < rounds; r++) {
            SplittableRandom rng = new SplittableRandom(r + 10);
            for (String name : convs) {
                int sign = rng.nextBoolean() ? 1 : -1;
                double ms = time(g, rng, name, sign);
                if (r >= 0) {
                    times.add(ms);
                }
            }
            for (int c = 0; c < 10; c++) {
                String[] names = {convs.get(rng.nextInt(convs.size())), convs.get(rng.nextInt(convs.size())),
                        convs.get(rng.nextInt(convs.size()))};
                double ms = time(g, rng, names);
                if (r >= 0) {
                    times.add(ms);
                }
            }
        }
        Collections.sort(times);
        System.out.printf("sizesolve graph vertices=%d neurons=%d cases=%d median %.2f ms worst %.2f ms%n",
                g.size(), neurons, times.size(), times.get(times.size() / 2), times.getLast());
    }

    private static double time(CompGraph g, SplittableRandom rng, String name, int sign) {
        CompGraph copy = g.copy();
        Vertex v = copy.vertex(name);
        Delta d = Delta.exact(v, sign * Math.max(1, v.nout() / 10));
        long t0 = System.nanoTime();
        SizeChanges.deltaNout(rng, d);
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double time(CompGraph g, SplittableRandom rng, String... names) {
        CompGraph copy = g.copy();
        List<Delta> ds = new ArrayList<>();
        for (String name : names) {
            Vertex v = copy.vertex(name);
            if (ds.stream().noneMatch(d -> d.vertex() == v)) {
                ds.add(Delta.relaxed(v, (rng.nextBoolean() ? 1 : -1) * Math.max(1, v.nout() / 10)));
            }
        }
        long t0 = System.nanoTime();
        SizeChanges.deltaNout(rng, ds.toArray(Delta[]::new));
        return (System.nanoTime() - t0) / 1e6;
    }
}
