// evonas CUDA kernels: convolution family.
//
// 2-D convolution on NCHW float32 tensors as io.evonas.tensor.cpu.Conv2d (PyTorch's conv2d, a cross-correlation)
// with its gradients, as implicit GEMMs: the im2col matrix is never formed, each tile of it is gathered from the
// image straight into shared memory. Geometry arguments are ConvSpec's fields and ConvGeometry's sizes:
//   x [N, C, H, W], w [OC, C, KH, KW], b [OC], y [N, OC, OH, OW]; OH = spec.outH(H), OW = spec.outW(W)
//   stride (SH, SW), padding top PT / left PL (bottom and right padding only shape OH, OW, which are passed),
//   dilation (DH, DW). Any kernel size (1x1 .. 7x7 and beyond, rectangular), stride, padding and dilation.
//   y[n, o, r, q] = b[o] + sum_{c, i, j} w[o, c, i, j] * x[n, c, r*SH - PT + i*DH, q*SW - PL + j*DW]
//   (x is zero outside [0, H) x [0, W)).
// Conv1d ([N, C, L], w [OC, C, K]) is this with H = 1, KH = 1, SH = DH = 1, PT = 0, OH = 1 (ConvSpec.of1d and
// Conv1d do exactly that on the CPU).
//
// Every GEMM here is C[M x Ncols] = A[M x Kd] * B[Kd x Ncols] on 64 x 64 block tiles, k-slabs of BK = 16,
// 256 threads each owning a 4 x 4 sub-tile (rows ty + 16 i, columns tx + 16 j: neighbouring threads write
// neighbouring output positions, so the NCHW stores are coalesced), double-buffered shared slabs with the next
// slab's gathers in registers while the current one is multiplied. Accumulation in float along k in order.
//
// Kernels:
//   evonas_conv_forward(const float* x, const float* w, const float* bias, float* y,
//           int N, int C, int H, int W, int OC, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL,
//           int DH, int DW)
//       y = conv2d(x, w) + bias (bias may be null). GEMM M = OC, Ncols = N*OH*OW, Kd = C*KH*KW:
//       A = w viewed [OC, C*KH*KW], B = im2col(x). grid = (ceil(N*OH*OW / 64), ceil(OC / 64)), block = 256.
//                                                                            Conv2d.forward, Conv1d.forward
//   evonas_conv_backward_data(const float* dy, const float* w, float* dx, <same 15 ints>, float beta)
//       dx = beta * dx + conv2d input gradient (beta 0: overwrite, dx unread; 1: Conv2d's accumulate).
//       GEMM M = C, Ncols = N*H*W, Kd = OC*KH*KW: A[c][(o, i, j)] = w[o, c, i, j],
//       B[(o, i, j)][(n, ih, iw)] = dy[n, o, r, q] where ih = r*SH - PT + i*DH (and likewise q), 0 when no such
//       integer r (or q) in range exists. grid = (ceil(N*H*W / 64), ceil(C / 64)), block = 256.
//                                                                            Conv2d.backwardInput
//   evonas_conv_backward_weight(const float* x, const float* dy, float* dw, <same 15 ints>, float beta,
//           long long splitStride)
//       Split-K weight gradient. GEMM M = OC, Ncols = C*KH*KW, Kd = N*OH*OW: A = dy viewed [OC][(n, r, q)],
//       B[(n, r, q)][(c, i, j)] = x[n, c, r*SH - PT + i*DH, q*SW - PL + j*DW]. grid = (ceil(C*KH*KW / 64),
//       ceil(OC / 64), splits), block = 256: block z sums the positions [z*chunk, (z+1)*chunk), chunk =
//       ceil(ceil(N*OH*OW / splits) / 16) * 16, and writes dw + z * splitStride (an [OC, C, KH, KW] slab) =
//       its partial sum + beta * (what is there). With splits = 1: pass dw itself, beta 0 (overwrite) or 1
//       (accumulate). With splits > 1 (needed for parallelism when OC * C*KH*KW is small and N*OH*OW large):
//       pass a workspace of splits * OC*C*KH*KW floats, splitStride = OC*C*KH*KW, beta 0, then
//       evonas_conv_sum_partials. Deterministic: no atomics.                   Conv2d.backwardWeights (dw)
//   evonas_conv_sum_partials(const float* partials, int splits, long long count, float* out, float beta)
//       out[i] = beta * out[i] + sum_{z in order} partials[z * count + i]. Grid-stride, any grid.
//   evonas_conv_backward_bias(const float* dy, float* db, int N, int OC, int OHW, float beta)
//       db[o] = beta * db[o] + sum_{n, p} dy[n, o, p], summed in double in a fixed tree.
//       grid = OC (one block per channel), block = 256 (a multiple of 32).   Conv2d.backwardWeights (db)
//
// Outputs must not overlap inputs (as on the CPU). Sizes: N*C*H*W, N*OC*OH*OW and the GEMM dims must fit int
// (as on the CPU, whose indices are ints); element offsets are computed in 64 bits.

namespace evonas_conv {

constexpr int BM = 64;
constexpr int BN = 64;
constexpr int BK = 16;
constexpr int PAD = 4;

struct Geo {
    int N, C, H, W, OC, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW;
    __device__ int khw() const { return KH * KW; }
    __device__ int ohw() const { return OH * OW; }
    __device__ int hw() const { return H * W; }
};

// ---------------------------------------------------------------- the implicit-GEMM engine
//
// A problem P supplies:
//   void prepA(int k)           once per slab: the thread's A column k (k < Kd guaranteed)
//   float loadA(int m)          A[m][k] for the prepared k (m < M guaranteed)
//   void prepB(int n)           once per block: the thread's B column n (n < Ncols guaranteed)
//   float loadB(int k)          B[k][n] for the prepared n (k < kEnd guaranteed)
// Slab loads: A slab 64 x 16 -> element e = tid + 256 j (j < 4): m = e / 16, k = e % 16, so a thread's k is
// fixed (tid % 16) and its rows are tid / 16 + 16 j; B slab 16 x 64 -> k = e / 64 = tid / 64 + 4 j, n = e % 64 =
// tid % 64, fixed per thread.
template <class P>
__device__ __forceinline__ void igemm(P& p, int M, int Ncols, int kBegin, int kEnd, int m0, int n0,
                                      float (&acc)[4][4]) {
    __shared__ float As[2][BK][BM + PAD];
    __shared__ float Bs[2][BK][BN + PAD];
    const int tid = threadIdx.x;
    const int ty = tid >> 4;
    const int tx = tid & 15;
    const int aK = tid & 15;
    const int aM = tid >> 4;
    const int bN = tid & 63;
    const int bK = tid >> 6;
    const bool bValid = n0 + bN < Ncols;
    if (bValid) {
        p.prepB(n0 + bN);
    }
    float ra[4];
    float rb[4];

    auto gather = [&](int k0) {
        int ka = k0 + aK;
        bool kaValid = ka < kEnd;
        if (kaValid) {
            p.prepA(ka);
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int m = m0 + aM + 16 * j;
            ra[j] = (kaValid && m < M) ? p.loadA(m) : 0.f;
        }
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int kb = k0 + bK + 4 * j;
            rb[j] = (bValid && kb < kEnd) ? p.loadB(kb) : 0.f;
        }
    };
    auto store = [&](int buf) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            As[buf][aK][aM + 16 * j] = ra[j];
            Bs[buf][bK + 4 * j][bN] = rb[j];
        }
    };

    if (kEnd <= kBegin) {
        return;
    }
    const int tiles = (kEnd - kBegin + BK - 1) / BK;
    gather(kBegin);
    store(0);
    __syncthreads();
    for (int t = 0; t < tiles; t++) {
        const int cur = t & 1;
        const bool more = t + 1 < tiles;
        if (more) {
            gather(kBegin + (t + 1) * BK);
        }
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            float a[4];
            float b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = As[cur][kk][ty + 16 * i];
                b[i] = Bs[cur][kk][tx + 16 * i];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
        }
        if (more) {
            store(cur ^ 1); // last read in iteration t - 1, finished before that iteration's __syncthreads
        }
        __syncthreads();
    }
}

// ---------------------------------------------------------------- forward: A = w [OC][C*KH*KW], B = im2col(x)

struct Forward {
    const float* x;
    const float* w;
    Geo g;
    int K;
    int ka;          // prepared A column
    long long xBase; // prepared B column: image base, top-left input row/col of the window
    int ih0, iw0;

    __device__ void prepA(int k) { ka = k; }
    __device__ float loadA(int m) { return __ldg(w + (long long) m * K + ka); }
    __device__ void prepB(int p) {
        int ohw = g.ohw();
        int n = p / ohw;
        int rq = p - n * ohw;
        int r = rq / g.OW;
        int q = rq - r * g.OW;
        xBase = (long long) n * g.C * g.hw();
        ih0 = r * g.SH - g.PT;
        iw0 = q * g.SW - g.PL;
    }
    __device__ float loadB(int k) {
        int khw = g.khw();
        int c = k / khw;
        int ij = k - c * khw;
        int i = ij / g.KW;
        int j = ij - i * g.KW;
        int ih = ih0 + i * g.DH;
        int iw = iw0 + j * g.DW;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0.f;
        return __ldg(x + xBase + ((long long) c * g.H + ih) * g.W + iw);
    }
};

// ---------------------------------------------------------------- backward data: A = w as [C][(o,i,j)], B = dy

struct BackwardData {
    const float* dy;
    const float* w;
    Geo g;
    int o, ij, i, j;     // prepared A column (o, i, j)
    long long dyBase;    // prepared B column: image n's dy, and the input position (ih, iw) + padding
    int ihp, iwp;

    __device__ void prepA(int k) {
        int khw = g.khw();
        o = k / khw;
        ij = k - o * khw;
    }
    __device__ float loadA(int c) { return __ldg(w + ((long long) o * g.C + c) * g.khw() + ij); }
    __device__ void prepB(int p) {
        int hw = g.hw();
        int n = p / hw;
        int rem = p - n * hw;
        int ih = rem / g.W;
        int iw = rem - ih * g.W;
        dyBase = (long long) n * g.OC * g.ohw();
        ihp = ih + g.PT;
        iwp = iw + g.PL;
    }
    __device__ float loadB(int k) {
        // x[ih] was read by output r at kernel row i iff ih = r*SH - PT + i*DH, i.e. r = (ih + PT - i*DH) / SH
        // exactly, with 0 <= r < OH.
        int khw = g.khw();
        int oo = k / khw;
        int rem = k - oo * khw;
        int ii = rem / g.KW;
        int jj = rem - ii * g.KW;
        int th = ihp - ii * g.DH;
        int tw = iwp - jj * g.DW;
        if (th < 0 || tw < 0) return 0.f;
        int r = th / g.SH;
        int q = tw / g.SW;
        if (r * g.SH != th || q * g.SW != tw || r >= g.OH || q >= g.OW) return 0.f;
        return __ldg(dy + dyBase + (long long) oo * g.ohw() + r * g.OW + q);
    }
};

// ---------------------------------------------------------------- backward weight: A = dy [OC][(n,r,q)], B = im2colᵀ

struct BackwardWeight {
    const float* x;
    const float* dy;
    Geo g;
    long long dyCol;  // prepared A column (n, r, q): offset of dy[n, 0, r, q]
    int c, di, dj;    // prepared B column (c, i, j): channel and the dilated kernel offsets i*DH, j*DW

    __device__ void prepA(int p) {
        int ohw = g.ohw();
        int n = p / ohw;
        int rq = p - n * ohw;
        dyCol = (long long) n * g.OC * ohw + rq;
    }
    __device__ float loadA(int o) { return __ldg(dy + dyCol + (long long) o * g.ohw()); }
    __device__ void prepB(int k) {
        int khw = g.khw();
        c = k / khw;
        int ij = k - c * khw;
        int i = ij / g.KW;
        int j = ij - i * g.KW;
        di = i * g.DH - g.PT;
        dj = j * g.DW - g.PL;
    }
    __device__ float loadB(int p) {
        int ohw = g.ohw();
        int n = p / ohw;
        int rq = p - n * ohw;
        int r = rq / g.OW;
        int q = rq - r * g.OW;
        int ih = r * g.SH + di;
        int iw = q * g.SW + dj;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0.f;
        return __ldg(x + (((long long) n * g.C + c) * g.H + ih) * g.W + iw);
    }
};

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

#define EVONAS_CONV_GEO_PARAMS                                                                                   \
    int N, int C, int H, int W, int OC, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL, int DH,  \
            int DW
#define EVONAS_CONV_GEO {N, C, H, W, OC, OH, OW, KH, KW, SH, SW, PT, PL, DH, DW}

extern "C" __global__ void __launch_bounds__(256) evonas_conv_forward(const float* __restrict__ x,
                                                                      const float* __restrict__ w,
                                                                      const float* __restrict__ bias,
                                                                      float* __restrict__ y,
                                                                      EVONAS_CONV_GEO_PARAMS) {
    Forward p;
    p.x = x;
    p.w = w;
    p.g = Geo EVONAS_CONV_GEO;
    p.K = C * KH * KW;
    const int M = OC;
    const int Ncols = N * OH * OW;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    if (m0 >= M || n0 >= Ncols) return;
    float acc[4][4] = {};
    igemm(p, M, Ncols, 0, p.K, m0, n0, acc);
    const int ty = threadIdx.x >> 4;
    const int tx = threadIdx.x & 15;
    const int ohw = OH * OW;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        int col = n0 + tx + 16 * j;
        if (col >= Ncols) continue;
        int n = col / ohw;
        int rq = col - n * ohw;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int o = m0 + ty + 16 * i;
            if (o >= M) continue;
            float v = bias ? __fadd_rn(__ldg(bias + o), acc[i][j]) : acc[i][j];
            y[((long long) n * OC + o) * ohw + rq] = v;
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) evonas_conv_backward_data(const float* __restrict__ dy,
                                                                            const float* __restrict__ w,
                                                                            float* __restrict__ dx,
                                                                            EVONAS_CONV_GEO_PARAMS, float beta) {
    BackwardData p;
    p.dy = dy;
    p.w = w;
    p.g = Geo EVONAS_CONV_GEO;
    const int M = C;
    const int Ncols = N * H * W;
    const int Kd = OC * KH * KW;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    if (m0 >= M || n0 >= Ncols) return;
    float acc[4][4] = {};
    igemm(p, M, Ncols, 0, Kd, m0, n0, acc);
    const int ty = threadIdx.x >> 4;
    const int tx = threadIdx.x & 15;
    const int hw = H * W;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        int col = n0 + tx + 16 * j;
        if (col >= Ncols) continue;
        int n = col / hw;
        int rem = col - n * hw;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int c = m0 + ty + 16 * i;
            if (c >= M) continue;
            float* q = dx + ((long long) n * C + c) * hw + rem;
            *q = beta != 0.f ? fmaf(beta, *q, acc[i][j]) : acc[i][j];
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) evonas_conv_backward_weight(const float* __restrict__ x,
                                                                              const float* __restrict__ dy,
                                                                              float* __restrict__ dw,
                                                                              EVONAS_CONV_GEO_PARAMS, float beta,
                                                                              long long splitStride) {
    BackwardWeight p;
    p.x = x;
    p.dy = dy;
    p.g = Geo EVONAS_CONV_GEO;
    const int M = OC;
    const int Ncols = C * KH * KW;
    const int P = N * OH * OW;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    if (m0 >= M || n0 >= Ncols) return;
    const int splits = gridDim.z;
    int chunk = (P + splits - 1) / splits;
    chunk = (chunk + BK - 1) / BK * BK;
    const int kBegin = min(P, (int) blockIdx.z * chunk);
    const int kEnd = min(P, kBegin + chunk);
    float acc[4][4] = {};
    igemm(p, M, Ncols, kBegin, kEnd, m0, n0, acc); // an empty range leaves acc at 0: the slab is still written
    float* out = dw + (long long) blockIdx.z * splitStride;
    const int ty = threadIdx.x >> 4;
    const int tx = threadIdx.x & 15;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int o = m0 + ty + 16 * i;
        if (o >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int col = n0 + tx + 16 * j;
            if (col >= Ncols) continue;
            float* q = out + (long long) o * Ncols + col;
            *q = beta != 0.f ? fmaf(beta, *q, acc[i][j]) : acc[i][j];
        }
    }
}

extern "C" __global__ void evonas_conv_sum_partials(const float* __restrict__ partials, int splits,
                                                     long long count, float* __restrict__ out, float beta) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (long long) gridDim.x * blockDim.x) {
        float s = 0.f;
        for (int z = 0; z < splits; z++) s = __fadd_rn(s, partials[(long long) z * count + i]);
        out[i] = beta != 0.f ? fmaf(beta, out[i], s) : s;
    }
}

extern "C" __global__ void evonas_conv_backward_bias(const float* __restrict__ dy, float* __restrict__ db, int N,
                                                      int OC, int OHW, float beta) {
    const int o = blockIdx.x;
    if (o >= OC) return; // uniform per block
    const long long per = (long long) N * OHW;
    double s = 0;
    for (long long e = threadIdx.x; e < per; e += blockDim.x) {
        long long n = e / OHW;
        long long r = e - n * OHW;
        s += dy[(n * OC + o) * OHW + r];
    }
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float v = (float) s;
        db[o] = beta != 0.f ? fmaf(beta, db[o], v) : v;
    }
}

} // namespace evonas_conv
