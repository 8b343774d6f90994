// Self-test kernels for the Java runtime's smoke test (CudaSmokeTest, CudaInfo): no maths, only the plumbing
// from a Java launch to device memory and back.

// x[i] = v for i < n; one thread per element, any grid.
extern "C" __global__ void evonas_fill(float* x, float v, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        x[i] = v;
    }
}
