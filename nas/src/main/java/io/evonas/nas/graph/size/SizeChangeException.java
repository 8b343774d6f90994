package io.evonas.nas.graph.size;

/** Thrown by {@link SizeSolver#solveExact} when the exact requests cannot all be met; the message says which. */
public final class SizeChangeException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public SizeChangeException(String message) {
        super(message);
    }
}
