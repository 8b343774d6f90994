/**
 * The CUDA backend: kernels compiled to PTX, loaded through JCuda's driver API and registered with
 * {@code io.evonas.tensor.Devices} through {@link java.util.ServiceLoader}. Filled by the CUDA issue.
 */
package io.evonas.kernels;
