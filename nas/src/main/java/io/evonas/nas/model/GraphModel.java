package io.evonas.nas.model;

import io.evonas.autodiff.Ops;
import io.evonas.autodiff.Variable;
import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv2D;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Layer;
import io.evonas.layers.Parameter;
import io.evonas.nas.graph.CompGraph;
import io.evonas.nas.graph.Input;
import io.evonas.nas.graph.Merge;
import io.evonas.nas.graph.Vertex;
import io.evonas.tensor.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Objects;

/**
 * A {@link CompGraph} of layers as a model: evaluation records on the autodiff tape, so a graph trains like
 * any layer (for example with {@code io.evonas.nas.train.Trainer}). As a {@link Layer} it takes the graph's
 * single input and gives its single output; {@link #forward(List, ForwardPass)} serves graphs with several.
 */
public final class GraphModel implements Layer {
    private final CompGraph graph;

    public GraphModel(CompGraph graph) {
        this.graph = Objects.requireNonNull(graph, "graph");
    }

    public CompGraph graph() {
        return graph;
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        requireSingle();
        return forward(List.of(x), pass).getFirst();
    }

    /**
     * The graph's outputs for its inputs. A batch norm with ReLU whose only consumer is a 2×2 max pool (and which
     * is not itself an output) runs with that pool as one primitive ({@link BatchNorm#forwardMaxPooled}): the
     * batch-norm vertex passes its input through, and the pool vertex applies both. When that batch norm's input
     * is a convolution it alone reads, whose own input needs no gradient (a network's first), the convolution
     * joins them ({@link BatchNorm#forwardConvMaxPooled}).
     */
    public List<Variable> forward(List<Variable> inputs, ForwardPass pass) {
        Set<Vertex> fusedConvs = Collections.newSetFromMap(new IdentityHashMap<>());
        return graph.evaluate(inputs, (v, ins) -> evaluate(v, ins, pass, fusedConvs));
    }

    private Variable evaluate(Vertex v, List<Variable> ins, ForwardPass pass, Set<Vertex> fusedConvs) {
        if (ins.size() == 1 && v.computation() instanceof LayerComputation) {
            // A convolution, its batch norm and their pool as one primitive: the convolution and batch-norm
            // vertices pass the convolution's input through, and the pool vertex applies all three.
            if (fusesConv(v, ins.getFirst())) {
                fusedConvs.add(v);
                return ins.getFirst();
            }
            Vertex from = v.inputs().getFirst();
            if (fusedConvs.contains(from)) {
                return ins.getFirst();
            }
            if (from.inputs().size() == 1 && fusedConvs.contains(from.inputs().getFirst())) {
                Conv2D conv = (Conv2D) ((LayerComputation) from.inputs().getFirst().computation()).layer();
                return ((BatchNorm) ((LayerComputation) from.computation()).layer()).forwardConvMaxPooled(conv,
                        ins.getFirst(), pass);
            }
            if (fusedIntoPool(v, ins.getFirst().shape())) {
                return ins.getFirst();
            }
            if (fusedIntoPool(from, ins.getFirst().shape())) {
                return ((BatchNorm) ((LayerComputation) from.computation()).layer()).forwardMaxPooled(ins.getFirst(),
                        pass);
            }
        }
        if (v.computation() instanceof Merge m) {
            return switch (m) {
                case CONCAT -> ins.size() == 1 ? ins.getFirst() : Ops.concat(1, ins.toArray(Variable[]::new));
                case ADD -> fold(ins, true);
                case MUL -> fold(ins, false);
            };
        }
        if (v.computation() instanceof Differentiable d) {
            return d.forward(ins, pass);
        }
        if (v.computation() instanceof Input) {
            throw new IllegalStateException("graph: input vertex " + v + " is not one of the graph's inputs");
        }
        throw new IllegalStateException("graph: vertex " + v + " (" + v.computation()
                + ") cannot be evaluated; its computation must implement Differentiable");
    }

    /**
     * Whether vertex {@code v} is a batch norm that its single consumer, a 2×2 max pool, evaluates together with
     * itself, for an input of shape {@code in}.
     */
    private boolean fusedIntoPool(Vertex v, Shape in) {
        if (!(v.computation() instanceof LayerComputation lc) || !(lc.layer() instanceof BatchNorm bn)
                || v.outputs().size() != 1 || graph.outputs().contains(v)) {
            return false;
        }
        Vertex next = v.outputs().getFirst();
        return next.inputs().size() == 1 && next.computation() instanceof LayerComputation pool
                && bn.fusesWith(pool.layer()) && in.rank() == 4 && in.dim(2) >= 2 && in.dim(3) >= 2;
    }

    /**
     * Whether vertex {@code v} is a convolution that its single consumer, a batch norm fused into its pool
     * ({@link #fusedIntoPool}), evaluates together with itself and that pool, for input {@code x}: the convolution
     * is not an output, and {@code x} needs no gradient (the fused primitive gives it none).
     */
    private boolean fusesConv(Vertex v, Variable x) {
        if (!(v.computation() instanceof LayerComputation lc) || !(lc.layer() instanceof Conv2D conv)
                || x.needsGradient() || v.outputs().size() != 1 || graph.outputs().contains(v)
                || x.shape().rank() != 4 || x.shape().dim(1) != conv.nin()) {
            return false;
        }
        Vertex next = v.outputs().getFirst();
        if (next.inputs().size() != 1 || !(next.computation() instanceof LayerComputation n)
                || !(n.layer() instanceof BatchNorm bn) || !bn.fusesAfter(conv)) {
            return false;
        }
        Shape z;
        try {
            z = conv.outputShape(x.shape());
        } catch (IllegalArgumentException e) {
            return false; // the convolution alone reports the bad input
        }
        return fusedIntoPool(next, z);
    }

    private static Variable fold(List<Variable> ins, boolean add) {
        Variable y = ins.getFirst();
        for (int i = 1; i < ins.size(); i++) {
            y = add ? Ops.add(y, ins.get(i)) : Ops.mul(y, ins.get(i));
        }
        return y;
    }

    @Override
    public Shape outputShape(Shape input) {
        requireSingle();
        return Shapes.trace(graph, List.of(input)).get(graph.outputs().getFirst());
    }

    @Override
    public int nin() {
        return graph.inputs().getFirst().nout();
    }

    @Override
    public int nout() {
        return graph.outputs().getFirst().nout();
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> ps = new ArrayList<>();
        for (Vertex v : graph.vertices()) {
            if (v.computation() instanceof Differentiable d) {
                ps.addAll(d.parameters());
            }
        }
        return ps;
    }

    /**
     * Moves every layer's parameters and state (batch-norm statistics included) to {@code target}, applying pending
     * neuron surgery first; then feed it batches on that device ({@code Batch.to}).
     */
    @Override
    public void moveToInPlace(io.evonas.tensor.Device target) {
        for (Vertex v : graph.vertices()) {
            if (v.computation() instanceof LayerComputation l) {
                l.layer().moveToInPlace(target);
            } else if (v.computation() instanceof Differentiable d) {
                for (Parameter p : d.parameters()) {
                    p.moveToInPlace(target);
                }
            }
        }
    }

    /** Applies every pending neuron surgery now (before saving, for instance). */
    public void force() {
        for (Vertex v : graph.vertices()) {
            if (v.computation() instanceof LayerComputation l) {
                l.force();
            }
        }
    }

    @Override
    public GraphModel copy() {
        return new GraphModel(graph.copy());
    }

    private void requireSingle() {
        if (graph.inputs().size() != 1 || graph.outputs().size() != 1) {
            throw new IllegalStateException("graph model: " + graph.inputs().size() + " inputs and "
                    + graph.outputs().size() + " outputs; use forward(List, ForwardPass)");
        }
    }

    @Override
    public String toString() {
        return graph.summary();
    }
}
