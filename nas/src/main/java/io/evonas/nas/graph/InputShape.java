package io.evonas.nas.graph;

/**
 * What an input vertex carries: dense features {@code [N, C]}, a 1-d signal {@code [N, C, L]} or an image
 * {@code [N, C, H, W]}. Concatenations and the shape algebra need to know which axis holds the neurons and how
 * many spatial axes follow.
 */
public enum InputShape {
    DENSE(0), CONV1D(1), CONV2D(2);

    private final int spatialDims;

    InputShape(int spatialDims) {
        this.spatialDims = spatialDims;
    }

    /** Number of spatial axes after the channel axis. */
    public int spatialDims() {
        return spatialDims;
    }
}
