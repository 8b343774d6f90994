package io.evonas.kernels;

import io.evonas.tensor.Storage;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/**
 * A block of floats in GPU memory, from its device's {@link CachingAllocator}. Offsets and lengths count floats.
 * The block goes back to the allocator's cache on {@link #close()}, or, when the storage is unreachable and was not
 * closed, through a {@link Cleaner}; either way once. Copies are synchronous for the host: {@link #copyToHost}
 * returns when the data (and every kernel queued before it) is done, {@link #copyFromHost} when the host array may be
 * reused.
 */
public final class CudaStorage implements Storage, AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaDevice device;
    private final int size;
    private final CachingAllocator.Block block;
    private final CUdeviceptr pointer;
    private final Release release;
    private final Cleaner.Cleanable cleanable;

    CudaStorage(CudaDevice device, int size) {
        if (size < 0) {
            throw new IllegalArgumentException(device.name() + ": cannot allocate " + size + " floats");
        }
        this.device = device;
        this.size = size;
        this.block = device.allocator().allocate(4L * size, CudaStorage::collectGarbage);
        this.release = new Release(device.allocator(), block);
        this.cleanable = CLEANER.register(this, release);
        try {
            this.pointer = device.pointer(block.address());
            if (size > 0) {
                device.makeCurrent();
                Cuda.check(JCudaDriver.cuMemsetD32(pointer, 0, size), device.name() + ": cuMemsetD32(" + size
                        + " floats)");
            }
        } catch (RuntimeException e) {
            cleanable.clean();
            throw e;
        }
    }

    @Override
    public CudaDevice device() {
        return device;
    }

    @Override
    public int size() {
        return size;
    }

    /** The device address of float 0. */
    public long address() {
        return block.address();
    }

    /** The device pointer of float 0, for kernel arguments and driver calls. */
    public CUdeviceptr pointer() {
        checkOpen("pointer");
        return pointer;
    }

    /** Bytes held in the allocator: the size class of {@code 4 * size()}. */
    public long blockBytes() {
        return block.bytes();
    }

    /** Whether {@link #close()} ran (or the cleaner did). */
    public boolean isClosed() {
        return release.done.get();
    }

    @Override
    public void copyToHost(int offset, float[] dst, int dstOffset, int length) {
        Objects.requireNonNull(dst, "dst");
        checkRange("copyToHost", offset, length, dstOffset, dst.length);
        if (length == 0) {
            return;
        }
        device.makeCurrent();
        try {
            Cuda.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(dst).withByteOffset(4L * dstOffset),
                    pointer.withByteOffset(4L * offset), 4L * length), device.name() + ": cuMemcpyDtoH(" + length
                    + " floats)");
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    @Override
    public void copyFromHost(float[] src, int srcOffset, int offset, int length) {
        Objects.requireNonNull(src, "src");
        checkRange("copyFromHost", offset, length, srcOffset, src.length);
        if (length == 0) {
            return;
        }
        device.makeCurrent();
        try {
            Cuda.check(JCudaDriver.cuMemcpyHtoD(pointer.withByteOffset(4L * offset),
                    Pointer.to(src).withByteOffset(4L * srcOffset), 4L * length), device.name() + ": cuMemcpyHtoD("
                    + length + " floats)");
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    private void checkRange(String op, int offset, int length, int hostOffset, int hostLength) {
        checkOpen(op);
        if (length < 0 || offset < 0 || offset > size - length || hostOffset < 0 || hostOffset > hostLength - length) {
            throw new IndexOutOfBoundsException(device.name() + " " + op + ": " + length + " floats at offset "
                    + offset + " of a storage of " + size + ", host offset " + hostOffset + " of an array of "
                    + hostLength);
        }
    }

    private void checkOpen(String op) {
        if (release.done.get()) {
            throw new IllegalStateException(device.name() + " " + op + ": the storage of " + size
                    + " floats was closed");
        }
    }

    /** Returns the block to the allocator's cache; later uses throw. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "CudaStorage[" + device.name() + ", " + size + " floats at 0x" + Long.toHexString(block.address())
                + (isClosed() ? ", closed]" : "]");
    }

    /** The cleaning action: must not refer to the storage, or it would never become unreachable. */
    private static final class Release implements Runnable {
        private final CachingAllocator allocator;
        private final CachingAllocator.Block block;
        private final AtomicBoolean done = new AtomicBoolean();

        Release(CachingAllocator allocator, CachingAllocator.Block block) {
            this.allocator = allocator;
            this.block = block;
        }

        @Override
        public void run() {
            if (done.compareAndSet(false, true)) {
                allocator.free(block);
            }
        }
    }

    /**
     * Lets the storages that are no longer reachable return their device memory: a garbage collection, then a
     * short wait for their {@code Cleaner}s, which run on their own thread.
     */
    private static void collectGarbage() {
        System.gc();
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
