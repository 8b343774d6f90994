// evonas CUDA kernels: reduction family.
//
// Mirrors io.evonas.tensor.cpu.Reductions (sum, mean, max, argmax along an axis and their gradients) and
// io.evonas.tensor.cpu.Softmax (softmax and log-softmax along an axis and their gradients). A tensor is seen
// around the reduced axis as [outer, n, inner], row-major and contiguous (Reductions.Axis); outputs of the
// reductions are [outer, inner] (the axis kept as 1 or dropped: same memory).
//
// Two layouts, chosen by the caller:
//   *_rows  inner == 1 (the axis is contiguous): one block per row o, grid = outer (a grid-stride loop over rows
//           makes any grid correct), blockDim.x a power of two in [32, 1024] (256 for long rows, 32 or 64 for
//           rows of fewer than ~512). The block walks the row with stride blockDim.x, then combines the
//           per-thread partials with warp shuffles and a second warp-level pass over the warp results.
//   *_cols  any inner (meant for inner > 1): one thread per (o, i), grid-stride over outer * inner (256 threads
//           per block, any grid), each thread walking k = 0 .. n - 1 in order; neighbouring threads read
//           neighbouring i, so the loads are coalesced.
// Sums accumulate in double. Determinism: *_cols sums in index order; *_rows in a fixed tree for a fixed
// blockDim.x (same launch shape, same bits). Results agree with the CPU (which sums in float) to float
// rounding; max/argmax are exact (same element, same tie and NaN rules).
//
// Kernels:
//   evonas_reduce_sum_rows(const float* x, float* y, long long rows, long long n)
//       Reductions.sum with inner == 1; sumAll with rows == 1
//   evonas_reduce_sum_cols(const float* x, float* y, long long outer, long long n, long long inner)   Reductions.sum
//   evonas_reduce_mean_rows / evonas_reduce_mean_cols (same arguments)
//       y = (float) Σ / (float) n: the float sum divided by n in float, as Reductions.mean.
//   evonas_reduce_max_rows(const float* x, float* y, int* idx, long long rows, long long n)
//   evonas_reduce_max_cols(const float* x, float* y, int* idx, long long outer, long long n, long long inner)
//       y = max, idx = argmax (either may be null). Ties go to the first index; the first NaN wins (NumPy), as
//       Reductions.argmaxAxis. n must be >= 1.                               Reductions.max, argmax
//   evonas_reduce_expand(const float* dy, float* dx, long long outer, long long n, long long inner, float divisor)
//       dx[o, k, i] = dy[o, i] / divisor. divisor 1: sumBackward; divisor n: meanBackward. Grid-stride over dx.
//   evonas_reduce_max_backward(const float* dy, const int* idx, float* dx, long long outer, long long n,
//           long long inner)
//       dx[o, k, i] = k == idx[o, i] ? dy[o, i] : 0, every element written.  Reductions.maxBackward
//   evonas_reduce_softmax_rows(const float* x, float* y, long long rows, long long n)
//   evonas_reduce_log_softmax_rows(...same)
//   evonas_reduce_softmax_cols(const float* x, float* y, long long outer, long long n, long long inner)
//   evonas_reduce_log_softmax_cols(...same)
//       m = max (NaN-propagating), e_k = (float) exp((double) (x_k - m)), s = Σ e_k;
//       softmax y_k = e_k * (1f / s); log-softmax y_k = (x_k - m) - (float) log(s).  Softmax.softmax/logSoftmax
//       (s is summed in double here, in float on the CPU: last-bit differences.)
//   evonas_reduce_softmax_backward_rows(const float* y, const float* dy, float* dx, long long rows, long long n)
//   evonas_reduce_log_softmax_backward_rows(...same)
//   evonas_reduce_softmax_backward_cols(const float* y, const float* dy, float* dx, long long outer,
//           long long n, long long inner)
//   evonas_reduce_log_softmax_backward_cols(...same)
//       softmax: dx = y (dy - Σ dy y); log-softmax: dx = dy - e^y Σ dy; in double. Softmax.*Backward
//
// Aliasing as on the CPU: softmax's y may be x, the backward's dx may be y or dy (all reads of a row finish,
// behind __syncthreads, before the row is written, and each element is rewritten by the thread that read it).
// Reductions' outputs must not overlap their inputs.

namespace evonas_rd {

__device__ __forceinline__ long long gtid() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long gstride() {
    return (long long) gridDim.x * blockDim.x;
}

// Block-wide sum (result broadcast to every thread). Deterministic for a fixed blockDim.x (multiple of 32).
__device__ double block_sum(double v) {
    __shared__ double part[32];
    __shared__ double total;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        double s = lane < warps ? part[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
        if (lane == 0) total = s;
    }
    __syncthreads();
    double r = total;
    __syncthreads(); // part/total are reused by the next call
    return r;
}

// NaN-propagating max (Math.max): NaN if either is NaN.
__device__ __forceinline__ float nanmax(float a, float b) {
    if (a != a || b != b) return __int_as_float(0x7fc00000);
    return a > b ? a : b;
}

__device__ float block_nanmax(float v) {
    __shared__ float part[32];
    __shared__ float total;
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = nanmax(v, __shfl_down_sync(0xffffffffu, v, o));
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        float s = lane < warps ? part[lane] : -INFINITY;
        for (int o = 16; o > 0; o >>= 1) s = nanmax(s, __shfl_down_sync(0xffffffffu, s, o));
        if (lane == 0) total = s;
    }
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

// (value, index) candidates for argmax: a beats b when it is NaN and b is not, or both NaN and a comes first,
// or neither NaN and a is greater, or equal and a comes first. This total order makes the winner the first NaN
// if there is one, else the first maximum — Reductions.argmaxAxis — whatever the combining tree.
__device__ __forceinline__ bool beats(float av, long long ai, float bv, long long bi) {
    bool an = av != av;
    bool bn = bv != bv;
    if (an || bn) {
        return an && (!bn || ai < bi);
    }
    return av > bv || (av == bv && ai < bi);
}

__device__ void block_argmax(float& v, long long& idx) {
    __shared__ float pv[32];
    __shared__ long long pi[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_down_sync(0xffffffffu, v, o);
        long long oi = __shfl_down_sync(0xffffffffu, idx, o);
        if (beats(ov, oi, v, idx)) { v = ov; idx = oi; }
    }
    if (lane == 0) { pv[warp] = v; pi[warp] = idx; }
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        v = lane < warps ? pv[lane] : -INFINITY;
        idx = lane < warps ? pi[lane] : 0x7fffffffffffffffLL;
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_down_sync(0xffffffffu, v, o);
            long long oi = __shfl_down_sync(0xffffffffu, idx, o);
            if (beats(ov, oi, v, idx)) { v = ov; idx = oi; }
        }
    }
    __syncthreads(); // result valid in thread 0
}

template <bool MEAN>
__device__ void sum_rows(const float* __restrict__ x, float* __restrict__ y, long long rows, long long n) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * n;
        double s = 0;
        for (long long k = threadIdx.x; k < n; k += blockDim.x) s += row[k];
        s = block_sum(s);
        if (threadIdx.x == 0) y[r] = MEAN ? __fdiv_rn((float) s, (float) n) : (float) s;
    }
}

template <bool MEAN>
__device__ void sum_cols(const float* __restrict__ x, float* __restrict__ y, long long outer, long long n,
                         long long inner) {
    long long total = outer * inner;
    for (long long t = gtid(); t < total; t += gstride()) {
        long long o = t / inner;
        long long i = t - o * inner;
        const float* p = x + o * n * inner + i;
        double s = 0;
        for (long long k = 0; k < n; k++) s += p[k * inner];
        y[t] = MEAN ? __fdiv_rn((float) s, (float) n) : (float) s;
    }
}

template <bool LOG>
__device__ void softmax_rows(const float* x, float* y, long long rows, long long n) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        float m = -INFINITY;
        for (long long k = threadIdx.x; k < n; k += blockDim.x) m = nanmax(m, xr[k]);
        m = block_nanmax(m); // every thread has read its elements of x before any is written below
        double s = 0;
        for (long long k = threadIdx.x; k < n; k += blockDim.x) {
            float e = (float) exp((double) __fsub_rn(xr[k], m));
            if (!LOG) yr[k] = e;
            s += e;
        }
        float sf = (float) block_sum(s);
        if (LOG) {
            float ls = (float) log((double) sf);
            for (long long k = threadIdx.x; k < n; k += blockDim.x) yr[k] = __fsub_rn(__fsub_rn(xr[k], m), ls);
        } else {
            float inv = __fdiv_rn(1.0f, sf);
            for (long long k = threadIdx.x; k < n; k += blockDim.x) yr[k] = __fmul_rn(yr[k], inv);
        }
        __syncthreads();
    }
}

template <bool LOG>
__device__ void softmax_cols(const float* x, float* y, long long outer, long long n, long long inner) {
    long long total = outer * inner;
    for (long long t = gtid(); t < total; t += gstride()) {
        long long o = t / inner;
        long long i = t - o * inner;
        const float* xp = x + o * n * inner + i;
        float* yp = y + o * n * inner + i;
        float m = xp[0];
        for (long long k = 1; k < n; k++) m = nanmax(m, xp[k * inner]);
        double s = 0;
        for (long long k = 0; k < n; k++) {
            float e = (float) exp((double) __fsub_rn(xp[k * inner], m));
            if (!LOG) yp[k * inner] = e;
            s += e;
        }
        float sf = (float) s;
        if (LOG) {
            float ls = (float) log((double) sf);
            for (long long k = 0; k < n; k++) yp[k * inner] = __fsub_rn(__fsub_rn(xp[k * inner], m), ls);
        } else {
            float inv = __fdiv_rn(1.0f, sf);
            for (long long k = 0; k < n; k++) yp[k * inner] = __fmul_rn(yp[k * inner], inv);
        }
    }
}

template <bool LOG>
__device__ __forceinline__ float softmax_grad(float yv, float gv, double dot) {
    double v = yv;
    double g = gv;
    return (float) (LOG ? __dsub_rn(g, __dmul_rn(exp(v), dot)) : __dmul_rn(v, __dsub_rn(g, dot)));
}

template <bool LOG>
__device__ void softmax_backward_rows(const float* y, const float* dy, float* dx, long long rows, long long n) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* yr = y + r * n;
        const float* gr = dy + r * n;
        float* dr = dx + r * n;
        double dot = 0;
        for (long long k = threadIdx.x; k < n; k += blockDim.x) {
            dot += LOG ? (double) gr[k] : (double) gr[k] * (double) yr[k];
        }
        dot = block_sum(dot); // ends with __syncthreads: all reads done before dx (maybe y or dy) is written
        for (long long k = threadIdx.x; k < n; k += blockDim.x) dr[k] = softmax_grad<LOG>(yr[k], gr[k], dot);
        __syncthreads();
    }
}

template <bool LOG>
__device__ void softmax_backward_cols(const float* y, const float* dy, float* dx, long long outer, long long n,
                                      long long inner) {
    long long total = outer * inner;
    for (long long t = gtid(); t < total; t += gstride()) {
        long long o = t / inner;
        long long i = t - o * inner;
        long long b = o * n * inner + i;
        double dot = 0;
        for (long long k = 0; k < n; k++) {
            long long e = b + k * inner;
            dot += LOG ? (double) dy[e] : (double) dy[e] * (double) y[e];
        }
        for (long long k = 0; k < n; k++) {
            long long e = b + k * inner;
            dx[e] = softmax_grad<LOG>(y[e], dy[e], dot);
        }
    }
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

extern "C" __global__ void evonas_reduce_sum_rows(const float* x, float* y, long long rows, long long n) {
    sum_rows<false>(x, y, rows, n);
}

extern "C" __global__ void evonas_reduce_mean_rows(const float* x, float* y, long long rows, long long n) {
    sum_rows<true>(x, y, rows, n);
}

extern "C" __global__ void evonas_reduce_sum_cols(const float* x, float* y, long long outer, long long n,
                                                   long long inner) {
    sum_cols<false>(x, y, outer, n, inner);
}

extern "C" __global__ void evonas_reduce_mean_cols(const float* x, float* y, long long outer, long long n,
                                                    long long inner) {
    sum_cols<true>(x, y, outer, n, inner);
}

extern "C" __global__ void evonas_reduce_max_rows(const float* __restrict__ x, float* __restrict__ y, int* idx,
                                                   long long rows, long long n) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = x + r * n;
        float v = -INFINITY;
        long long bi = 0x7fffffffffffffffLL; // loses to any real candidate
        for (long long k = threadIdx.x; k < n; k += blockDim.x) {
            float c = row[k];
            if (beats(c, k, v, bi)) { v = c; bi = k; }
        }
        block_argmax(v, bi);
        if (threadIdx.x == 0) {
            if (y) y[r] = v;
            if (idx) idx[r] = (int) bi;
        }
    }
}

extern "C" __global__ void evonas_reduce_max_cols(const float* __restrict__ x, float* __restrict__ y, int* idx,
                                                   long long outer, long long n, long long inner) {
    long long total = outer * inner;
    for (long long t = gtid(); t < total; t += gstride()) {
        long long o = t / inner;
        long long i = t - o * inner;
        const float* p = x + o * n * inner + i;
        // Reductions.argmaxAxis, literally
        float m = p[0];
        long long am = 0;
        if (m == m) {
            for (long long k = 1; k < n; k++) {
                float v = p[k * inner];
                if (v > m) {
                    m = v;
                    am = k;
                } else if (v != v) {
                    m = v;
                    am = k;
                    break;
                }
            }
        }
        if (y) y[t] = m;
        if (idx) idx[t] = (int) am;
    }
}

extern "C" __global__ void evonas_reduce_expand(const float* __restrict__ dy, float* __restrict__ dx,
                                                 long long outer, long long n, long long inner, float divisor) {
    long long total = outer * n * inner;
    for (long long e = gtid(); e < total; e += gstride()) {
        long long i = e % inner;
        long long o = e / (n * inner);
        dx[e] = __fdiv_rn(dy[o * inner + i], divisor);
    }
}

extern "C" __global__ void evonas_reduce_max_backward(const float* __restrict__ dy, const int* __restrict__ idx,
                                                       float* __restrict__ dx, long long outer, long long n,
                                                       long long inner) {
    long long total = outer * n * inner;
    for (long long e = gtid(); e < total; e += gstride()) {
        long long i = e % inner;
        long long ok = e / inner;
        long long k = ok % n;
        long long o = ok / n;
        long long r = o * inner + i;
        dx[e] = idx[r] == k ? dy[r] : 0.0f;
    }
}

extern "C" __global__ void evonas_reduce_softmax_rows(const float* x, float* y, long long rows, long long n) {
    softmax_rows<false>(x, y, rows, n);
}

extern "C" __global__ void evonas_reduce_log_softmax_rows(const float* x, float* y, long long rows, long long n) {
    softmax_rows<true>(x, y, rows, n);
}

extern "C" __global__ void evonas_reduce_softmax_cols(const float* x, float* y, long long outer, long long n,
                                                       long long inner) {
    softmax_cols<false>(x, y, outer, n, inner);
}

extern "C" __global__ void evonas_reduce_log_softmax_cols(const float* x, float* y, long long outer, long long n,
                                                           long long inner) {
    softmax_cols<true>(x, y, outer, n, inner);
}

extern "C" __global__ void evonas_reduce_softmax_backward_rows(const float* y, const float* dy, float* dx,
                                                                long long rows, long long n) {
    softmax_backward_rows<false>(y, dy, dx, rows, n);
}

extern "C" __global__ void evonas_reduce_log_softmax_backward_rows(const float* y, const float* dy, float* dx,
                                                                    long long rows, long long n) {
    softmax_backward_rows<true>(y, dy, dx, rows, n);
}

extern "C" __global__ void evonas_reduce_softmax_backward_cols(const float* y, const float* dy, float* dx,
                                                                long long outer, long long n, long long inner) {
    softmax_backward_cols<false>(y, dy, dx, outer, n, inner);
}

extern "C" __global__ void evonas_reduce_log_softmax_backward_cols(const float* y, const float* dy, float* dx,
                                                                    long long outer, long long n,
                                                                    long long inner) {
    softmax_backward_cols<true>(y, dy, dx, outer, n, inner);
}

} // namespace evonas_rd
