package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Small random size problems for the reference comparison: chains with BatchNorm-like invariants, residual adds,
 * forks into concatenations, concatenations of different block boundaries joined by an add, duplicate inputs
 * ({@code concat(a, a)}), exact, relaxed and no requests, negative utilities, insert bound 0 and min size 0.
 */
final class RandomInstances {
    private final RandomGenerator rng;
    private final SizeProblem p = new SizeProblem();
    private final List<Integer> outputs = new ArrayList<>();
    private int neurons;

    private RandomInstances(RandomGenerator rng) {
        this.rng = rng;
    }

    static SizeProblem of(RandomGenerator rng, int maxNeurons) {
        RandomInstances g = new RandomInstances(rng);
        g.build(maxNeurons);
        g.requests();
        return g.p;
    }

    private void build(int maxNeurons) {
        outputs.add(add(rng.nextInt(4) == 0 ? Kind.ABSORB : Kind.IMMUTABLE, 1 + rng.nextInt(3), false));
        int steps = 2 + rng.nextInt(5);
        for (int s = 0; s < steps && neurons < maxNeurons; s++) {
            int x = pick();
            switch (rng.nextInt(7)) {
                case 0 -> outputs.add(add(Kind.ABSORB, 1 + rng.nextInt(4), false, x));
                case 1 -> outputs.add(add(Kind.INVARIANT, p.nout(x), true, x));
                case 2 -> {
                    int y = add(Kind.ABSORB, p.nout(x), false, x);
                    int z = rng.nextBoolean() ? add(Kind.INVARIANT, p.nout(x), true, y) : y;
                    outputs.add(add(Kind.INVARIANT, p.nout(x), true, x, z));
                }
                case 3 -> fork(x);
                case 4 -> joinedConcats(x);
                case 5 -> {
                    int cat = add(Kind.STACK, 2 * p.nout(x), true, x, x);
                    outputs.add(rng.nextBoolean() ? cat
                            : add(Kind.INVARIANT, 2 * p.nout(x), true, cat, add(Kind.ABSORB, 2 * p.nout(x), false, x)));
                }
                default -> {
                    int y = pick();
                    outputs.add(add(Kind.STACK, p.nout(x) + p.nout(y), true, x, y));
                }
            }
        }
    }

    private void fork(int x) {
        int paths = 2 + rng.nextInt(2);
        int[] ends = new int[paths];
        int total = 0;
        for (int k = 0; k < paths; k++) {
            ends[k] = add(Kind.ABSORB, 1 + rng.nextInt(3), false, x);
            if (rng.nextInt(3) == 0) {
                ends[k] = add(Kind.INVARIANT, p.nout(ends[k]), true, ends[k]);
            }
            total += p.nout(ends[k]);
        }
        int cat = add(Kind.STACK, total, true, ends);
        if (rng.nextBoolean()) {
            cat = add(Kind.INVARIANT, total, true, cat, add(Kind.ABSORB, total, false, x));
        }
        outputs.add(cat);
    }

    /** {@code concat(a, b) + concat(c, d)} with {@code |a| ≠ |c|}: ties that are not nested. */
    private void joinedConcats(int x) {
        int a = 1 + rng.nextInt(3);
        int b = 1 + rng.nextInt(3);
        int c = a == 1 ? 2 : a - 1;
        int d = a + b - c;
        if (d <= 0) {
            c = a + 1;
            d = a + b - c;
            if (d <= 0) {
                c = a + b - 1;
                d = 1;
            }
        }
        int left = add(Kind.STACK, a + b, true, add(Kind.ABSORB, a, false, x), add(Kind.ABSORB, b, false, x));
        int right = add(Kind.STACK, c + d, true, add(Kind.ABSORB, c, false, x), add(Kind.ABSORB, d, false, x));
        outputs.add(add(Kind.INVARIANT, a + b, true, left, right));
    }

    private int pick() {
        return outputs.get(outputs.size() - 1 - rng.nextInt(Math.min(3, outputs.size())));
    }

    private int add(Kind kind, int nout, boolean transparent, int... inputs) {
        neurons += nout;
        return p.add(kind, nout, utility(nout, transparent), inputs);
    }

    private double[] utility(int n, boolean transparent) {
        int style = rng.nextInt(10);
        if (transparent && style < 7 || style == 0) {
            return null;
        }
        double[] u = new double[n];
        for (int i = 0; i < n; i++) {
            u[i] = style < 4 ? rng.nextDouble(-1, 2) : rng.nextDouble(0.05, 3);
            if (rng.nextInt(60) == 0) {
                u[i] = Double.NaN;
            }
        }
        return u;
    }

    private void requests() {
        int mode = rng.nextInt(10);
        if (mode < 2) {
            if (rng.nextBoolean()) {
                p.setAllInsertBounds(0);
            }
        } else {
            int count = 1 + rng.nextInt(2);
            for (int r = 0; r < count; r++) {
                int v = rng.nextInt(p.size());
                int delta = Math.max(-p.nout(v), rng.nextInt(-2, 4));
                if (rng.nextInt(10) < 6) {
                    p.requestExact(v, delta);
                } else {
                    p.requestRelaxed(v, delta);
                }
            }
            if (rng.nextInt(8) == 0) {
                p.requireEqualSize(rng.nextInt(p.size()), rng.nextInt(p.size()));
            }
        }
        int bounds = rng.nextInt(10);
        if (bounds < 2) {
            p.setAllInsertBounds(0);
        } else if (bounds < 7) {
            p.setAllInsertBounds(2 + rng.nextInt(6));
        }
        if (rng.nextInt(5) == 0) {
            p.setInsertBound(rng.nextInt(p.size()), rng.nextInt(3));
        }
        if (rng.nextInt(4) == 0) {
            p.setMinSize(rng.nextInt(p.size()), 0);
        }
    }
}
