package io.evonas.nas.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A computation graph from input vertices to output vertices. The graph holds only its inputs and outputs; every
 * vertex holds its own edges, so the graph is whatever is reachable backwards from the outputs. Structural and
 * size changes go through {@link GraphEdits} and {@link SizeChanges}, which keep every vertex's sizes in
 * agreement with its inputs and leave the graph untouched when they fail.
 */
public final class CompGraph {
    private final List<Vertex> inputs;
    private final List<Vertex> outputs;

    /**
     * @throws IllegalArgumentException when an input is not an input vertex, or an output cannot be reached from
     *     the inputs
     */
    public CompGraph(List<Vertex> inputs, List<Vertex> outputs) {
        this.inputs = new ArrayList<>(inputs);
        this.outputs = new ArrayList<>(outputs);
        if (inputs.isEmpty() || outputs.isEmpty()) {
            throw new IllegalArgumentException("graph: needs at least one input and one output");
        }
        for (Vertex v : inputs) {
            if (!(v.computation() instanceof Input)) {
                throw new IllegalArgumentException("graph: " + v + " is not an input vertex");
            }
        }
        Set<Vertex> reached = Collections.newSetFromMap(new IdentityHashMap<>());
        reached.addAll(vertices());
        for (Vertex v : reached) {
            if (v.computation() instanceof Input && !this.inputs.contains(v)) {
                throw new IllegalArgumentException("graph: input vertex " + v + " feeds the outputs but is not one "
                        + "of the graph's inputs " + this.inputs);
            }
        }
    }

    public CompGraph(Vertex input, Vertex output) {
        this(List.of(input), List.of(output));
    }

    public List<Vertex> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public List<Vertex> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    List<Vertex> outputList() {
        return outputs;
    }

    /**
     * Every vertex, each after all its inputs: a depth-first order from the outputs, inputs first in the order
     * the vertices read them. Deterministic for a given graph.
     */
    public List<Vertex> vertices() {
        Set<Vertex> done = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Vertex> order = new ArrayList<>();
        for (Vertex in : inputs) {
            if (done.add(in)) {
                order.add(in);
            }
        }
        record Frame(Vertex v, int next) {
        }
        Deque<Frame> stack = new ArrayDeque<>();
        for (Vertex out : outputs) {
            if (done.contains(out)) {
                continue;
            }
            Set<Vertex> open = Collections.newSetFromMap(new IdentityHashMap<>());
            stack.push(new Frame(out, 0));
            open.add(out);
            while (!stack.isEmpty()) {
                Frame f = stack.pop();
                List<Vertex> ins = f.v.inputList();
                int i = f.next;
                while (i < ins.size() && done.contains(ins.get(i))) {
                    i++;
                }
                if (i == ins.size()) {
                    done.add(f.v);
                    order.add(f.v);
                    continue;
                }
                Vertex in = ins.get(i);
                if (!open.add(in)) {
                    throw new IllegalStateException("graph: cycle through " + in);
                }
                stack.push(new Frame(f.v, i + 1));
                stack.push(new Frame(in, 0));
            }
        }
        return order;
    }

    /** Number of vertices. */
    public int size() {
        return vertices().size();
    }

    /** The vertex named {@code name}. */
    public Vertex vertex(String name) {
        for (Vertex v : vertices()) {
            if (v.name().equals(name)) {
                return v;
            }
        }
        throw new IllegalArgumentException("graph: no vertex named '" + name + "'");
    }

    /** One vertex's work in an evaluation: its value from its inputs' values. */
    @FunctionalInterface
    public interface Evaluator<T> {
        T apply(Vertex vertex, List<T> inputs);
    }

    /**
     * Evaluates the graph: each vertex once, after its inputs, with {@code f}; the values of input vertices are
     * {@code inputValues}, in the order of {@link #inputs()}.
     *
     * @return the values of the output vertices
     */
    public <T> List<T> evaluate(List<T> inputValues, Evaluator<T> f) {
        Objects.requireNonNull(f, "f");
        if (inputValues.size() != inputs.size()) {
            throw new IllegalArgumentException("graph: " + inputValues.size() + " values for " + inputs.size()
                    + " inputs");
        }
        Map<Vertex, T> values = new IdentityHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            values.put(inputs.get(i), inputValues.get(i));
        }
        for (Vertex v : vertices()) {
            if (values.containsKey(v)) {
                continue;
            }
            List<T> args = new ArrayList<>(v.inputList().size());
            for (Vertex in : v.inputList()) {
                args.add(values.get(in));
            }
            values.put(v, f.apply(v, args));
        }
        List<T> result = new ArrayList<>(outputs.size());
        for (Vertex out : outputs) {
            result.add(values.get(out));
        }
        return result;
    }

    /** A deep copy: new vertices, computations copied, no state shared with this graph. */
    public CompGraph copy() {
        List<Vertex> order = vertices();
        Map<Vertex, Vertex> map = new IdentityHashMap<>();
        for (Vertex v : order) {
            map.put(v, v.detachedCopy());
        }
        for (Vertex v : order) {
            Vertex c = map.get(v);
            for (Vertex in : v.inputList()) {
                c.inputList().add(map.get(in));
            }
            for (Vertex out : v.outputList()) {
                Vertex o = map.get(out);
                if (o != null) {
                    c.outputList().add(o);
                }
            }
        }
        return new CompGraph(inputs.stream().map(map::get).toList(), outputs.stream().map(map::get).toList());
    }

    /**
     * Checks every vertex's sizes against its inputs.
     *
     * @throws IllegalStateException naming the first vertex that disagrees
     */
    public void validate() {
        for (Vertex v : vertices()) {
            v.validate();
        }
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (Vertex v : vertices()) {
            n += v.computation().parameterCount();
        }
        return n;
    }

    /** A table: one row per vertex with its name, computation, inputs, nin, nout and parameter count. */
    public String summary() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"name", "computation", "inputs", "nin", "nout", "parameters"});
        for (Vertex v : vertices()) {
            rows.add(new String[] {v.name(), v.computation().toString(),
                    String.join(", ", v.inputList().stream().map(Vertex::name).toList()),
                    joinSizes(v.nin()), Integer.toString(v.nout()),
                    Long.toString(v.computation().parameterCount())});
        }
        int[] width = new int[rows.getFirst().length];
        for (String[] r : rows) {
            for (int c = 0; c < r.length; c++) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            for (int c = 0; c < r.length; c++) {
                boolean number = c >= 3;
                String cell = number ? " ".repeat(width[c] - r[c].length()) + r[c]
                        : r[c] + " ".repeat(width[c] - r[c].length());
                sb.append(cell).append(c + 1 < r.length ? "  " : "");
            }
            sb.append(System.lineSeparator());
        }
        sb.append("total parameters: ").append(parameterCount()).append(System.lineSeparator());
        return sb.toString();
    }

    private static String joinSizes(int[] n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n.length; i++) {
            sb.append(i > 0 ? "," : "").append(n[i]);
        }
        return sb.toString();
    }

    /** Every vertex connected to {@code start} through edges in either direction. */
    static List<Vertex> connected(Vertex start) {
        Set<Vertex> seen = new LinkedHashSet<>();
        Deque<Vertex> todo = new ArrayDeque<>();
        todo.add(start);
        seen.add(start);
        while (!todo.isEmpty()) {
            Vertex v = todo.poll();
            for (List<Vertex> next : List.of(v.inputList(), v.outputList())) {
                for (Vertex w : next) {
                    if (seen.add(w)) {
                        todo.add(w);
                    }
                }
            }
        }
        return new ArrayList<>(seen);
    }

    /**
     * Whether {@code target} can be reached from {@code from} following outputs ({@code from} itself included):
     * an edge from {@code target} into {@code from} would make a cycle.
     */
    public static boolean reaches(Vertex from, Vertex target) {
        Set<Vertex> seen = new HashSet<>();
        Deque<Vertex> todo = new ArrayDeque<>(List.of(from));
        while (!todo.isEmpty()) {
            Vertex v = todo.poll();
            if (v == target) {
                return true;
            }
            for (Vertex o : v.outputList()) {
                if (seen.add(o)) {
                    todo.add(o);
                }
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "CompGraph(" + size() + " vertices, inputs " + inputs + ", outputs " + outputs + ")";
    }
}
