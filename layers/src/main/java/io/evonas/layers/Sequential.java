package io.evonas.layers;

import io.evonas.autodiff.Variable;
import io.evonas.tensor.Device;
import io.evonas.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/** Layers applied one after the other. */
public final class Sequential implements Layer {
    private final List<Layer> layers;

    public Sequential(List<Layer> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("sequential: no layers");
        }
        this.layers = List.copyOf(layers);
    }

    public static Sequential of(Layer... layers) {
        return new Sequential(List.of(layers));
    }

    public List<Layer> layers() {
        return layers;
    }

    /** A deep copy: each child layer is copied with its own {@link Layer#copy}. */
    @Override
    public Sequential copy() {
        List<Layer> copies = new ArrayList<>(layers.size());
        for (Layer l : layers) {
            copies.add(l.copy());
        }
        return new Sequential(copies);
    }

    @Override
    public Variable forward(Variable x, ForwardPass pass) {
        Variable y = x;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            // A convolution whose input needs no gradient (a network's first), batch norm with ReLU, a 2×2 max
            // pool: one primitive, which on the CPU never writes the convolution's output.
            if (l instanceof Conv2D conv && i + 2 < layers.size() && layers.get(i + 1) instanceof BatchNorm bn
                    && bn.fusesAfter(conv) && bn.fusesWith(layers.get(i + 2)) && !y.needsGradient()
                    && pooledSides(conv.outputShape(y.shape()))) {
                y = bn.forwardConvMaxPooled(conv, y, pass);
                i += 2;
                continue;
            }
            // Batch norm with ReLU, then a 2×2 max pool: one primitive that never writes the activation between.
            if (l instanceof BatchNorm bn && i + 1 < layers.size() && bn.fusesWith(layers.get(i + 1))
                    && pooledSides(y.shape())) {
                y = bn.forwardMaxPooled(y, pass);
                i++;
                continue;
            }
            y = l.forward(y, pass);
        }
        return y;
    }

    /** Whether {@code s} is {@code [N, C, H, W]} with room for a 2×2 window. */
    private static boolean pooledSides(Shape s) {
        return s.rank() == 4 && s.dim(2) >= 2 && s.dim(3) >= 2;
    }

    @Override
    public Shape outputShape(Shape input) {
        Shape s = input;
        for (int i = 0; i < layers.size(); i++) {
            try {
                s = layers.get(i).outputShape(s);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer " + i + " (" + layers.get(i) + "): " + e.getMessage(), e);
            }
        }
        return s;
    }

    @Override
    public int nin() {
        return layers.getFirst().nin();
    }

    @Override
    public int nout() {
        for (int i = layers.size() - 1; i >= 0; i--) {
            if (layers.get(i).nout() >= 0) {
                return layers.get(i).nout();
            }
        }
        return -1;
    }

    /** Moves every child layer. */
    @Override
    public void moveToInPlace(Device target) {
        for (Layer l : layers) {
            l.moveToInPlace(target);
        }
    }

    @Override
    public List<Parameter> parameters() {
        List<Parameter> all = new ArrayList<>();
        for (Layer l : layers) {
            all.addAll(l.parameters());
        }
        return all;
    }

    @Override
    public String toString() {
        return "Sequential" + layers;
    }
}
