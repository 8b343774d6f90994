package io.evonas.nas.graph.size;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.ojalgo.optimisation.ExpressionsBasedModel;
import org.ojalgo.optimisation.Optimisation;
import org.ojalgo.optimisation.Variable;

/**
 * A plain depth-first branch and bound over ojAlgo LP relaxations, for the reference MILP. ojAlgo 57.1.0's own
 * integer search declared feasible problems infeasible (with its Gomory cuts) and stopped at non-optimal points
 * (without them), so the oracle uses only its LP solver, on a fresh copy of the model per node.
 */
final class LpBranchAndBound {
    /** The best integer point: variable values by model index, or null; {@code infeasible} when none exists. */
    record Result(double[] values, boolean infeasible, String state) {
    }

    private record Node(double[] lower, double[] upper) {
    }

    private LpBranchAndBound() {
    }

    static Result maximise(ExpressionsBasedModel model, List<Variable> integers, int maxNodes) {
        int n = integers.size();
        double[] lower = new double[n];
        double[] upper = new double[n];
        for (int q = 0; q < n; q++) {
            lower[q] = integers.get(q).getLowerLimit().doubleValue();
            upper[q] = integers.get(q).getUpperLimit().doubleValue();
        }
        Deque<Node> open = new ArrayDeque<>();
        open.push(new Node(lower, upper));
        double bestValue = Double.NEGATIVE_INFINITY;
        double[] best = null;
        for (int nodes = 0; !open.isEmpty(); nodes++) {
            if (nodes >= maxNodes) {
                return new Result(null, false, "node limit " + maxNodes);
            }
            Node node = open.pop();
            ExpressionsBasedModel lp = model.copy();
            lp.relax();
            for (int q = 0; q < n; q++) {
                lp.getVariable(integers.get(q).getIndex()).lower(node.lower()[q]).upper(node.upper()[q]);
            }
            Optimisation.Result r = lp.maximise();
            if (r.getState() == Optimisation.State.INFEASIBLE) {
                continue;
            }
            if (!r.getState().isOptimal()) {
                return new Result(null, false, "LP " + r.getState());
            }
            if (r.getValue() <= bestValue + 1e-9 * (1 + Math.abs(bestValue))) {
                continue;
            }
            int branch = -1;
            double far = 1e-6;
            for (int q = 0; q < n; q++) {
                double x = r.doubleValue(integers.get(q).getIndex().index);
                if (Math.abs(x - Math.rint(x)) > far) {
                    far = Math.abs(x - Math.rint(x));
                    branch = q;
                }
            }
            if (branch < 0) {
                bestValue = r.getValue();
                best = new double[(int) r.count()];
                for (int i = 0; i < best.length; i++) {
                    best[i] = r.doubleValue(i);
                }
                continue;
            }
            double x = r.doubleValue(integers.get(branch).getIndex().index);
            Node down = new Node(node.lower(), node.upper().clone());
            down.upper()[branch] = Math.floor(x);
            Node up = new Node(node.lower().clone(), node.upper());
            up.lower()[branch] = Math.ceil(x);
            boolean upFirst = x - Math.floor(x) >= 0.5;
            open.push(upFirst ? down : up);
            open.push(upFirst ? up : down);
        }
        return best == null ? new Result(null, true, "INFEASIBLE") : new Result(best, false, "OPTIMAL");
    }
}
