package io.evonas.nas.graph.size;

import io.evonas.nas.graph.size.SizeProblem.Request;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Chooses which output neurons each vertex of a {@link SizeProblem} keeps and where new ones go, exactly
 * maximising NaiveNASlib's neuron-selection objective (its {@code NeuronIndices} MILP) without one variable per
 * neuron.
 *
 * <h2>The objective</h2>
 * Over the participants ({@link SizeProblem#participants()}), with {@code s_c ∈ {0,1}} "class c keeps its neuron",
 * {@code a_c ≥ 0} "new neurons after class c" and {@code n_v = Σ_{(v,i)} (s_c(v,i) + a_c(v,i))}, maximise
 * <pre>
 *   Σ_c U_c·s_c − [0.1·Σ_v t_v + 0.8·max_v t_v] − 10^6·[0.1·Σ_v r_v + 0.8·max_v r_v]
 *   t_v = scale_v·|n_v − target_v| / target_v      vertices without a request (not IMMUTABLE)
 *   r_v = |n_v − nout_v − Δ_v|                     vertices with a relaxed request
 * </pre>
 * subject to {@code n_v = nout_v + Δ_v} (exact requests), {@code n_v ≠ nout_v} (relaxed requests with
 * {@code Δ_v ≠ 0}), {@code n_v ≥ minSize_v}, {@code n_a = n_b} (equalities), at most {@code insertBound_v}
 * new neurons in {@code v}, and IMMUTABLE vertices keep everything and insert nothing. {@code U_c} sums the
 * utilities of the positions in class {@code c}; new neurons are worth 0. {@code target_v = max(1, nout_v −
 * #{i: u_v[i] < 0})}. {@code scale_v = max_i |u_v[i]|}; when that is 0, an ABSORB vertex takes the largest
 * {@code |u|} of all participants (1 if all are 0), so its size term is on the scale of the utilities it competes
 * with, while a STACK or INVARIANT vertex gets no size term of its own, its size being that of the origin
 * vertices it is tied to (as in NaiveNASlib, where a zero utility gives a zero weight). A vertex with an exact
 * request has no size term. The reported {@link SizeSolution#objective()} is this value.
 *
 * <h2>The method</h2>
 * Tied positions are merged into classes ({@link TieClasses}), classes with identical vertex multisets into atoms
 * ({@link Atoms}), inside which keeping the best {@code k} is optimal and new neurons are interchangeable; the
 * problem left is over per-atom counts ({@link CountProblem}). With one free atom it is solved by a scan
 * ({@link CountScan}), otherwise by a branch and bound over LP relaxations solved by ojAlgo ({@link CountMip}),
 * limited by its own deadline and by a watchdog thread (ojAlgo may overrun a time limit); either giving up yields
 * {@link SizeSolution.Status#NO_CHANGE}. Among equally good solutions, old neurons are kept rather than replaced by
 * new ones of equal value, and new neurons go after the last position of their atom. NaiveNASlib's small penalty
 * on early insert positions is not part of the objective; the slot rule plays its part.
 *
 * <h2>Order of attempts</h2>
 * {@link #solve} tries the requests as given; if they are infeasible it logs a warning and treats every exact
 * request as relaxed ({@link SizeSolution.Status#RELAXED}); if that fails too it logs a warning and returns
 * identity lists ({@link SizeSolution.Status#NO_CHANGE}). {@link #solveExact} throws instead.
 * <pre>{@code
 * SizeSolution s = SizeSolver.solve(problem);                       // never throws for an infeasible request
 * SizeSolution t = SizeSolver.solveExact(problem);                  // throws SizeChangeException
 * }</pre>
 */
public final class SizeSolver {
    /** The time limit of the integer search per attempt; the watchdog waits twice this plus 200 ms. */
    public static final Duration DEFAULT_TIME_LIMIT = Duration.ofSeconds(2);

    private static final System.Logger LOG = System.getLogger(SizeSolver.class.getName());
    private static final ExecutorService WATCHED = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "size-solver-mip");
        t.setDaemon(true);
        return t;
    });

    private SizeSolver() {
    }

    /** Solves with {@link #DEFAULT_TIME_LIMIT}: exact, else relaxed, else no change (see the class comment). */
    public static SizeSolution solve(SizeProblem problem) {
        return solve(problem, DEFAULT_TIME_LIMIT);
    }

    /** Solves exact, else relaxed, else no change, giving the integer search {@code limit} per attempt. */
    public static SizeSolution solve(SizeProblem problem, Duration limit) {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(limit, "limit");
        Atoms atoms = atoms(problem);
        CountProblem exact = new CountProblem(problem, atoms, false);
        Counts counts = counts(exact, limit);
        if (counts.state() == Counts.State.FEASIBLE) {
            return solution(problem, exact, counts, SizeSolution.Status.EXACT, "");
        }
        if (counts.state() == Counts.State.FAILED) {
            return giveUp(problem, "solver gave up on " + describeRequests(problem) + ": " + counts.reason());
        }
        if (!hasExactRequest(problem)) {
            return giveUp(problem, "no sizes satisfy " + describeRequests(problem));
        }
        String reason = "could not change " + describeRequests(problem) + "; relaxing";
        LOG.log(Level.WARNING, reason);
        CountProblem relaxed = new CountProblem(problem, atoms, true);
        Counts soft = counts(relaxed, limit);
        if (soft.state() == Counts.State.FEASIBLE) {
            return solution(problem, relaxed, soft, SizeSolution.Status.RELAXED, reason);
        }
        String why = soft.state() == Counts.State.FAILED ? soft.reason() : "infeasible even when relaxed";
        return giveUp(problem, "could not change " + describeRequests(problem) + ": " + why + "; attempt aborted");
    }

    /** Solves the requests exactly with {@link #DEFAULT_TIME_LIMIT}, or throws. */
    public static SizeSolution solveExact(SizeProblem problem) {
        return solveExact(problem, DEFAULT_TIME_LIMIT);
    }

    /**
     * Solves the requests exactly, or throws.
     *
     * @throws SizeChangeException if no sizes satisfy the exact requests and constraints, or the solver gave up;
     *                             the message names the requests and, where one alone is impossible, that one
     */
    public static SizeSolution solveExact(SizeProblem problem, Duration limit) {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(limit, "limit");
        CountProblem exact = new CountProblem(problem, atoms(problem), false);
        Counts counts = counts(exact, limit);
        return switch (counts.state()) {
            case FEASIBLE -> solution(problem, exact, counts, SizeSolution.Status.EXACT, "");
            case FAILED -> throw new SizeChangeException("size solver gave up on " + describeRequests(problem)
                    + ": " + counts.reason());
            case INFEASIBLE -> throw new SizeChangeException("no sizes satisfy " + describeRequests(problem)
                    + Diagnosis.culprit(problem, limit));
        };
    }

    static Atoms atoms(SizeProblem problem) {
        return Atoms.of(problem, TieClasses.of(problem, problem.participants()));
    }

    /** Solves the count problem: by a scan with at most one free atom, else by the watched integer program. */
    static Counts counts(CountProblem cp, Duration limit) {
        int free = 0;
        for (boolean fixed : cp.atoms.fixed) {
            free += fixed ? 0 : 1;
        }
        Counts counts = free <= 1 ? CountScan.solve(cp) : watched(cp, limit);
        if (counts.state() == Counts.State.FEASIBLE && Double.isNaN(cp.evaluate(counts.kept(), counts.insert()))) {
            return Counts.failed("the integer program's rounded solution breaks a constraint");
        }
        return counts.preferKept(cp.atoms);
    }

    private static Counts watched(CountProblem cp, Duration limit) {
        long millis = Math.max(1, limit.toMillis());
        Future<Counts> f = WATCHED.submit(() -> CountMip.solve(cp, millis));
        try {
            return f.get(2 * millis + 200, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            return Counts.failed("the integer program overran its " + millis + " ms limit; watchdog stopped it");
        } catch (ExecutionException e) {
            return Counts.failed("the integer program threw " + e.getCause());
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            return Counts.failed("interrupted while waiting for the integer program");
        }
    }

    private static SizeSolution solution(SizeProblem p, CountProblem cp, Counts counts, SizeSolution.Status status,
            String reason) {
        double objective = cp.evaluate(counts.kept(), counts.insert());
        return new SizeSolution(status, Selection.outputs(p, cp, counts), objective, reason);
    }

    private static SizeSolution giveUp(SizeProblem p, String reason) {
        LOG.log(Level.WARNING, reason);
        return SizeSolution.noChange(p, reason);
    }

    private static boolean hasExactRequest(SizeProblem p) {
        for (int v = 0; v < p.size(); v++) {
            Request r = p.request(v);
            if (r != null && r.exact()) {
                return true;
            }
        }
        return false;
    }

    /** E.g. {@code "nout of vertex 3 (ABSORB) 8 -> 10 exact, vertex 5 (STACK) 4 -> 3 relaxed, n(2) = n(7)"}. */
    static String describeRequests(SizeProblem p) {
        StringBuilder sb = new StringBuilder();
        for (int v = 0; v < p.size(); v++) {
            Request r = p.request(v);
            if (r != null) {
                sb.append(sb.isEmpty() ? "nout of " : ", ").append("vertex ").append(v).append(" (")
                        .append(p.kind(v)).append(") ").append(p.nout(v)).append(" -> ").append(p.nout(v) + r.delta())
                        .append(r.exact() ? " exact" : " relaxed");
            }
        }
        for (int[] e : p.equalities()) {
            sb.append(sb.isEmpty() ? "" : ", ").append("nout(").append(e[0]).append(") = nout(").append(e[1])
                    .append(')');
        }
        return sb.isEmpty() ? "the pruning problem (no requests)" : sb.toString();
    }
}
