package io.evonas.bench;

import io.evonas.nas.graph.size.SizeProblem;
import io.evonas.nas.graph.size.SizeProblem.Kind;
import io.evonas.nas.graph.size.SizeSolution;
import io.evonas.nas.graph.size.SizeSolver;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * {@code bench/run sizesolve [rounds]}: time of {@link SizeSolver#solve} on a size problem shaped like a NaiveGAflux
 * AutoFlux model (conv stem, residual blocks {@code x → conv → bn → conv → bn → add(x, ·)}, fork blocks
 * {@code x → conv paths → concat}, a residual around a fork, an add joining two concatenations with different
 * block boundaries; random utilities from a fixed seed). After a warm-up it runs single {@code Δnout ±10%} changes
 * of every conv, several changes at once, exact and relaxed, and a pruning run (negative utilities, insert bound
 * 0), and prints {@code sizesolve vertices=<v> neurons=<n> <median> ms}, the worst case, and a line per kind.
 */
public final class SizeSolveBench {
    private SizeSolveBench() {
    }

    /** One timed case: how to add its requests to a fresh model. */
    private record Case(String kind, Consumer<SizeProblem> requests, boolean pruning) {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        Model m = Model.build(new SplittableRandom(7), false);
        List<Case> cases = cases(m);
        for (int w = 0; w < 3; w++) {
            for (Case c : cases) {
                solve(c, w);
            }
        }
        List<Double> all = new ArrayList<>();
        for (String kind : List.of("single", "several", "relaxed", "prune")) {
            List<Double> times = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                for (Case c : cases) {
                    if (c.kind().equals(kind)) {
                        times.add(solve(c, 100 + r));
                    }
                }
            }
            all.addAll(times);
            System.out.printf("sizesolve %s cases=%d median %.2f ms worst %.2f ms%n", kind, times.size(),
                    median(times), max(times));
        }
        System.out.printf("sizesolve vertices=%d neurons=%d %.2f ms%n", m.problem.size(), m.neurons, median(all));
        System.out.printf("sizesolve vertices=%d neurons=%d worst %.2f ms%n", m.problem.size(), m.neurons, max(all));
        GraphSizeBench.run(rounds);
    }

    private static double solve(Case c, int seed) {
        SizeProblem p = Model.build(new SplittableRandom(seed), c.pruning()).problem;
        c.requests().accept(p);
        long t0 = System.nanoTime();
        SizeSolution s = SizeSolver.solve(p);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (s.status() == SizeSolution.Status.NO_CHANGE) {
            throw new IllegalStateException("sizesolve: case " + c.kind() + " gave no change: " + s.reason());
        }
        return ms;
    }

    private static List<Case> cases(Model m) {
        List<Case> cases = new ArrayList<>();
        for (int v : m.convs) {
            int delta = Math.max(1, m.problem.nout(v) / 10);
            cases.add(new Case("single", p -> p.requestExact(v, delta), false));
            cases.add(new Case("single", p -> p.requestExact(v, -delta), false));
        }
        SplittableRandom rng = new SplittableRandom(11);
        for (int c = 0; c < 40; c++) {
            int[] vs = rng.ints(3, 0, m.convs.length).map(i -> m.convs[i]).toArray();
            int[] ds = Arrays.stream(vs).map(v -> (rng.nextBoolean() ? 1 : -1) * Math.max(1, m.problem.nout(v) / 10))
                    .toArray();
            cases.add(new Case("several", p -> {
                for (int q = 0; q < vs.length; q++) {
                    p.requestExact(vs[q], ds[q]);
                }
            }, false));
            cases.add(new Case("relaxed", p -> {
                for (int q = 0; q < vs.length; q++) {
                    p.requestRelaxed(vs[q], ds[q]);
                }
            }, false));
        }
        for (int c = 0; c < 10; c++) {
            cases.add(new Case("prune", p -> p.setAllInsertBounds(0), true));
        }
        return cases;
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static double max(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    /** The AutoFlux-like model: its problem, its conv (ABSORB) vertices and its neuron count. */
    private static final class Model {
        private final SizeProblem problem = new SizeProblem();
        private final SplittableRandom rng;
        private final boolean pruning;
        private final List<Integer> convList = new ArrayList<>();
        private int[] convs;
        private int neurons;

        private Model(SplittableRandom rng, boolean pruning) {
            this.rng = rng;
            this.pruning = pruning;
        }

        static Model build(SplittableRandom rng, boolean pruning) {
            Model m = new Model(rng, pruning);
            int x = m.add(Kind.IMMUTABLE, 3, false);
            x = m.bn(m.conv(64, x));
            x = m.residual(x);
            x = m.fork(x, 32, 64, 32);
            x = m.residual(x);
            x = m.bn(m.conv(192, x));
            x = m.residual(x);
            x = m.residualFork(x, 64, 96, 32);
            x = m.joined(x, 80, 112, 128, 64);
            x = m.residual(x);
            x = m.bn(m.conv(384, x));
            x = m.residual(x);
            x = m.fork(x, 128, 192, 64);
            x = m.residual(x);
            m.add(Kind.ABSORB, 10, true, m.add(Kind.INVARIANT, m.problem.nout(x), false, x));
            m.convs = m.convList.stream().mapToInt(Integer::intValue).toArray();
            return m;
        }

        private int conv(int n, int x) {
            int v = add(Kind.ABSORB, n, true, x);
            convList.add(v);
            return v;
        }

        private int bn(int x) {
            return add(Kind.INVARIANT, problem.nout(x), false, x);
        }

        private int residual(int x) {
            int y = bn(conv(problem.nout(x), bn(conv(problem.nout(x) / 2, x))));
            return add(Kind.INVARIANT, problem.nout(x), false, x, y);
        }

        private int fork(int x, int... paths) {
            int[] ends = new int[paths.length];
            int total = 0;
            for (int k = 0; k < paths.length; k++) {
                ends[k] = bn(conv(paths[k], x));
                total += paths[k];
            }
            return add(Kind.STACK, total, false, ends);
        }

        private int residualFork(int x, int... paths) {
            int cat = fork(x, paths);
            return add(Kind.INVARIANT, problem.nout(cat), false, cat, bn(conv(problem.nout(cat), x)));
        }

        /** {@code concat(a, b) + concat(c, d)} with {@code a + b = c + d}, {@code a ≠ c}. */
        private int joined(int x, int a, int b, int c, int d) {
            int left = add(Kind.STACK, a + b, false, conv(a, x), conv(b, x));
            int right = add(Kind.STACK, c + d, false, conv(c, x), conv(d, x));
            return add(Kind.INVARIANT, a + b, false, left, right);
        }

        private int add(Kind kind, int n, boolean origin, int... inputs) {
            neurons += n;
            double[] u = null;
            if (origin) {
                u = new double[n];
                for (int i = 0; i < n; i++) {
                    u[i] = pruning && rng.nextInt(5) == 0 ? -rng.nextDouble(0.01) : rng.nextDouble(1e-4, 1e-2);
                }
            }
            return problem.add(kind, n, u, inputs);
        }
    }
}
