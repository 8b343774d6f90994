package io.evonas.tensor;

/** A flat block of floats on one device. Tensors are row-major views of a storage. */
public interface Storage {
    /** The device holding this storage. */
    Device device();

    /** Number of floats. */
    int size();

    /** Copies {@code length} floats starting at {@code offset} into {@code dst[dstOffset...]} on the host. */
    void copyToHost(int offset, float[] dst, int dstOffset, int length);

    /** Copies {@code length} floats from the host array into this storage at {@code offset}. */
    void copyFromHost(float[] src, int srcOffset, int offset, int length);
}
