package io.evonas.kernels;

import jcuda.driver.CUdeviceptr;

/** A JCuda device pointer whose address can be read, for the allocator's {@code long} addresses. */
final class DevicePointer extends CUdeviceptr {
    /** The device address this pointer holds (0 before {@code cuMemAlloc} fills it). */
    long address() {
        return getNativePointer() + getByteOffset();
    }
}
