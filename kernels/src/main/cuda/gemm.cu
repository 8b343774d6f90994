// evonas CUDA kernels: GEMM family.
//
// C = alpha * op(A) * op(B) + beta * C on row-major float32 matrices, as io.evonas.tensor.cpu.Sgemm.sgemm:
// op(A) is m x k, op(B) is k x n. Untransposed A is stored m x k with row stride lda >= k; transposed, k x m with
// lda >= m (likewise B: k x n with ldb >= n, or transposed n x k with ldb >= k); C is m x n with ldc >= n.
// beta == 0: C is overwritten and never read (NaN in C does not leak in). k == 0 or alpha == 0: C = beta * C
// (0 when beta == 0), A and B unread — Sgemm's early exit. Any m, n, k >= 0: partial tiles are bounds-checked.
//
// Kernels (all take the same arguments; NN/NT/TN/TT name transA/transB):
//   evonas_gemm_sgemm_{nn,nt,tn,tt}(int m, int n, int k, float alpha, const float* a, int lda,
//           const float* b, int ldb, float beta, float* c, int ldc)
//       FP32 (exact float FMAs, accumulation in float along k in order).
//       grid = (ceil(n / 128), ceil(m / 128)), block = 256. Mirrors Sgemm.sgemm.
//   evonas_gemm_tf32_{nn,nt,tn,tt}(same arguments)
//       TF32 tensor cores (nvcuda::wmma 16x16x8, FP32 accumulation), sm_80+.
//       grid = (ceil(n / 128), ceil(m / 128)), block = 256.
//       TF32 keeps 10 of float's 23 mantissa bits of each A and B element (round to nearest), so each product
//       carries a relative error up to about 2^-11 * 2 and a dot product's error is bounded by about
//       1e-3 * sum_k |a_ik| |b_kj| (typically ~1e-4 of it, errors being random); use it where that is acceptable
//       (training), not where results must match the CPU closely. The FP32 kernels agree with the CPU to float
//       rounding of a k-term sum (the summation order differs).
//   Both reject nothing: m, n, k <= 0 or a grid of 0 blocks simply does nothing.
//
// FP32 kernel design (the classic register-blocked SGEMM, cf. CUTLASS's SIMT sgemm and llm.c's matmul):
//   - Block tile 128 x 128 of C, k-slab BK = 8, 256 threads; each thread owns an 8 x 8 sub-tile held in 64
//     registers, as two 4-row by two 4-column groups (rows ty*4 + {0..3} and 64 + ty*4 + {0..3}, same for
//     columns with tx, where ty = tid / 16, tx = tid % 16), so the shared-memory reads are float4s that are
//     broadcast (A) or conflict-free (B).
//   - Shared memory holds the slabs k-major: As[kk][m] and Bs[kk][n] (8 x 128 each), double-buffered
//     (2 x 2 x 4 KiB). Per slab a thread loads 4 floats of A and 4 of B from global memory (one float4 each
//     when the matrix is 16-byte aligned, its leading dimension a multiple of 4 and the 4 elements in bounds;
//     otherwise 4 bounds-checked scalar loads), so the next slab's loads are in flight while the current slab
//     is multiplied; one __syncthreads per slab.
//   - Per slab, per thread: 8 x (2 + 2 float4 shared loads + 64 FMAs): 64 FMAs per 16 loaded floats.
//   - Loading an operand whose k index is contiguous in memory (A untransposed, B transposed) stores it
//     transposed into the k-major slab (2-way bank conflict on that store, once per slab).
//   Arithmetic intensity per block per slab: 2 * 128 * 128 * 8 flops for 2 * 128 * 8 * 4 bytes = 32 flop/byte
//   from global memory (L2), which keeps an H100/H200 SM FP32-bound. Expected: roughly 50-70% of cuBLAS FP32
//   at n = 4096 (measure with kernels/build-selfcheck && kernels/target/cuda-selfcheck).
//   Register use is bounded by __launch_bounds__(256, 2) (<= 128 registers, two blocks per SM).
//
// TF32 kernel design: block tile 128 x 128, BK = 16, 8 warps as 2 (m) x 4 (n); each warp owns 64 x 32 of C as
// 4 x 2 wmma accumulator fragments (16 x 16 x 8, FP32 accumulate). Slabs are stored row-major As[m][k] (stride
// 20 floats) and Bs[k][n] (stride 132), padded against bank conflicts and keeping every fragment pointer 32-byte
// aligned as wmma::load_matrix_sync requires; double-buffered with register prefetch as above; elements are
// rounded to TF32 once, when stored to shared memory. The epilogue stores each accumulator fragment to a
// per-warp 16 x 16 staging tile in shared memory and writes it out with bounds checks and alpha/beta.

#include <cstdint>
#include <mma.h>

namespace evonas_gemm {

constexpr int BM = 128;
constexpr int BN = 128;
constexpr int BK = 8;
constexpr int THREADS = 256;

__device__ __forceinline__ bool aligned16(const void* p, int ld) {
    return ((reinterpret_cast<uintptr_t>(p) & 15) == 0) && ((ld & 3) == 0);
}

// Four consecutive floats of row `row` (< rows), starting at column `col` of a row-major matrix with `cols`
// columns and leading dimension ld; out-of-range elements read as 0. Vector load when allowed and in bounds.
__device__ __forceinline__ float4 load4(const float* p, int ld, int row, int rows, int col, int cols, bool vec) {
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row >= rows) {
        return v;
    }
    const float* q = p + (long long) row * ld + col;
    if (vec && col + 3 < cols) {
        return __ldg(reinterpret_cast<const float4*>(q));
    }
    if (col < cols) v.x = __ldg(q);
    if (col + 1 < cols) v.y = __ldg(q + 1);
    if (col + 2 < cols) v.z = __ldg(q + 2);
    if (col + 3 < cols) v.w = __ldg(q + 3);
    return v;
}

// C[row][col .. col + 3] = alpha * acc + beta * C, bounds-checked; skip: alpha * acc is taken as 0.
__device__ __forceinline__ void store4(float* c, int ldc, int row, int m, int col, int n, float4 acc, float alpha,
                                       float beta, bool vec, bool skip) {
    if (row >= m) {
        return;
    }
    float* q = c + (long long) row * ldc + col;
    float r[4] = {acc.x, acc.y, acc.z, acc.w};
    if (vec && col + 3 < n) {
        float4 old = beta != 0.f ? *reinterpret_cast<float4*>(q) : make_float4(0.f, 0.f, 0.f, 0.f);
        float o[4] = {old.x, old.y, old.z, old.w};
        for (int j = 0; j < 4; j++) {
            float ab = skip ? 0.f : alpha * r[j];
            r[j] = beta != 0.f ? fmaf(beta, o[j], ab) : ab;
        }
        *reinterpret_cast<float4*>(q) = make_float4(r[0], r[1], r[2], r[3]);
        return;
    }
    for (int j = 0; j < 4; j++) {
        if (col + j < n) {
            float ab = skip ? 0.f : alpha * r[j];
            q[j] = beta != 0.f ? fmaf(beta, q[j], ab) : ab;
        }
    }
}

// Loads the next slab of A (rows m0.., k from k0) into registers: 4 floats per thread.
//   !TA (A[m][k], k contiguous): thread -> row tid / 2, k offset (tid % 2) * 4: a float4 along k.
//   TA  (A[k][m], m contiguous): thread -> k row tid / 32, m offset (tid % 32) * 4: a float4 along m.
template <bool TA>
__device__ __forceinline__ float4 load_a(const float* a, int lda, int m, int k, int m0, int k0, bool vec) {
    int t = threadIdx.x;
    if (!TA) {
        return load4(a, lda, m0 + (t >> 1), m, k0 + (t & 1) * 4, k, vec);
    }
    return load4(a, lda, k0 + (t >> 5), k, m0 + (t & 31) * 4, m, vec);
}

// Stores the registers of load_a into the k-major slab As[BK][BM].
template <bool TA>
__device__ __forceinline__ void store_a(float (*as)[BM], float4 v) {
    int t = threadIdx.x;
    if (!TA) {
        int row = t >> 1;
        int kq = (t & 1) * 4;
        as[kq + 0][row] = v.x;
        as[kq + 1][row] = v.y;
        as[kq + 2][row] = v.z;
        as[kq + 3][row] = v.w;
    } else {
        *reinterpret_cast<float4*>(&as[t >> 5][(t & 31) * 4]) = v;
    }
}

// B: !TB (B[k][n], n contiguous) is like TA; TB (B[n][k], k contiguous) is like !TA.
template <bool TB>
__device__ __forceinline__ float4 load_b(const float* b, int ldb, int n, int k, int n0, int k0, bool vec) {
    int t = threadIdx.x;
    if (!TB) {
        return load4(b, ldb, k0 + (t >> 5), k, n0 + (t & 31) * 4, n, vec);
    }
    return load4(b, ldb, n0 + (t >> 1), n, k0 + (t & 1) * 4, k, vec);
}

template <bool TB>
__device__ __forceinline__ void store_b(float (*bs)[BN], float4 v) {
    int t = threadIdx.x;
    if (!TB) {
        *reinterpret_cast<float4*>(&bs[t >> 5][(t & 31) * 4]) = v;
    } else {
        int col = t >> 1;
        int kq = (t & 1) * 4;
        bs[kq + 0][col] = v.x;
        bs[kq + 1][col] = v.y;
        bs[kq + 2][col] = v.z;
        bs[kq + 3][col] = v.w;
    }
}

template <bool TA, bool TB>
__device__ __forceinline__ void sgemm(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                                      const float* __restrict__ b, int ldb, float beta, float* __restrict__ c,
                                      int ldc) {
    __shared__ __align__(16) float As[2][BK][BM];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    if (m0 >= m || n0 >= n) {
        return; // uniform per block: no __syncthreads is skipped by part of a block
    }
    const int tid = threadIdx.x;
    const int ty = tid >> 4; // 0..15: rows ty*4 + {0..3} and 64 + ty*4 + {0..3}
    const int tx = tid & 15; // 0..15: cols tx*4 + {0..3} and 64 + tx*4 + {0..3}
    const bool skip = k <= 0 || alpha == 0.f;
    const bool vecA = aligned16(a, lda);
    const bool vecB = aligned16(b, ldb);

    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++) {
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    }

    if (!skip) {
        const int tiles = (k + BK - 1) / BK;
        float4 ra = load_a<TA>(a, lda, m, k, m0, 0, vecA);
        float4 rb = load_b<TB>(b, ldb, n, k, n0, 0, vecB);
        store_a<TA>(As[0], ra);
        store_b<TB>(Bs[0], rb);
        __syncthreads();
        for (int t = 0; t < tiles; t++) {
            const int cur = t & 1;
            const bool more = t + 1 < tiles;
            if (more) { // next slab's global loads overlap this slab's FMAs
                ra = load_a<TA>(a, lda, m, k, m0, (t + 1) * BK, vecA);
                rb = load_b<TB>(b, ldb, n, k, n0, (t + 1) * BK, vecB);
            }
#pragma unroll
            for (int kk = 0; kk < BK; kk++) {
                float4 a0 = *reinterpret_cast<const float4*>(&As[cur][kk][ty * 4]);
                float4 a1 = *reinterpret_cast<const float4*>(&As[cur][kk][64 + ty * 4]);
                float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][kk][tx * 4]);
                float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][kk][64 + tx * 4]);
                float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
                float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
                for (int i = 0; i < 8; i++) {
#pragma unroll
                    for (int j = 0; j < 8; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
                }
            }
            if (more) {
                // The other buffer was last read in iteration t - 1, which every thread finished before the
                // __syncthreads that ended it.
                store_a<TA>(As[cur ^ 1], ra);
                store_b<TB>(Bs[cur ^ 1], rb);
            }
            __syncthreads();
        }
    }

    const bool vecC = aligned16(c, ldc);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        int row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
        store4(c, ldc, row, m, n0 + tx * 4, n, make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), alpha,
               beta, vecC, skip);
        store4(c, ldc, row, m, n0 + 64 + tx * 4, n, make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]),
               alpha, beta, vecC, skip);
    }
}

// ---------------------------------------------------------------- TF32 tensor cores

namespace tf32 {

using namespace nvcuda;

constexpr int BM = 128;
constexpr int BN = 128;
constexpr int BK = 16;
constexpr int AS_LD = BK + 4;  // 20 floats: As[m][k]
constexpr int BS_LD = BN + 4;  // 132 floats: Bs[k][n]
constexpr int AS_SIZE = BM * AS_LD;
constexpr int BS_SIZE = BK * BS_LD;

__device__ __forceinline__ float4 to_tf32(float4 v) {
    return make_float4(wmma::__float_to_tf32(v.x), wmma::__float_to_tf32(v.y), wmma::__float_to_tf32(v.z),
                       wmma::__float_to_tf32(v.w));
}

// A slab is 128 x 16 = 2048 floats, 8 per thread as two float4s, index e = tid + 256 * j:
//   !TA (k contiguous): row e / 4, k offset (e % 4) * 4          -> As[row][k..k+3] as a float4
//   TA  (m contiguous): k row e / 32, m offset (e % 32) * 4      -> As[m..m+3][k], scalar (transposed)
template <bool TA>
__device__ __forceinline__ void load_a(float4 (&r)[2], const float* a, int lda, int m, int k, int m0, int k0,
                                       bool vec) {
#pragma unroll
    for (int j = 0; j < 2; j++) {
        int e = threadIdx.x + THREADS * j;
        r[j] = !TA ? load4(a, lda, m0 + (e >> 2), m, k0 + (e & 3) * 4, k, vec)
                   : load4(a, lda, k0 + (e >> 5), k, m0 + (e & 31) * 4, m, vec);
    }
}

template <bool TA>
__device__ __forceinline__ void store_a(float* as, const float4 (&r)[2]) {
#pragma unroll
    for (int j = 0; j < 2; j++) {
        int e = threadIdx.x + THREADS * j;
        float4 v = to_tf32(r[j]);
        if (!TA) {
            *reinterpret_cast<float4*>(&as[(e >> 2) * AS_LD + (e & 3) * 4]) = v;
        } else {
            int kr = e >> 5;
            int mq = (e & 31) * 4;
            as[(mq + 0) * AS_LD + kr] = v.x;
            as[(mq + 1) * AS_LD + kr] = v.y;
            as[(mq + 2) * AS_LD + kr] = v.z;
            as[(mq + 3) * AS_LD + kr] = v.w;
        }
    }
}

// B slab 16 x 128: !TB (n contiguous): k row e / 32, n offset (e % 32) * 4 -> Bs[k][n..n+3] as a float4;
// TB (k contiguous): n row e / 4, k offset (e % 4) * 4 -> Bs[k..k+3][n], scalar.
template <bool TB>
__device__ __forceinline__ void load_b(float4 (&r)[2], const float* b, int ldb, int n, int k, int n0, int k0,
                                       bool vec) {
#pragma unroll
    for (int j = 0; j < 2; j++) {
        int e = threadIdx.x + THREADS * j;
        r[j] = !TB ? load4(b, ldb, k0 + (e >> 5), k, n0 + (e & 31) * 4, n, vec)
                   : load4(b, ldb, n0 + (e >> 2), n, k0 + (e & 3) * 4, k, vec);
    }
}

template <bool TB>
__device__ __forceinline__ void store_b(float* bs, const float4 (&r)[2]) {
#pragma unroll
    for (int j = 0; j < 2; j++) {
        int e = threadIdx.x + THREADS * j;
        float4 v = to_tf32(r[j]);
        if (!TB) {
            *reinterpret_cast<float4*>(&bs[(e >> 5) * BS_LD + (e & 31) * 4]) = v;
        } else {
            int col = e >> 2;
            int kq = (e & 3) * 4;
            bs[(kq + 0) * BS_LD + col] = v.x;
            bs[(kq + 1) * BS_LD + col] = v.y;
            bs[(kq + 2) * BS_LD + col] = v.z;
            bs[(kq + 3) * BS_LD + col] = v.w;
        }
    }
}

template <bool TA, bool TB>
__device__ __forceinline__ void gemm(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                                     const float* __restrict__ b, int ldb, float beta, float* __restrict__ c,
                                     int ldc) {
    __shared__ __align__(128) float As[2][AS_SIZE];
    __shared__ __align__(128) float Bs[2][BS_SIZE];
    __shared__ __align__(128) float stage[THREADS / 32][16 * 16];

    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;
    if (m0 >= m || n0 >= n) {
        return;
    }
    const int warp = threadIdx.x >> 5;
    const int lane = threadIdx.x & 31;
    const int wm = (warp >> 2) * 64; // warp's rows within the block tile: 0 or 64
    const int wn = (warp & 3) * 32;  // warp's columns: 0, 32, 64, 96
    const bool skip = k <= 0 || alpha == 0.f;

    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);
    }

    if (!skip) {
        const bool vecA = aligned16(a, lda);
        const bool vecB = aligned16(b, ldb);
        const int tiles = (k + BK - 1) / BK;
        float4 ra[2];
        float4 rb[2];
        load_a<TA>(ra, a, lda, m, k, m0, 0, vecA);
        load_b<TB>(rb, b, ldb, n, k, n0, 0, vecB);
        store_a<TA>(As[0], ra);
        store_b<TB>(Bs[0], rb);
        __syncthreads();
        for (int t = 0; t < tiles; t++) {
            const int cur = t & 1;
            const bool more = t + 1 < tiles;
            if (more) {
                load_a<TA>(ra, a, lda, m, k, m0, (t + 1) * BK, vecA);
                load_b<TB>(rb, b, ldb, n, k, n0, (t + 1) * BK, vecB);
            }
#pragma unroll
            for (int kk = 0; kk < BK; kk += 8) {
                wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[4];
                wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    wmma::load_matrix_sync(fa[i], &As[cur][(wm + i * 16) * AS_LD + kk], AS_LD);
                }
#pragma unroll
                for (int j = 0; j < 2; j++) {
                    wmma::load_matrix_sync(fb[j], &Bs[cur][kk * BS_LD + wn + j * 16], BS_LD);
                }
#pragma unroll
                for (int i = 0; i < 4; i++) {
#pragma unroll
                    for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
                }
            }
            if (more) {
                store_a<TA>(As[cur ^ 1], ra);
                store_b<TB>(Bs[cur ^ 1], rb);
            }
            __syncthreads();
        }
    }

    // Epilogue: each fragment through the warp's staging tile; lane writes elements lane + 32 * r.
    float* st = stage[warp];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(st, acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
            for (int r = 0; r < 8; r++) {
                int e = lane + 32 * r;
                int row = m0 + wm + i * 16 + (e >> 4);
                int col = n0 + wn + j * 16 + (e & 15);
                if (row < m && col < n) {
                    float* q = c + (long long) row * ldc + col;
                    float ab = skip ? 0.f : alpha * st[e];
                    *q = beta != 0.f ? fmaf(beta, *q, ab) : ab;
                }
            }
            __syncwarp(); // the tile is overwritten by the next fragment
        }
    }
}

} // namespace tf32

} // namespace evonas_gemm

#define EVONAS_GEMM(suffix, TA, TB)                                                                               \
    extern "C" __global__ void __launch_bounds__(256, 2) evonas_gemm_sgemm_##suffix(                             \
            int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta,      \
            float* c, int ldc) {                                                                                 \
        evonas_gemm::sgemm<TA, TB>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);                                \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256) evonas_gemm_tf32_##suffix(                                 \
            int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb, float beta,      \
            float* c, int ldc) {                                                                                 \
        evonas_gemm::tf32::gemm<TA, TB>(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);                           \
    }

EVONAS_GEMM(nn, false, false)
EVONAS_GEMM(nt, false, true)
EVONAS_GEMM(tn, true, false)
EVONAS_GEMM(tt, true, true)
