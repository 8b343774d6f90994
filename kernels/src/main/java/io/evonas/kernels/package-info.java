/**
 * The CUDA backend: kernels in {@code kernels/src/main/cuda/*.cu}, compiled to PTX by the build where nvcc exists,
 * loaded through JCuda's driver API (only libcuda.so.1 is needed at run time) and registered with
 * {@code io.evonas.tensor.Devices} through {@link java.util.ServiceLoader}.
 *
 * <p>{@link io.evonas.kernels.Cuda} finds the driver and the GPUs once, or says why CUDA cannot work;
 * {@link io.evonas.kernels.CudaDevice} and {@link io.evonas.kernels.CudaStorage} implement the tensor module's device
 * SPI over a {@link io.evonas.kernels.CachingAllocator}; {@link io.evonas.kernels.CudaModules} loads PTX and launches
 * kernels; {@link io.evonas.kernels.CudaInfo} prints what this machine offers.
 */
package io.evonas.kernels;
