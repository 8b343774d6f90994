package io.evonas.nas.graph.size;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.ojalgo.optimisation.Expression;
import org.ojalgo.optimisation.ExpressionsBasedModel;
import org.ojalgo.optimisation.Optimisation;
import org.ojalgo.optimisation.Variable;

/**
 * Exact solution of a {@link CountProblem} with several free atoms: a small integer program
 * <pre>
 *   max  Σ_a φ_a − 0.1·Σ_j t_j − 0.8·T − 10^5·Σ_j r_j − 8·10^5·R
 *   φ_a ≤ f_a(s) + (f_a(s+1) − f_a(s))·(k_a − s)     for the segments s in the cut set of atom a
 *   t_j ≥ ±w_j·(n_j − target_j),  T ≥ t_j,  r_j ≥ ±(n_j − goal_j),  R ≥ r_j
 *   n_j ≥ nout_j + 1  or  n_j ≤ nout_j − 1            (relaxed request with Δ_j ≠ 0: "must change")
 * </pre>
 * with {@code n_j = Σ_a mult(j, a)·(k_a + i_a)}, integer {@code k_a, i_a}, and the hard constraints of
 * {@link CountProblem}, solved by a best-first branch and bound of our own over LP relaxations solved by ojAlgo.
 * Participants whose sizes differ only by a constant (a conv and the batch norm after it) share one row for their
 * minimum, exact and side limits, and limits that the bounds of the variables already imply get no row.
 *
 * <p>{@code f_a} is concave, so its hypograph is the intersection of the half-planes of its segments, and the
 * tightest relaxation at a fractional {@code k_a} is the interpolation {@code f̂_a(k_a)} of its two neighbouring
 * points. Starting from the segments at {@code |a|−1} and around the unconstrained best {@code k*}, each LP whose
 * {@code φ_a > f̂_a(k_a)} gets the segments at {@code k_a} (both neighbours of an integral {@code k_a}, the one
 * under a fractional one) and is solved again. Every LP is a relaxation of the true problem (the cuts over-estimate
 * {@code f_a}), so its value bounds the node. Terms of vertices whose size is constant go into the lower bounds of
 * {@code T} and {@code R}.
 *
 * <p>The "must change" disjunctions are not modelled with big-M binaries: each combination of sides is its own
 * program, the side towards the goal first; the programs share the objective, so the best value found so far
 * prunes the others, most of them before any LP (see {@link #upperBound}).
 *
 * <p>The search takes the open node of highest bound (its parent's LP value) first, so it solves no LP of a node
 * whose bound falls below the optimum, and drops a node without solving it once its bound is no better than the
 * incumbent. On the 3-change benchmark cases this halves the LPs of the slowest ones against depth first, which
 * dived into long runs of near-equal insert splits (values within 10^-6 of each other) before finding the optimum.
 *
 * <p>Why not ojAlgo's own integer solver: in 57.1.0 it declared feasible count problems infeasible (with its
 * Gomory cuts), stopped at non-optimal points (without them), and its in-place bound updates (warm starts) report
 * failures on the benchmark's cases, so each node solves a fresh copy of the LP. The LPs are built in an ojAlgo
 * environment without presolvers: its presolve (BigDecimal arithmetic over every row) took more time than the
 * simplex on these models of 30 to 80 variables, and changes the model it solves.
 */
final class CountMip {
    private static final int MAX_ROUNDS = 60;
    private static final int MAX_NODES = 20_000;
    private static final double INTEGRALITY = 1e-6;
    /** Where the LP models are made: ojAlgo's defaults less the presolvers (see the class comment). */
    private static final Optimisation.Environment LP_ENVIRONMENT = lpEnvironment();

    private final CountProblem cp;
    private final Atoms atoms;
    private final ExpressionsBasedModel model = LP_ENVIRONMENT.newModel();
    private final Variable[] kept;
    private final Variable[] insert;
    private final Variable[] phi;
    private final List<Set<Integer>> cuts = new ArrayList<>();
    /** Limits on {@code n_j − base_j} by free part (see {@link #limit}): {@code {j, lower, upper}}. */
    private final Map<List<Integer>, double[]> limits = new LinkedHashMap<>();
    private int rows;

    /** Per participant: +1 "n_j ≥ nout_j + 1", −1 "n_j ≤ nout_j − 1", 0 no side constraint. */
    private final int[] side;

    private CountMip(CountProblem cp, int[] side, long timeLimitMillis) {
        this.cp = cp;
        this.side = side;
        this.atoms = cp.atoms;
        model.options.time_abort = timeLimitMillis;
        model.options.time_suffice = timeLimitMillis;
        kept = new Variable[atoms.count];
        insert = new Variable[atoms.count];
        phi = new Variable[atoms.count];
    }

    private static Optimisation.Environment lpEnvironment() {
        Optimisation.Environment environment = Optimisation.newEnvironment();
        environment.clearPresolvers();
        return environment;
    }

    /** Solves {@code cp}; ojAlgo stops after {@code timeLimitMillis} (see {@link SizeSolver} for the watchdog). */
    static Counts solve(CountProblem cp, long timeLimitMillis) {
        long deadline = System.nanoTime() + timeLimitMillis * 1_000_000L;
        List<Integer> changing = new ArrayList<>();
        for (int j = 0; j < cp.participants(); j++) {
            if (cp.mustChange[j]) {
                changing.add(j);
            }
        }
        if (changing.size() > 16) {
            return Counts.failed(changing.size() + " relaxed requests: too many sign combinations");
        }
        Counts best = Counts.infeasible();
        double[] incumbent = {Double.NEGATIVE_INFINITY};
        for (int signs = 0; signs < 1 << changing.size(); signs++) {
            int[] side = new int[cp.participants()];
            for (int q = 0; q < changing.size(); q++) {
                int j = changing.get(q);
                int preferred = cp.goal[j] >= cp.nout[j] ? 1 : -1;
                side[j] = (signs >> q & 1) == 0 ? preferred : -preferred;
            }
            if (upperBound(cp, side) <= incumbent[0]) {
                continue;
            }
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                return Counts.failed("the integer programs ran past their time limit");
            }
            CountMip mip = new CountMip(cp, side, left);
            Counts c = mip.build() ? mip.run(deadline, incumbent) : Counts.infeasible();
            if (c.state() == Counts.State.FAILED) {
                return c;
            }
            best = c.state() == Counts.State.FEASIBLE ? c : best;
        }
        return best;
    }

    /**
     * An upper bound on the LP value of any point with the given sides: the best {@code f_a} of each free atom less
     * the relaxed penalty that the sides force ({@code r_j ≥ |nout_j ± 1 − goal_j|} on the far side of the goal).
     */
    private static double upperBound(CountProblem cp, int[] side) {
        double top = 0;
        for (int a = 0; a < cp.atoms.count; a++) {
            if (!cp.atoms.fixed[a]) {
                top += Arrays.stream(cp.atoms.prefix[a]).max().orElse(0);
            }
        }
        double sum = 0;
        double max = 0;
        for (int j = 0; j < side.length; j++) {
            int nearest = cp.nout[j] + side[j];
            double r = side[j] > 0 ? Math.max(0, nearest - cp.goal[j])
                    : side[j] < 0 ? Math.max(0, cp.goal[j] - nearest) : 0;
            sum += r;
            max = Math.max(max, r);
        }
        return top - CountProblem.RELAXED_WEIGHT * (CountProblem.L1 * sum + CountProblem.MAX * max);
    }

    private boolean build() {
        for (int a = 0; a < atoms.count; a++) {
            cuts.add(new HashSet<>());
            if (atoms.fixed[a]) {
                continue;
            }
            int size = atoms.size(a);
            kept[a] = model.addVariable("k" + a).lower(0).upper(size);
            if (cp.cap[a] > 0) {
                insert[a] = model.addVariable("i" + a).lower(0).upper(cp.cap[a]);
            }
            double top = Double.NEGATIVE_INFINITY;
            int kStar = 0;
            for (int k = 0; k <= size; k++) {
                if (atoms.prefix[a][k] >= top) {
                    top = atoms.prefix[a][k];
                    kStar = k;
                }
            }
            phi[a] = model.addVariable("f" + a).upper(top).weight(1.0);
            for (int s : new int[] {size - 1, kStar - 1, kStar}) {
                addCut(a, s);
            }
        }
        int[] base = constantSizes();
        return addVertexRows(base) && addEqualities(base);
    }

    /** Sizes contributed by the fixed atoms alone. */
    private int[] constantSizes() {
        int[] k = new int[atoms.count];
        for (int a = 0; a < atoms.count; a++) {
            k[a] = atoms.fixed[a] ? atoms.size(a) : 0;
        }
        return cp.sizes(k, new int[atoms.count]);
    }

    private boolean addVertexRows(int[] base) {
        Variable bigT = model.addVariable("T").lower(0).weight(-CountProblem.MAX);
        Variable bigR = model.addVariable("R").lower(0).weight(-CountProblem.MAX * CountProblem.RELAXED_WEIGHT);
        double lowT = 0;
        double lowR = 0;
        for (int j = 0; j < cp.participants(); j++) {
            boolean varies = false;
            for (int a : atoms.vertexAtoms[j]) {
                varies |= !atoms.fixed[a];
            }
            if (!varies) {
                int n = base[j];
                if (n < cp.min[j] || cp.exact[j] >= 0 && n != cp.exact[j] || cp.mustChange[j] && n == cp.nout[j]) {
                    return false;
                }
                lowT = Math.max(lowT, cp.weight[j] * Math.abs(n - cp.target[j]));
                lowR = cp.goal[j] >= 0 ? Math.max(lowR, Math.abs(n - cp.goal[j])) : lowR;
                continue;
            }
            limit(j, cp.min[j] - base[j], Double.POSITIVE_INFINITY);
            if (cp.exact[j] >= 0) {
                limit(j, cp.exact[j] - base[j], cp.exact[j] - base[j]);
            }
            if (side[j] > 0) {
                limit(j, cp.nout[j] + 1 - base[j], Double.POSITIVE_INFINITY);
            } else if (side[j] < 0) {
                limit(j, Double.NEGATIVE_INFINITY, cp.nout[j] - 1 - base[j]);
            }
            insertRow(j);
            if (cp.weight[j] > 0) {
                absTerm(j, "t", cp.weight[j], cp.target[j] - base[j], CountProblem.L1, bigT);
            }
            if (cp.goal[j] >= 0) {
                absTerm(j, "r", 1.0, cp.goal[j] - base[j], CountProblem.L1 * CountProblem.RELAXED_WEIGHT, bigR);
            }
        }
        bigT.lower(lowT);
        bigR.lower(lowR);
        return addLimitRows();
    }

    /**
     * Notes {@code lower ≤ n_j − base_j ≤ upper}. Participants with the same free part {@code (a, mult(j, a))} share
     * one row, with the tightest of their limits.
     */
    private void limit(int j, double lower, double upper) {
        List<Integer> freePart = new ArrayList<>();
        for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
            if (!atoms.fixed[atoms.vertexAtoms[j][q]]) {
                freePart.add(atoms.vertexAtoms[j][q]);
                freePart.add(atoms.vertexMult[j][q]);
            }
        }
        double[] l = limits.computeIfAbsent(freePart, key -> new double[] {j, 0, Double.POSITIVE_INFINITY});
        l[1] = Math.max(l[1], lower);
        l[2] = Math.min(l[2], upper);
    }

    /**
     * Adds a row per noted free part, none where only {@code ≥ 0} is left (the free part is a sum of non-negative
     * variables); false if some limits cross.
     */
    private boolean addLimitRows() {
        for (double[] l : limits.values()) {
            if (l[1] > l[2]) {
                return false;
            }
            if (l[1] > 0 || l[2] < Double.POSITIVE_INFINITY) {
                Expression e = sizeRow((int) l[0], "size" + (int) l[0]);
                if (l[1] > 0) {
                    e.lower(l[1]);
                }
                if (l[2] < Double.POSITIVE_INFINITY) {
                    e.upper(l[2]);
                }
            }
        }
        return true;
    }

    /** A row holding {@code n_j − base_j = Σ_free mult·(k + i)}. */
    private Expression sizeRow(int j, String name) {
        Expression e = model.addExpression(name + "_" + rows++);
        for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
            int a = atoms.vertexAtoms[j][q];
            if (!atoms.fixed[a]) {
                e.set(kept[a], atoms.vertexMult[j][q]);
                if (insert[a] != null) {
                    e.set(insert[a], atoms.vertexMult[j][q]);
                }
            }
        }
        return e;
    }

    /** {@code Σ mult·i ≤ bound_j}, where it involves two or more inserts and their caps do not imply it. */
    private void insertRow(int j) {
        int free = 0;
        long most = 0;
        for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
            int a = atoms.vertexAtoms[j][q];
            if (insert[a] != null) {
                free++;
                most += (long) atoms.vertexMult[j][q] * cp.cap[a];
            }
        }
        if (free < 2 || most <= cp.bound[j]) {
            return;
        }
        Expression e = model.addExpression("bound" + j + "_" + rows++).upper(cp.bound[j]);
        for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
            int a = atoms.vertexAtoms[j][q];
            if (insert[a] != null) {
                e.set(insert[a], atoms.vertexMult[j][q]);
            }
        }
    }

    /** {@code t ≥ ±w·(n − base − centre)}, {@code max ≥ t}, {@code t} weighted {@code −l1}. */
    private void absTerm(int j, String name, double w, double centre, double l1, Variable max) {
        Variable t = model.addVariable(name + j).lower(0).weight(-l1);
        Expression up = sizeRow(j, name + "up" + j);
        scale(up, j, -w);
        up.set(t, 1.0).lower(-w * centre);
        Expression down = sizeRow(j, name + "down" + j);
        scale(down, j, w);
        down.set(t, 1.0).lower(w * centre);
        model.addExpression(name + "max" + j + "_" + rows++).set(max, 1.0).set(t, -1.0).lower(0);
    }

    private void scale(Expression e, int j, double w) {
        for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
            int a = atoms.vertexAtoms[j][q];
            if (!atoms.fixed[a]) {
                e.set(kept[a], w * atoms.vertexMult[j][q]);
                if (insert[a] != null) {
                    e.set(insert[a], w * atoms.vertexMult[j][q]);
                }
            }
        }
    }

    private boolean addEqualities(int[] base) {
        for (int[] pair : cp.equal) {
            Expression e = model.addExpression("eq_" + rows++);
            boolean any = false;
            for (int side = 0; side < 2; side++) {
                int j = pair[side];
                double sign = side == 0 ? 1 : -1;
                for (int q = 0; q < atoms.vertexAtoms[j].length; q++) {
                    int a = atoms.vertexAtoms[j][q];
                    if (!atoms.fixed[a]) {
                        any = true;
                        double m = sign * atoms.vertexMult[j][q];
                        e.add(kept[a], m);
                        if (insert[a] != null) {
                            e.add(insert[a], m);
                        }
                    }
                }
            }
            int level = base[pair[1]] - base[pair[0]];
            if (!any && level != 0) {
                return false;
            }
            e.level(level);
        }
        return true;
    }

    /** {@code φ_a ≤ f_a(s) + slope_s·(k_a − s)}, i.e. {@code φ_a − slope_s·k_a ≤ f_a(s) − slope_s·s}. */
    private boolean addCut(int a, int s) {
        int size = atoms.size(a);
        if (s < 0 || s >= size || !cuts.get(a).add(s)) {
            return false;
        }
        double slope = atoms.prefix[a][s + 1] - atoms.prefix[a][s];
        model.addExpression("cut" + a + "_" + s).set(phi[a], 1.0).set(kept[a], -slope)
                .upper(atoms.prefix[a][s] - slope * s);
        return true;
    }

    /**
     * A node of the search: bounds on {@code k_a} ({@code 2a}) and {@code i_a} ({@code 2a+1}), the LP value of its
     * parent (an upper bound on every point in it) and its creation number.
     */
    private record Node(int[] lower, int[] upper, double bound, int order) {
        /** Highest bound first; among equal bounds the latest, so ties are searched depth first. */
        static final Comparator<Node> BEST_FIRST = Comparator.comparingDouble(Node::bound)
                .thenComparingInt(Node::order).reversed();
    }

    /**
     * Best-first branch and bound over LP relaxations, pruning against {@code incumbent[0]} (the LP value of the
     * best point of earlier sign combinations, which share the objective) and raising it; "infeasible" means
     * nothing better than the incumbent. A node's LP value bounds every integer point below it (the
     * cuts over-estimate the concave {@code f_a}), so a node is dropped, before its LP when its parent's value
     * already says so, once it cannot beat the incumbent; the child on the side nearer the LP value is made last,
     * so it is taken first among equal bounds.
     */
    private Counts run(long deadline, double[] incumbent) {
        Variable[] vars = new Variable[2 * atoms.count];
        int[] lower = new int[vars.length];
        int[] upper = new int[vars.length];
        for (int a = 0; a < atoms.count; a++) {
            vars[2 * a] = kept[a];
            vars[2 * a + 1] = insert[a];
            upper[2 * a] = kept[a] == null ? 0 : atoms.size(a);
            upper[2 * a + 1] = insert[a] == null ? 0 : cp.cap[a];
        }
        PriorityQueue<Node> open = new PriorityQueue<>(Node.BEST_FIRST);
        open.add(new Node(lower, upper, Double.POSITIVE_INFINITY, 0));
        double bestValue = incumbent[0];
        double[] best = null;
        int made = 1;
        for (int nodes = 0; !open.isEmpty(); ) {
            Node node = open.poll();
            if (!better(node.bound(), bestValue)) {
                continue;
            }
            if (nodes++ >= MAX_NODES || System.nanoTime() > deadline) {
                return Counts.failed("branch and bound stopped after " + nodes + " nodes (time or node limit)");
            }
            double[] x = solveNode(vars, node, deadline);
            if (x == null) {
                return Counts.failed("ojAlgo's LP solver failed");
            }
            if (x.length == 0 || !better(x[vars.length], bestValue)) {
                continue;
            }
            int branch = mostFractional(x, vars.length);
            if (branch < 0) {
                bestValue = x[vars.length];
                best = x;
                continue;
            }
            double value = x[branch];
            boolean upFirst = value - Math.floor(value) >= 0.5;
            Node down = new Node(node.lower(), node.upper().clone(), x[vars.length], made + (upFirst ? 0 : 1));
            down.upper()[branch] = (int) Math.floor(value);
            Node up = new Node(node.lower().clone(), node.upper(), x[vars.length], made + (upFirst ? 1 : 0));
            up.lower()[branch] = (int) Math.ceil(value);
            made += 2;
            open.add(down);
            open.add(up);
        }
        if (best == null) {
            return Counts.infeasible();
        }
        incumbent[0] = bestValue;
        int[] k = new int[atoms.count];
        int[] ins = new int[atoms.count];
        for (int a = 0; a < atoms.count; a++) {
            k[a] = atoms.fixed[a] ? atoms.size(a) : (int) Math.round(best[2 * a]);
            ins[a] = (int) Math.round(best[2 * a + 1]);
        }
        return Counts.feasible(k, ins);
    }

    /** Whether {@code value} beats {@code best} (possibly −∞) by more than the LP tolerance. */
    private static boolean better(double value, double best) {
        return best == Double.NEGATIVE_INFINITY || value > best + 1e-9 * (1 + Math.abs(best));
    }

    /**
     * Solves the LP of the current bounds, adding cuts until {@code φ_a ≤ f̂_a(k_a)}. Each solve works on a fresh
     * copy of the model.
     * Returns the values of {@code k_0, i_0, k_1, i_1, ...} then the LP value; an empty array if the LP is
     * infeasible; null if ojAlgo failed.
     */
    private double[] solveNode(Variable[] vars, Node node, long deadline) {
        for (int round = 0; round < MAX_ROUNDS; round++) {
            ExpressionsBasedModel lp = model.copy();
            for (int q = 0; q < vars.length; q++) {
                if (vars[q] != null) {
                    lp.getVariable(vars[q].getIndex()).lower(node.lower()[q]).upper(node.upper()[q]);
                }
            }
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000L);
            lp.options.time_abort = left;
            lp.options.time_suffice = left;
            Optimisation.Result result = lp.maximise();
            Optimisation.State state = result.getState();
            if (state == Optimisation.State.INFEASIBLE) {
                return new double[0];
            }
            if (!state.isOptimal()) {
                return null;
            }
            double[] x = new double[2 * atoms.count + 1];
            boolean violated = false;
            for (int a = 0; a < atoms.count; a++) {
                if (kept[a] == null) {
                    continue;
                }
                x[2 * a] = result.doubleValue(kept[a].getIndex().index);
                x[2 * a + 1] = insert[a] == null ? 0 : result.doubleValue(insert[a].getIndex().index);
                violated |= addCutsAt(a, x[2 * a], result.doubleValue(phi[a].getIndex().index));
            }
            x[x.length - 1] = result.getValue();
            if (!violated) {
                return x;
            }
        }
        return null;
    }

    /**
     * Adds the segments at {@code k} if {@code φ} exceeds {@code f̂_a(k)}: both neighbours of an integral {@code k},
     * the segment under a fractional one. Returns whether a cut was added.
     */
    private boolean addCutsAt(int a, double k, double phiValue) {
        int size = atoms.size(a);
        long nearest = Math.round(k);
        if (Math.abs(k - nearest) <= INTEGRALITY) {
            int at = (int) Math.clamp(nearest, 0, size);
            double f = atoms.prefix[a][at];
            return better(phiValue, f) && (addCut(a, at - 1) | addCut(a, at));
        }
        int s = (int) Math.clamp((long) Math.floor(k), 0, size - 1);
        double f = atoms.prefix[a][s] + (atoms.prefix[a][s + 1] - atoms.prefix[a][s]) * (k - s);
        return better(phiValue, f) && addCut(a, s);
    }

    private static int mostFractional(double[] x, int n) {
        int best = -1;
        double bestDistance = INTEGRALITY;
        for (int q = 0; q < n; q++) {
            double distance = Math.abs(x[q] - Math.rint(x[q]));
            if (distance > bestDistance) {
                best = q;
                bestDistance = distance;
            }
        }
        return best;
    }
}
