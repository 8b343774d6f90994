package io.evonas.kernels;

/** A device allocation failed for lack of free device memory, even after the allocator emptied its cache. */
public final class CudaOutOfMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** With a message naming the device, the size asked for and what was in use. */
    public CudaOutOfMemoryException(String message) {
        super(message);
    }

    /** With a message and the first failure, when a retry failed too. */
    public CudaOutOfMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
