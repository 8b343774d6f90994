// evonas CUDA kernels: loss family.
//
// Mirrors io.evonas.tensor.cpu.CrossEntropy: softmax cross-entropy taken from logits [N, C] (row-major), with
// class indices (int labels[N], each in [0, C), checked by the caller) or target distributions t [N, C]. Per
// row, in double: m = max_c x_c, lse = m + log Σ_c exp(x_c - m),
//   labels:  loss_n = lse - x[n, label_n]
//   targets: loss_n = Σ_{c: t != 0} t[n, c] (lse - x[n, c])   (NaN when lse is NaN)
//   backward: dx[n, c] = (float) (scale * (exp(x - lse) * mass - target)), mass = Σ_c t[n, c] (1 for labels),
//             scale = mean ? (double) dLoss / N : dLoss.
//
// One warp per row: block = 256 (8 rows per block), grid-stride over rows (any grid, e.g. ceil(N / 8)); the
// row's classes are strided over the 32 lanes and combined with shuffles in a fixed order (deterministic).
//
// Kernels:
//   evonas_loss_cross_entropy_labels_forward(const float* logits, const int* labels, double* rowLoss, int n, int c)
//   evonas_loss_cross_entropy_targets_forward(const float* logits, const float* targets, double* rowLoss, int n, int c)
//       Per-row losses in double (rowLoss [n]).                            CrossEntropy.rowLosses
//   evonas_loss_reduce(const double* rowLoss, int n, int mean, float* out, double* outDouble)
//       out[0] = (float) (Σ rowLoss / (mean ? n : 1)) (NaN for mean over n = 0); outDouble may be null.
//       ONE block of 256 threads (grid = 1): a fixed tree, deterministic.   CrossEntropy.reduce
//   evonas_loss_cross_entropy_labels_backward(const float* logits, const int* labels, float* dlogits, int n, int c,
//           float dLoss, int mean)
//   evonas_loss_cross_entropy_targets_backward(const float* logits, const float* targets, float* dlogits, int n, int c,
//           float dLoss, int mean)
//       dlogits [n, c], overwritten; may be the logits (or targets) buffer exactly: each lane reads its own
//       elements of the row before writing them.                          CrossEntropy.backward
// NaN logits give NaN losses and NaN gradient rows, as on the CPU. Summation in a different order than the CPU's
// sequential double sums: agreement to double rounding, i.e. exact or 1 ulp after rounding to float.

namespace evonas_loss {

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v; // every lane holds the same sum (butterfly: same order in every lane)
}

__device__ __forceinline__ float warp_max(float v) {
    // the CPU's m = v > m ? v : m, NaN-ignoring; when any logit is NaN the sum below is NaN anyway
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = w > v ? w : v;
    }
    return v;
}

// log Σ exp over one row, computed by a whole warp; every lane gets the result.
__device__ __forceinline__ double log_sum_exp(const float* row, int c, int lane) {
    float m = -INFINITY;
    for (int k = lane; k < c; k += 32) {
        float v = row[k];
        m = v > m ? v : m;
    }
    m = warp_max(m);
    if (c > 0 && row[0] != row[0]) {
        m = row[0]; // the CPU starts from x[0]: a NaN there stays the max (the result is NaN either way)
    }
    double s = 0;
    for (int k = lane; k < c; k += 32) s += exp((double) row[k] - (double) m);
    s = warp_sum(s);
    return (double) m + log(s);
}

__device__ __forceinline__ int warps_total() {
    return (gridDim.x * blockDim.x) >> 5;
}

__device__ __forceinline__ int warp_id() {
    return (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
}

template <bool LABELS>
__device__ void forward(const float* __restrict__ x, const int* __restrict__ labels,
                        const float* __restrict__ t, double* __restrict__ rowLoss, int n, int c) {
    const int lane = threadIdx.x & 31;
    for (int r = warp_id(); r < n; r += warps_total()) {
        const float* row = x + (long long) r * c;
        double lse = log_sum_exp(row, c, lane);
        if (LABELS) {
            if (lane == 0) rowLoss[r] = lse - (double) row[labels[r]];
        } else {
            const float* tr = t + (long long) r * c;
            double l = 0;
            for (int k = lane; k < c; k += 32) {
                float w = tr[k];
                if (w != 0.0f) l += (double) w * (lse - (double) row[k]);
            }
            l = warp_sum(l);
            if (lane == 0) rowLoss[r] = lse != lse ? lse : l;
        }
    }
}

template <bool LABELS>
__device__ void backward(const float* x, const int* __restrict__ labels, const float* t, float* d, int n, int c,
                         float dLoss, int mean) {
    const int lane = threadIdx.x & 31;
    const double scale = mean ? (double) dLoss / n : (double) dLoss;
    for (int r = warp_id(); r < n; r += warps_total()) {
        const float* row = x + (long long) r * c;
        float* dr = d + (long long) r * c;
        double lse = log_sum_exp(row, c, lane);
        double mass = 1;
        if (!LABELS) {
            const float* tr = t + (long long) r * c;
            mass = 0;
            for (int k = lane; k < c; k += 32) mass += tr[k];
            mass = warp_sum(mass);
        }
        const int label = LABELS ? labels[r] : -1;
        for (int k = lane; k < c; k += 32) {
            double p = exp((double) row[k] - lse);
            double target = LABELS ? (k == label ? 1.0 : 0.0) : (double) t[(long long) r * c + k];
            dr[k] = (float) (scale * (p * mass - target));
        }
    }
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

extern "C" __global__ void evonas_loss_cross_entropy_labels_forward(const float* logits, const int* labels,
                                                            double* rowLoss, int n, int c) {
    forward<true>(logits, labels, nullptr, rowLoss, n, c);
}

extern "C" __global__ void evonas_loss_cross_entropy_targets_forward(const float* logits, const float* targets,
                                                             double* rowLoss, int n, int c) {
    forward<false>(logits, nullptr, targets, rowLoss, n, c);
}

extern "C" __global__ void evonas_loss_reduce(const double* __restrict__ rowLoss, int n, int mean,
                                              float* __restrict__ out, double* __restrict__ outDouble) {
    __shared__ double part[32];
    if (blockIdx.x != 0) return;
    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += rowLoss[i];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) part[warp] = s;
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        s = lane < warps ? part[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
        if (lane == 0) {
            double v = mean ? s / n : s; // 0 / 0 = NaN for an empty mean, as the CPU
            out[0] = (float) v;
            if (outDouble) outDouble[0] = v;
        }
    }
}

extern "C" __global__ void evonas_loss_cross_entropy_labels_backward(const float* logits, const int* labels,
                                                             float* dlogits, int n, int c, float dLoss, int mean) {
    backward<true>(logits, labels, nullptr, dlogits, n, c, dLoss, mean);
}

extern "C" __global__ void evonas_loss_cross_entropy_targets_backward(const float* logits, const float* targets,
                                                              float* dlogits, int n, int c, float dLoss,
                                                              int mean) {
    backward<false>(logits, nullptr, targets, dlogits, n, c, dLoss, mean);
}

} // namespace evonas_loss
