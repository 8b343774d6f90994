package io.evonas.kernels;

import static jcuda.driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

/** {@code cuMemAlloc} and {@code cuMemFree} on one device, remembering the JCuda pointer of each block. */
final class CudaRawMemory implements RawMemory {
    private final CudaDevice device;
    private final Map<Long, DevicePointer> pointers = new ConcurrentHashMap<>();

    CudaRawMemory(CudaDevice device) {
        this.device = device;
    }

    @Override
    public long allocate(long bytes) {
        device.makeCurrent();
        DevicePointer p = new DevicePointer();
        int result = JCudaDriver.cuMemAlloc(p, bytes);
        String operation = device.name() + ": cuMemAlloc(" + bytes + " bytes)";
        if (result == CUDA_ERROR_OUT_OF_MEMORY) {
            throw new CudaOutOfMemoryException(operation + ": CUDA_ERROR_OUT_OF_MEMORY");
        }
        Cuda.check(result, operation);
        pointers.put(p.address(), p);
        return p.address();
    }

    @Override
    public void free(long address) {
        DevicePointer p = pointers.remove(address);
        if (p == null) {
            throw new IllegalArgumentException(device.name() + ": cuMemFree of 0x" + Long.toHexString(address)
                    + ", which cuMemAlloc did not return or which was freed already");
        }
        device.makeCurrent();
        Cuda.check(JCudaDriver.cuMemFree(p), device.name() + ": cuMemFree(0x" + Long.toHexString(address) + ")");
    }

    /** The pointer of a live block. */
    CUdeviceptr pointer(long address) {
        DevicePointer p = pointers.get(address);
        if (p == null) {
            throw new IllegalArgumentException(device.name() + ": no live block at 0x" + Long.toHexString(address));
        }
        return p;
    }
}
