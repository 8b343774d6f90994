package io.evonas.nas.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A vertex of a {@link CompGraph}: a computation, the vertices it reads (in order, repeats allowed) and the
 * vertices that read it. Edges are kept on both ends. Besides its computation a vertex carries the decorating
 * traits of NaiveNASlib and NaiveGAflux: a name, an optional {@link MutationShield}, whether its sizes are
 * validated after every change, and whether it removes itself when left with a single input.
 *
 * <pre>{@code
 * Vertex in = Vertex.input("in", 3, InputShape.DENSE);
 * Vertex a = Vertex.of("a", someAbsorbingComputation, in);
 * Vertex sum = Vertex.add("sum", a, b);
 * }</pre>
 */
public final class Vertex {
    private final String name;
    private final Computation computation;
    private final List<Vertex> inputs = new ArrayList<>();
    private final List<Vertex> outputs = new ArrayList<>();
    private MutationShield shield;
    private boolean validated = true;
    private boolean removeIfSingleInput;

    private Vertex(String name, Computation computation) {
        this.name = Objects.requireNonNull(name, "name");
        this.computation = Objects.requireNonNull(computation, "computation");
    }

    /** An input vertex of {@code size} features or channels. */
    public static Vertex input(String name, int size, InputShape shape) {
        return new Vertex(name, new Input(size, shape));
    }

    /**
     * A vertex computing {@code computation} of {@code inputs}, connected to them.
     *
     * @throws IllegalArgumentException when the sizes do not fit the computation's kind
     */
    public static Vertex of(String name, Computation computation, Vertex... inputs) {
        return of(name, computation, List.of(inputs));
    }

    /** As {@link #of(String, Computation, Vertex...)}. */
    public static Vertex of(String name, Computation computation, List<Vertex> inputs) {
        Vertex v = new Vertex(name, computation);
        if (computation.kind() == SizeKind.IMMUTABLE && !inputs.isEmpty()) {
            throw new IllegalArgumentException("vertex " + name + ": an immutable computation takes no inputs");
        }
        if (computation.kind() != SizeKind.IMMUTABLE && inputs.isEmpty()) {
            throw new IllegalArgumentException("vertex " + name + ": " + computation + " needs an input");
        }
        v.inputs.addAll(inputs);
        String problem = v.sizeProblem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        for (Vertex in : inputs) {
            in.outputs.add(v);
        }
        return v;
    }

    /** Concatenation of {@code inputs} along the feature/channel axis. */
    public static Vertex concat(String name, Vertex... inputs) {
        return of(name, Merge.CONCAT, inputs);
    }

    /** Elementwise sum of equally sized {@code inputs}. */
    public static Vertex add(String name, Vertex... inputs) {
        return of(name, Merge.ADD, inputs);
    }

    /** Elementwise product of equally sized {@code inputs}. */
    public static Vertex mul(String name, Vertex... inputs) {
        return of(name, Merge.MUL, inputs);
    }

    /** A vertex like this one (computation copied, same traits) without edges; for graph copies. */
    Vertex detachedCopy() {
        Vertex v = new Vertex(name, computation.copy());
        v.shield = shield;
        v.validated = validated;
        v.removeIfSingleInput = removeIfSingleInput;
        return v;
    }

    public String name() {
        return name;
    }

    public Computation computation() {
        return computation;
    }

    public SizeKind kind() {
        return computation.kind();
    }

    /** The vertices this one reads, in order. */
    public List<Vertex> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    /** The vertices that read this one. */
    public List<Vertex> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    List<Vertex> inputList() {
        return inputs;
    }

    List<Vertex> outputList() {
        return outputs;
    }

    /** Number of output neurons (features or channels). */
    public int nout() {
        int own = computation.nout();
        if (own >= 0) {
            return own;
        }
        return switch (kind()) {
            case STACK -> {
                int n = 0;
                for (Vertex in : inputs) {
                    n += in.nout();
                }
                yield n;
            }
            case INVARIANT -> inputs.getFirst().nout();
            default -> throw new IllegalStateException("vertex " + name + ": " + computation + " reports no size");
        };
    }

    /** The input size this vertex expects on each of its inputs. */
    public int[] nin() {
        int[] n = new int[inputs.size()];
        int own = computation.nin();
        for (int k = 0; k < n.length; k++) {
            n[k] = own >= 0 ? own : kind() == SizeKind.INVARIANT && computation.nout() >= 0 ? computation.nout()
                    : inputs.get(k).nout();
        }
        return n;
    }

    /** The shield, or null when every mutation may change this vertex. */
    public MutationShield shield() {
        return shield;
    }

    public Vertex setShield(MutationShield shield) {
        this.shield = shield;
        return this;
    }

    /** Whether {@code mutation} may change this vertex. */
    public boolean allows(Object mutation) {
        return shield == null || shield.allows(mutation);
    }

    public boolean validated() {
        return validated;
    }

    /** Whether the graph checks this vertex's sizes after every change (on by default). */
    public Vertex setValidated(boolean validated) {
        this.validated = validated;
        return this;
    }

    public boolean removeIfSingleInput() {
        return removeIfSingleInput;
    }

    /** Whether this vertex removes itself when an edge removal leaves it a single input (merge vertices). */
    public Vertex setRemoveIfSingleInput(boolean remove) {
        this.removeIfSingleInput = remove;
        return this;
    }

    /** What is wrong with this vertex's sizes against its inputs, or null when they agree. */
    String sizeProblem() {
        int own = computation.nout();
        switch (kind()) {
            case ABSORB -> {
                int expected = computation.nin();
                for (Vertex in : inputs) {
                    if (expected >= 0 && in.nout() != expected) {
                        return "vertex " + name + ": " + computation + " expects " + expected + " inputs, "
                                + in.name + " gives " + in.nout();
                    }
                }
            }
            case INVARIANT -> {
                int n = own >= 0 ? own : inputs.getFirst().nout();
                for (Vertex in : inputs) {
                    if (in.nout() != n) {
                        return "vertex " + name + ": " + computation + " needs inputs of size " + n + ", "
                                + in.name + " has " + in.nout();
                    }
                }
            }
            case STACK -> {
                int sum = 0;
                for (Vertex in : inputs) {
                    sum += in.nout();
                }
                if (own >= 0 && own != sum) {
                    return "vertex " + name + ": " + computation + " has size " + own + ", its inputs sum to " + sum;
                }
            }
            case IMMUTABLE -> {
                return null;
            }
        }
        return null;
    }

    /**
     * Checks this vertex's sizes against its inputs.
     *
     * @throws IllegalStateException naming the vertex and the sizes when they disagree
     */
    public void validate() {
        String problem = sizeProblem();
        if (problem != null) {
            throw new IllegalStateException(problem);
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
