// evonas CUDA kernels: batch-normalisation family.
//
// Mirrors io.evonas.tensor.cpu.BatchNorm: x [N, C, ...] seen as [n, c, s] (s = product of the dims after the
// channel axis; 1 for [N, C]); each channel normalised over its m = n * s values. Per-channel vectors
// (gamma, beta, runningMean, runningVar, saveMean, saveInvStd, dgamma, dbeta) are [c].
//
// Training forward, three launches:
//   1. evonas_batchnorm_stats_partial(const float* x, int n, int c, int s, int chunks, double* ws)
//        grid = (chunks, c), block = 256 (a multiple of 32). Block (z, ch) sums, over its chunk
//        [z * per, min(m, (z + 1) * per)), per = ceil(m / chunks), of channel ch's values v, in double,
//        d = v - K and d^2, where K = x[0, ch, 0] (the channel's first value): the "shifted data" form of the
//        two-pass variance, so no cancellation unless |mean - K| >> std. ws[(ch * chunks + z) * 2 + {0, 1}].
//        chunks ~ max(1, 2 * SMs / c) fills the GPU; ws holds c * chunks * 2 doubles.
//   2. evonas_batchnorm_stats_finalize(const double* ws, int chunks, const float* x, int n, int c, int s,
//           float momentum, float eps, const float* gamma, const float* beta, float* runningMean,
//           float* runningVar, float* saveMean, float* saveInvStd, float* coef)
//        One thread per channel (grid-stride; 1 block of 256 for most c). Adds the chunks in order:
//        mean = K + S1 / m, var = max(0, (S2 - S1^2 / m) / m) (biased), invStd = 1 / sqrt(var + eps) (double);
//        runningMean = (float) ((1 - momentum) * runningMean + momentum * mean),
//        runningVar = (float) ((1 - momentum) * runningVar + momentum * var * m / (m - 1))   (unbiased, PyTorch);
//        saveMean = hi = (float) mean, saveInvStd = (float) invStd, and coef[3 ch ..] = {lo = (float) (mean - hi),
//        scale = (float) (gamma * invStd), shift = beta} for step 3 (coef: 3 * c floats). m must be >= 2 (the
//        CPU refuses training otherwise).                                     BatchNorm.forwardTraining
//   3. evonas_batchnorm_normalise(const float* x, float* y, int n, int c, int s, const float* hi,
//           const float* coef)
//        y = ((x - hi) - lo) * scale + shift (fused multiply-add for s > 1, separate for s == 1, as the CPU's
//        two loops). Grid-stride, any grid. y may be x.
// Inference forward: evonas_batchnorm_inference_coef(const float* gamma, const float* beta,
//           const float* runningVar, float eps, int c, float* coef)  -> lo = 0, scale = (float) (gamma /
//        sqrt(runningVar + eps)), shift = beta; then evonas_batchnorm_normalise with hi = runningMean.
//                                                                              BatchNorm.forwardInference
// Backward (training: through the batch statistics; inference: statistics constant), three launches:
//   (inference only, first) evonas_batchnorm_inv_std(const float* runningVar, float eps, int c, float* invStd)
//        invStd = (float) (1 / sqrt(runningVar + eps)); then use runningMean as `mean` below.
//   1. evonas_batchnorm_backward_partial(const float* x, const float* dy, const float* mean, int n, int c,
//           int s, int chunks, double* ws)
//        grid = (chunks, c), block = 256: per chunk sum dy and dy * (x - mean) (x - mean in float) in double.
//   2. evonas_batchnorm_backward_finalize(const double* ws, int chunks, int n, int c, int s, const float* gamma,
//           const float* invStd, int training, float* dgamma, float* dbeta, float* coef)
//        One thread per channel: dbeta = Σ dy, dgamma = Σ dy (x - mean) * invStd, and coef[3 ch ..] =
//        {a = r γ, b = -r³ γ Σ dy (x - mean) / m, c = -r γ Σ dy / m} (b = c = 0 unless training), r = invStd.
//   3. evonas_batchnorm_backward_dx(const float* x, const float* dy, float* dx, const float* mean,
//           const float* coef, int n, int c, int s)
//        dx = dy * a + ((x - mean) * b + c) (fused for s > 1, as the CPU). Grid-stride. dx may be dy.
//                                                                  BatchNorm.backward, backwardInference
// Statistics are summed in double in a fixed order (deterministic); the CPU sums float blocks in double, so the
// two agree to within an ulp or so of float in mean, invStd, dgamma and dbeta.

namespace evonas_bn {

__device__ __forceinline__ long long gtid() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long gstride() {
    return (long long) gridDim.x * blockDim.x;
}

// Sums two doubles per thread over the block; deterministic for a fixed blockDim.x. Valid in thread 0.
__device__ void block_sum2(double& a, double& b) {
    __shared__ double pa[32];
    __shared__ double pb[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, o);
        b += __shfl_down_sync(0xffffffffu, b, o);
    }
    if (lane == 0) { pa[warp] = a; pb[warp] = b; }
    __syncthreads();
    if (warp == 0) {
        int warps = (blockDim.x + 31) >> 5;
        a = lane < warps ? pa[lane] : 0.0;
        b = lane < warps ? pb[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) {
            a += __shfl_down_sync(0xffffffffu, a, o);
            b += __shfl_down_sync(0xffffffffu, b, o);
        }
    }
    __syncthreads();
}

// Element index of the v-th value (v < n * s) of channel ch: x[(i * c + ch) * s + j], v = i * s + j.
__device__ __forceinline__ long long at(long long v, int ch, int c, int s) {
    long long i = v / s;
    long long j = v - i * s;
    return (i * c + ch) * s + j;
}

__device__ __forceinline__ void chunk_range(long long m, int chunks, int z, long long& from, long long& to) {
    long long per = (m + chunks - 1) / chunks;
    from = min(m, (long long) z * per);
    to = min(m, from + per);
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

extern "C" __global__ void evonas_batchnorm_stats_partial(const float* __restrict__ x, int n, int c, int s,
                                                           int chunks, double* __restrict__ ws) {
    const int ch = blockIdx.y;
    const int z = blockIdx.x;
    if (ch >= c || z >= chunks) return; // uniform per block
    const long long m = (long long) n * s;
    long long from, to;
    chunk_range(m, chunks, z, from, to);
    const double k = x[(long long) ch * s];
    double s1 = 0, s2 = 0;
    for (long long v = from + threadIdx.x; v < to; v += blockDim.x) {
        double d = (double) x[at(v, ch, c, s)] - k;
        s1 += d;
        s2 = fma(d, d, s2);
    }
    block_sum2(s1, s2);
    if (threadIdx.x == 0) {
        ws[((long long) ch * chunks + z) * 2] = s1;
        ws[((long long) ch * chunks + z) * 2 + 1] = s2;
    }
}

extern "C" __global__ void evonas_batchnorm_stats_finalize(const double* __restrict__ ws, int chunks,
                                                            const float* __restrict__ x, int n, int c, int s,
                                                            float momentum, float eps,
                                                            const float* __restrict__ gamma,
                                                            const float* __restrict__ beta, float* runningMean,
                                                            float* runningVar, float* saveMean, float* saveInvStd,
                                                            float* coef) {
    for (long long ch = gtid(); ch < c; ch += gstride()) {
        double s1 = 0, s2 = 0;
        for (int z = 0; z < chunks; z++) {
            s1 += ws[(ch * chunks + z) * 2];
            s2 += ws[(ch * chunks + z) * 2 + 1];
        }
        const double m = (double) n * s;
        const double k = x[ch * s];
        const double mean = k + s1 / m;
        const double var = fmax(0.0, (s2 - s1 * s1 / m) / m);
        const double invStd = 1.0 / sqrt(var + (double) eps);
        const float hi = (float) mean;
        const double mom = momentum;
        // (1 - momentum) * running + momentum * stat, in double as the CPU (no FMA contraction)
        runningMean[ch] = (float) __dadd_rn(__dmul_rn(1.0 - mom, (double) runningMean[ch]), __dmul_rn(mom, mean));
        double unbiased = __ddiv_rn(__dmul_rn(__dmul_rn(mom, var), m), m - 1.0);
        runningVar[ch] = (float) __dadd_rn(__dmul_rn(1.0 - mom, (double) runningVar[ch]), unbiased);
        saveMean[ch] = hi;
        saveInvStd[ch] = (float) invStd;
        coef[3 * ch] = (float) (mean - (double) hi);
        coef[3 * ch + 1] = (float) __dmul_rn((double) gamma[ch], invStd);
        coef[3 * ch + 2] = beta[ch];
    }
}

extern "C" __global__ void evonas_batchnorm_inference_coef(const float* __restrict__ gamma,
                                                            const float* __restrict__ beta,
                                                            const float* __restrict__ runningVar, float eps, int c,
                                                            float* __restrict__ coef) {
    for (long long ch = gtid(); ch < c; ch += gstride()) {
        coef[3 * ch] = 0.0f;
        coef[3 * ch + 1] = (float) ((double) gamma[ch] / sqrt((double) runningVar[ch] + (double) eps));
        coef[3 * ch + 2] = beta[ch];
    }
}

extern "C" __global__ void evonas_batchnorm_normalise(const float* x, float* y, int n, int c, int s,
                                                       const float* __restrict__ hi,
                                                       const float* __restrict__ coef) {
    const long long total = (long long) n * c * s;
    for (long long e = gtid(); e < total; e += gstride()) {
        int ch = (int) ((e / s) % c);
        float d = __fsub_rn(__fsub_rn(x[e], hi[ch]), coef[3 * ch]);
        float scale = coef[3 * ch + 1];
        float shift = coef[3 * ch + 2];
        y[e] = s == 1 ? __fadd_rn(__fmul_rn(d, scale), shift) : fmaf(d, scale, shift);
    }
}

extern "C" __global__ void evonas_batchnorm_inv_std(const float* __restrict__ runningVar, float eps, int c,
                                                     float* __restrict__ invStd) {
    for (long long ch = gtid(); ch < c; ch += gstride()) {
        invStd[ch] = (float) (1.0 / sqrt((double) runningVar[ch] + (double) eps));
    }
}

extern "C" __global__ void evonas_batchnorm_backward_partial(const float* __restrict__ x,
                                                              const float* __restrict__ dy,
                                                              const float* __restrict__ mean, int n, int c, int s,
                                                              int chunks, double* __restrict__ ws) {
    const int ch = blockIdx.y;
    const int z = blockIdx.x;
    if (ch >= c || z >= chunks) return;
    const long long m = (long long) n * s;
    long long from, to;
    chunk_range(m, chunks, z, from, to);
    const float mu = mean[ch];
    double s1 = 0, s2 = 0;
    for (long long v = from + threadIdx.x; v < to; v += blockDim.x) {
        long long e = at(v, ch, c, s);
        double g = dy[e];
        s1 += g;
        s2 = fma(g, (double) __fsub_rn(x[e], mu), s2);
    }
    block_sum2(s1, s2);
    if (threadIdx.x == 0) {
        ws[((long long) ch * chunks + z) * 2] = s1;
        ws[((long long) ch * chunks + z) * 2 + 1] = s2;
    }
}

extern "C" __global__ void evonas_batchnorm_backward_finalize(const double* __restrict__ ws, int chunks, int n,
                                                               int c, int s, const float* __restrict__ gamma,
                                                               const float* __restrict__ invStd, int training,
                                                               float* __restrict__ dgamma,
                                                               float* __restrict__ dbeta,
                                                               float* __restrict__ coef) {
    for (long long ch = gtid(); ch < c; ch += gstride()) {
        double sumDy = 0, sumDyDev = 0;
        for (int z = 0; z < chunks; z++) {
            sumDy += ws[(ch * chunks + z) * 2];
            sumDyDev += ws[(ch * chunks + z) * 2 + 1];
        }
        const double m = (double) n * s;
        const double r = invStd[ch];
        const double ga = gamma[ch];
        dbeta[ch] = (float) sumDy;
        dgamma[ch] = (float) __dmul_rn(sumDyDev, r);
        coef[3 * ch] = (float) __dmul_rn(r, ga);
        if (training) {
            // -r * r * r * ga * sumDyDev / m and -r * ga * sumDy / m, left to right as the CPU
            double b = __ddiv_rn(__dmul_rn(__dmul_rn(__dmul_rn(__dmul_rn(-r, r), r), ga), sumDyDev), m);
            double cc = __ddiv_rn(__dmul_rn(__dmul_rn(-r, ga), sumDy), m);
            coef[3 * ch + 1] = (float) b;
            coef[3 * ch + 2] = (float) cc;
        } else {
            coef[3 * ch + 1] = 0.0f;
            coef[3 * ch + 2] = 0.0f;
        }
    }
}

extern "C" __global__ void evonas_batchnorm_backward_dx(const float* __restrict__ x, const float* dy, float* dx,
                                                         const float* __restrict__ mean,
                                                         const float* __restrict__ coef, int n, int c, int s) {
    const long long total = (long long) n * c * s;
    for (long long e = gtid(); e < total; e += gstride()) {
        int ch = (int) ((e / s) % c);
        float d = __fsub_rn(x[e], mean[ch]);
        float a = coef[3 * ch], b = coef[3 * ch + 1], cc = coef[3 * ch + 2];
        float g = dy[e];
        dx[e] = s == 1 ? __fadd_rn(__fmul_rn(g, a), __fadd_rn(__fmul_rn(d, b), cc)) : fmaf(g, a, fmaf(d, b, cc));
    }
}

} // namespace evonas_bn
