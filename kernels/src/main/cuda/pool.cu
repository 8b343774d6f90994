// evonas CUDA kernels: pooling family.
//
// Mirrors io.evonas.tensor.cpu.Pool2d with a PoolSpec window: x, dx [N, C, H, W]; y, dy [N, C, OH, OW] with
// OH = spec.outHeight(H), OW = spec.outWidth(W) (floor mode); planes = N * C, each pooled on its own. Window of
// output (oy, ox): rows oy*SH - PT + [0, KH), columns ox*SW - PL + [0, KW), clipped to the plane (padding never
// wins a max and adds nothing to a mean; PoolSpec guarantees a real element in every window). Argmax indices
// are int positions iy * W + ix within the input plane (Pool2d's int[] argmax).
//
// Kernels (grid-stride loops unless stated; 256 threads per block):
//   evonas_pool_max_forward(const float* x, float* y, int* argmax, int planes, int H, int W, int OH, int OW,
//           int KH, int KW, int SH, int SW, int PT, int PL)
//       One thread per output. Winner: the first maximum in row-major window order, except that a NaN wins
//       (v > best || v != v, so of several NaNs the last). argmax may be null.  Pool2d.maxPool
//   evonas_pool_max_backward(const float* dy, const int* argmax, float* dx, int planes, int H, int W, int OH,
//           int OW, int KH, int KW, int SH, int SW, int PT, int PL)
//       dx[i] = sum of dy[o] over the outputs o whose window holds i and whose argmax is i, added in increasing
//       o: the CPU's scatter order, so the result is bit-identical — computed as a gather (one thread per input
//       element, no atomics, deterministic).                               Pool2d.maxPoolBackward
//   evonas_pool_mean_forward(const float* x, float* y, <planes .. PL as above>, int twoByTwo)
//       y = (sum of the window's real elements in row-major order, in float) * (1f / (KH * KW)): the divisor
//       counts padding (count_include_pad = True), as Pool2d.meanPool. twoByTwo: pass 1 exactly when the spec
//       equals PoolSpec.of(2) (2x2, stride 2, no padding on any side), where the CPU sums ((a + b) + (c + d));
//       then the result is bit-identical to the CPU's in every case.
//   evonas_pool_mean_backward(const float* dy, float* dx, <planes .. PL>)
//       dx[i] = sum over windows o holding i, in increasing o, of dy[o] * (1f / (KH * KW)); a gather,
//       bit-identical to Pool2d.meanPoolBackward's scatter.
//   evonas_pool_global_max_forward(const float* x, float* y, int* argmax, int planes, int HW)
//       One block per plane (grid = planes; blockDim.x a multiple of 32, 256 suggested). Same winner rule as
//       max_forward (first maximum, a NaN wins, the last NaN of several); argmax may be null.
//                                                                          Pool2d.globalMaxPool
//   evonas_pool_global_max_backward(const float* dy, const int* argmax, float* dx, int planes, int HW)
//       dx[p][i] = i == argmax[p] ? 0 + dy[p] : 0. Grid-stride over dx.    Pool2d.globalMaxPoolBackward
//   evonas_pool_global_mean_forward(const float* x, float* y, int planes, int HW)
//       One block per plane: y = (float) (sum in double / HW).             Pool2d.globalMeanPool
//   evonas_pool_global_mean_backward(const float* dy, float* dx, int planes, int HW)
//       dx[p][i] = dy[p] / HW (float division). Grid-stride.                Pool2d.globalMeanPoolBackward
//
// y/dy may be [N, C, 1, 1] or [N, C] for the global kernels (same memory). Outputs must not overlap inputs.

namespace evonas_pool {

__device__ __forceinline__ long long gtid() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long gstride() {
    return (long long) gridDim.x * blockDim.x;
}

// The outputs along one axis whose windows hold input position i: o*S - P <= i < o*S - P + K, 0 <= o < O.
__device__ __forceinline__ void covering(int i, int K, int S, int P, int O, int& lo, int& hi) {
    int t = i + P;             // o*S <= t and o*S > t - K
    int up = t / S;            // largest o with o*S <= t (t >= 0 since i >= 0, P >= 0)
    int d = t - K + 1;         // smallest o with o*S >= d
    int down = d <= 0 ? 0 : (d + S - 1) / S;
    lo = down;
    hi = min(up, O - 1);
}

// Candidate a (value, index) replaces the current best under the CPU's window rule v > best || v != v, where
// candidates arrive in increasing index. As a total order for tree reductions: NaN beats non-NaN; of two NaNs
// the larger index; of two numbers the greater, and of equal ones the smaller index.
__device__ __forceinline__ bool beats(float av, int ai, float bv, int bi) {
    bool an = av != av;
    bool bn = bv != bv;
    if (an || bn) {
        return an && (!bn || ai > bi);
    }
    return av > bv || (av == bv && ai < bi);
}

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
    __syncthreads();
    return r;
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

#define EVONAS_POOL_PARAMS int planes, int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL

extern "C" __global__ void evonas_pool_max_forward(const float* __restrict__ x, float* __restrict__ y,
                                                    int* __restrict__ argmax, EVONAS_POOL_PARAMS) {
    long long total = (long long) planes * OH * OW;
    for (long long o = gtid(); o < total; o += gstride()) {
        long long p = o / ((long long) OH * OW);
        int rem = (int) (o - p * OH * OW);
        int oy = rem / OW;
        int ox = rem - oy * OW;
        int y0 = oy * SH - PT;
        int x0 = ox * SW - PL;
        int ys = max(y0, 0), ye = min(y0 + KH, H);
        int xs = max(x0, 0), xe = min(x0 + KW, W);
        const float* plane = x + p * H * W;
        int bi = ys * W + xs;
        float best = plane[bi];
        for (int iy = ys; iy < ye; iy++) {
            int row = iy * W;
            for (int ix = xs; ix < xe; ix++) {
                float v = plane[row + ix];
                bool take = v > best || v != v;
                best = take ? v : best;
                bi = take ? row + ix : bi;
            }
        }
        y[o] = best;
        if (argmax) argmax[o] = bi;
    }
}

extern "C" __global__ void evonas_pool_max_backward(const float* __restrict__ dy, const int* __restrict__ argmax,
                                                     float* __restrict__ dx, EVONAS_POOL_PARAMS) {
    long long total = (long long) planes * H * W;
    for (long long e = gtid(); e < total; e += gstride()) {
        long long p = e / ((long long) H * W);
        int i = (int) (e - p * H * W);
        int iy = i / W;
        int ix = i - iy * W;
        int oy0, oy1, ox0, ox1;
        covering(iy, KH, SH, PT, OH, oy0, oy1);
        covering(ix, KW, SW, PL, OW, ox0, ox1);
        long long ob = p * OH * OW;
        float s = 0.f;
        for (int oy = oy0; oy <= oy1; oy++) {
            for (int ox = ox0; ox <= ox1; ox++) {
                long long o = ob + oy * OW + ox;
                if (argmax[o] == i) s = __fadd_rn(s, dy[o]);
            }
        }
        dx[e] = s;
    }
}

extern "C" __global__ void evonas_pool_mean_forward(const float* __restrict__ x, float* __restrict__ y,
                                                     EVONAS_POOL_PARAMS, int twoByTwo) {
    float inv = __fdiv_rn(1.0f, (float) (KH * KW));
    long long total = (long long) planes * OH * OW;
    for (long long o = gtid(); o < total; o += gstride()) {
        long long p = o / ((long long) OH * OW);
        int rem = (int) (o - p * OH * OW);
        int oy = rem / OW;
        int ox = rem - oy * OW;
        int y0 = oy * SH - PT;
        int x0 = ox * SW - PL;
        int ys = max(y0, 0), ye = min(y0 + KH, H);
        int xs = max(x0, 0), xe = min(x0 + KW, W);
        const float* plane = x + p * H * W;
        if (twoByTwo) { // Pool2d.meanPlane2x2: ((a + b) + (c + d)) * 0.25f, windows always whole
            const float* r0 = plane + ys * W + xs;
            const float* r1 = r0 + W;
            y[o] = __fmul_rn(__fadd_rn(__fadd_rn(r0[0], r0[1]), __fadd_rn(r1[0], r1[1])), 0.25f);
            continue;
        }
        float s = 0.f;
        for (int iy = ys; iy < ye; iy++) {
            for (int ix = xs; ix < xe; ix++) s = __fadd_rn(s, plane[iy * W + ix]);
        }
        y[o] = __fmul_rn(s, inv);
    }
}

extern "C" __global__ void evonas_pool_mean_backward(const float* __restrict__ dy, float* __restrict__ dx,
                                                      EVONAS_POOL_PARAMS) {
    float inv = __fdiv_rn(1.0f, (float) (KH * KW));
    long long total = (long long) planes * H * W;
    for (long long e = gtid(); e < total; e += gstride()) {
        long long p = e / ((long long) H * W);
        int i = (int) (e - p * H * W);
        int iy = i / W;
        int ix = i - iy * W;
        int oy0, oy1, ox0, ox1;
        covering(iy, KH, SH, PT, OH, oy0, oy1);
        covering(ix, KW, SW, PL, OW, ox0, ox1);
        long long ob = p * OH * OW;
        float s = 0.f;
        for (int oy = oy0; oy <= oy1; oy++) {
            for (int ox = ox0; ox <= ox1; ox++) s = __fadd_rn(s, __fmul_rn(dy[ob + oy * OW + ox], inv));
        }
        dx[e] = s;
    }
}

extern "C" __global__ void evonas_pool_global_max_forward(const float* __restrict__ x, float* __restrict__ y,
                                                           int* __restrict__ argmax, int planes, int HW) {
    __shared__ float pv[32];
    __shared__ int pi[32];
    for (int p = blockIdx.x; p < planes; p += gridDim.x) {
        const float* plane = x + (long long) p * HW;
        float best = -INFINITY;
        int bi = 0x7fffffff; // loses to every real candidate (an equal value with a smaller index)
        for (int i = threadIdx.x; i < HW; i += blockDim.x) {
            float v = plane[i];
            if (beats(v, i, best, bi)) { best = v; bi = i; }
        }
        int lane = threadIdx.x & 31;
        int warp = threadIdx.x >> 5;
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_down_sync(0xffffffffu, best, o);
            int oi = __shfl_down_sync(0xffffffffu, bi, o);
            if (beats(ov, oi, best, bi)) { best = ov; bi = oi; }
        }
        if (lane == 0) { pv[warp] = best; pi[warp] = bi; }
        __syncthreads();
        if (warp == 0) {
            int warps = (blockDim.x + 31) >> 5;
            best = lane < warps ? pv[lane] : -INFINITY;
            bi = lane < warps ? pi[lane] : 0x7fffffff;
            for (int o = 16; o > 0; o >>= 1) {
                float ov = __shfl_down_sync(0xffffffffu, best, o);
                int oi = __shfl_down_sync(0xffffffffu, bi, o);
                if (beats(ov, oi, best, bi)) { best = ov; bi = oi; }
            }
            if (lane == 0) {
                y[p] = best;
                if (argmax) argmax[p] = bi;
            }
        }
        __syncthreads();
    }
}

extern "C" __global__ void evonas_pool_global_max_backward(const float* __restrict__ dy,
                                                            const int* __restrict__ argmax, float* __restrict__ dx,
                                                            int planes, int HW) {
    long long total = (long long) planes * HW;
    for (long long e = gtid(); e < total; e += gstride()) {
        long long p = e / HW;
        int i = (int) (e - p * HW);
        dx[e] = argmax[p] == i ? __fadd_rn(0.0f, dy[p]) : 0.0f;
    }
}

extern "C" __global__ void evonas_pool_global_mean_forward(const float* __restrict__ x, float* __restrict__ y,
                                                            int planes, int HW) {
    for (int p = blockIdx.x; p < planes; p += gridDim.x) {
        const float* plane = x + (long long) p * HW;
        double s = 0;
        for (int i = threadIdx.x; i < HW; i += blockDim.x) s += plane[i];
        s = block_sum(s);
        if (threadIdx.x == 0) y[p] = (float) (s / HW);
    }
}

extern "C" __global__ void evonas_pool_global_mean_backward(const float* __restrict__ dy, float* __restrict__ dx,
                                                             int planes, int HW) {
    long long total = (long long) planes * HW;
    for (long long e = gtid(); e < total; e += gstride()) {
        dx[e] = __fdiv_rn(dy[e / HW], (float) HW);
    }
}

} // namespace evonas_pool
