package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Kind;
import io.evonas.nas.graph.size.SizeProblem.Request;
import java.util.List;
import java.util.Optional;
import org.ojalgo.optimisation.Expression;
import org.ojalgo.optimisation.ExpressionsBasedModel;
import org.ojalgo.optimisation.Variable;

/**
 * The plain per-neuron MILP of NaiveNASlib (one keep binary {@code s[v][i]} and one insert integer
 * {@code a[v][i]} per participating (vertex, position), an equality per tie), with the objective of
 * {@link SizeSolver} written out directly. Only for small instances: it is the oracle of the structured solver.
 */
final class ReferenceMilp {
    /** The reference outcome: lists when solved to optimality, else empty; {@code infeasible} when proved so. */
    record Outcome(Optional<int[][]> lists, boolean infeasible, String state) {
    }

    private final SizeProblem p;
    private final boolean relaxedMode;
    private final boolean[] part;
    private final ExpressionsBasedModel model = new ExpressionsBasedModel();
    private final Variable[][] keep;
    private final Variable[][] insert;
    private int rows;

    private ReferenceMilp(SizeProblem p, boolean relaxedMode) {
        this.p = p;
        this.relaxedMode = relaxedMode;
        this.part = p.participants();
        keep = new Variable[p.size()][];
        insert = new Variable[p.size()][];
    }

    static Outcome solve(SizeProblem p, boolean relaxedMode) {
        return new ReferenceMilp(p, relaxedMode).run();
    }

    private Outcome run() {
        double global = 0;
        for (int v = 0; v < p.size(); v++) {
            if (part[v]) {
                for (double u : p.utility(v)) {
                    global = Math.max(global, Math.abs(u));
                }
            }
        }
        global = global == 0 ? 1 : global;
        for (int v = 0; v < p.size(); v++) {
            if (part[v]) {
                variables(v);
            }
        }
        Variable bigT = model.addVariable("T").lower(0).weight(-0.8);
        Variable bigR = model.addVariable("R").lower(0).weight(-0.8e6);
        for (int v = 0; v < p.size(); v++) {
            if (part[v]) {
                ties(v);
                vertexRows(v, global, bigT, bigR);
            }
        }
        for (int[] e : p.equalities()) {
            Expression x = model.addExpression("eq" + rows++).level(0);
            addSize(x, e[0], 1);
            addSize(x, e[1], -1);
        }
        List<Variable> integers = model.getVariables().stream().filter(Variable::isInteger).toList();
        LpBranchAndBound.Result r = LpBranchAndBound.maximise(model, integers, 200_000);
        if (r.values() == null) {
            return new Outcome(Optional.empty(), r.infeasible(), r.state());
        }
        return new Outcome(Optional.of(lists(r.values())), false, r.state());
    }

    private void variables(int v) {
        int n = p.nout(v);
        double[] u = p.utility(v);
        keep[v] = new Variable[n];
        insert[v] = new Variable[n];
        boolean fixed = p.kind(v) == Kind.IMMUTABLE;
        for (int i = 0; i < n; i++) {
            keep[v][i] = model.addVariable("s" + v + "_" + i).binary().weight(u[i]);
            insert[v][i] = model.addVariable("a" + v + "_" + i).integer(true).lower(0)
                    .upper(fixed ? 0 : p.insertBound(v));
            if (fixed) {
                keep[v][i].lower(1);
            }
        }
    }

    private void ties(int v) {
        Kind kind = p.kind(v);
        if (kind != Kind.STACK && kind != Kind.INVARIANT) {
            return;
        }
        int offset = 0;
        for (int u : p.inputs(v)) {
            for (int i = 0; i < p.nout(u); i++) {
                model.addExpression("tieS" + rows++).set(keep[v][offset + i], 1).set(keep[u][i], -1).level(0);
                model.addExpression("tieA" + rows++).set(insert[v][offset + i], 1).set(insert[u][i], -1).level(0);
            }
            offset += kind == Kind.STACK ? p.nout(u) : 0;
        }
    }

    private void addSize(Expression e, int v, double c) {
        for (int i = 0; i < p.nout(v); i++) {
            e.add(keep[v][i], c);
            e.add(insert[v][i], c);
        }
    }

    private void vertexRows(int v, double global, Variable bigT, Variable bigR) {
        int nout = p.nout(v);
        Expression min = model.addExpression("min" + rows++).lower(p.minSize(v));
        addSize(min, v, 1);
        Expression ins = model.addExpression("bound" + rows++).upper(p.insertBound(v));
        for (int i = 0; i < nout; i++) {
            ins.set(insert[v][i], 1);
        }
        Request r = p.request(v);
        if (r != null && r.exact() && !relaxedMode) {
            Expression e = model.addExpression("exact" + rows++).level(nout + r.delta());
            addSize(e, v, 1);
        } else if (r != null) {
            absolute(v, 1.0, nout + r.delta(), 0.1e6, bigR);
            if (r.delta() != 0) {
                mustChange(v);
            }
        } else if (p.kind(v) != Kind.IMMUTABLE) {
            double w = SolutionCheck.sizeWeight(p, v, global);
            if (w > 0) {
                absolute(v, w, SolutionCheck.target(p, v), 0.1, bigT);
            }
        }
    }

    /**
     * {@code n_v ≠ nout_v} as {@code n_v = nout_v + up − down} with binary {@code b}: {@code b ≤ up ≤ U·b},
     * {@code 1 − b ≤ down ≤ nout_v·(1 − b)}, {@code U} the most {@code v} can grow.
     */
    private void mustChange(int v) {
        int nout = p.nout(v);
        int grow = nout * (1 + p.insertBound(v));
        Variable b = model.addVariable("b" + v).binary();
        Variable up = model.addVariable("up" + v).integer(true).lower(0).upper(grow);
        Variable down = model.addVariable("down" + v).integer(true).lower(0).upper(nout);
        Expression e = model.addExpression("change" + rows++).set(up, -1).set(down, 1).level(nout);
        addSize(e, v, 1);
        model.addExpression("upLo" + rows++).set(up, 1).set(b, -1).lower(0);
        model.addExpression("upHi" + rows++).set(up, 1).set(b, -grow).upper(0);
        model.addExpression("downLo" + rows++).set(down, 1).set(b, 1).lower(1);
        model.addExpression("downHi" + rows++).set(down, 1).set(b, nout).upper(nout);
    }

    /** {@code t ≥ ±w·(n_v − centre)}, {@code max ≥ t}, objective {@code −l1·t}. */
    private void absolute(int v, double w, double centre, double l1, Variable max) {
        Variable t = model.addVariable("t" + v).lower(0).weight(-l1);
        Expression up = model.addExpression("up" + rows++).set(t, 1).lower(-w * centre);
        addSize(up, v, -w);
        Expression down = model.addExpression("down" + rows++).set(t, 1).lower(w * centre);
        addSize(down, v, w);
        model.addExpression("max" + rows++).set(max, 1).set(t, -1).lower(0);
    }

    private int[][] lists(double[] r) {
        int[][] out = SizeSolution.identity(p);
        for (int v = 0; v < p.size(); v++) {
            if (!part[v]) {
                continue;
            }
            int[] list = new int[0];
            for (int i = 0; i < p.nout(v); i++) {
                int s = (int) Math.round(r[keep[v][i].getIndex().index]);
                int a = (int) Math.round(r[insert[v][i].getIndex().index]);
                int len = list.length;
                list = java.util.Arrays.copyOf(list, len + s + a);
                if (s == 1) {
                    list[len++] = i;
                }
                for (int q = 0; q < a; q++) {
                    list[len++] = -1;
                }
            }
            out[v] = list;
        }
        return out;
    }
}
