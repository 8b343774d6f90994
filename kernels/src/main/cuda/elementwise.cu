// evonas CUDA kernels: elementwise family.
//
// Mirrors io.evonas.tensor.cpu.Elementwise, Activation, Concat and Dropout. float32, row-major, contiguous
// buffers; every pointer is a device pointer to the first element of its tensor (the Java side adds offsets).
// Element counts are `long long` (64-bit grid-stride loops); broadcast dims and strides are ints, as on the CPU.
//
// Launch: every kernel here uses a 1-D grid-stride loop, so any grid works; 256 threads per block and
// min(ceil(n / 256), 65535 * 8) blocks is a good choice. The exception is evonas_elementwise_sum_to, which
// expects one block per output element (blockDim.x a multiple of 32, at most 1024; 256 recommended).
//
// Exactness: the CPU kernels round every operation to float; the products and sums here use the __f*_rn
// intrinsics where nvcc would otherwise contract a*b+c into an FMA, and fmaf where the CPU calls Math.fma, so
// the arithmetic kernels give the CPU's bits. The transcendental activations evaluate in double like the CPU's
// Math calls (CUDA's double exp/expm1/log1p/tanh are within 1-2 ulp of double, so the float results agree to
// within 1 float ulp, almost always exactly).
//
// Kernels (signature — what it computes — CPU method it mirrors):
//
//   evonas_elementwise_{add,sub,mul,div}(const float* a, const float* b, float* out, long long n)
//       out[i] = a[i] op b[i], same shape.                         Elementwise.add/sub/mul/div (equal shapes)
//   evonas_elementwise_{add,sub,mul,div}_bcast(const float* a, const float* b, float* out,
//           int d0, int d1, int d2, int d3, int sa0, int sa1, int sa2, int sa3, int sb0, int sb1, int sb2, int sb3)
//       Broadcasting: out is contiguous [d0, d1, d2, d3]; a and b are read at sum_i idx_i * s?_i (stride 0 along a
//       broadcast dimension). These are exactly Broadcast.plan(out, a, b)'s merged dims and strides, left-padded
//       with dims of 1 (any stride) to four; a plan of more than four merged dims must be split by the caller
//       (loop over the outer ones, offsetting the pointers).                     Elementwise.add/sub/mul/div
//   evonas_elementwise_add_scalar(const float* x, float s, float* out, long long n)   out = x + s   addScalar
//   evonas_elementwise_mul_scalar(const float* x, float s, float* out, long long n)   out = x * s   mulScalar,
//       neg (s = -1)
//   evonas_elementwise_div_scalar(const float* x, float s, float* out, long long n)   out = x / s   divScalar
//       (a true division)
//   evonas_elementwise_add_scaled(float* acc, float alpha, const float* x, long long n)
//       acc = fma(x, alpha, acc).                                               Elementwise.addScaledInPlace
//   evonas_elementwise_sum_to(const float* grad, float* out, int d0, int d1, int d2, int d3,
//           int r0, int r1, int r2, int r3)
//       grad is contiguous [d0, d1, d2, d3] (Broadcast.plan(gradShape, target)'s merged dims, left-padded with 1s);
//       r_i != 0 marks dimension i as summed (the target's plan stride is 0 there). out is the target, contiguous
//       over the kept dims. One block per output element: grid = (product of kept dims), block = 256.
//       Sums in double in a fixed tree (deterministic; within float rounding of the CPU, which sums in float).
//                                                                                Elementwise.sumTo
//   evonas_elementwise_fill(float* out, float value, long long n)                Tensor.fill
//   evonas_elementwise_copy(const float* src, float* dst, long long n)           Tensor.copyFrom, IDENTITY forward
//   evonas_elementwise_copy_rows(const float* src, long long srcRow, long long srcOff,
//           float* dst, long long dstRow, long long dstOff, long long rows, long long block)
//       dst[o * dstRow + dstOff + i] = src[o * srcRow + srcOff + i] for o < rows, i < block.
//       Concat.concat along axis a, one launch per part: rows = outer, block = part.dim(a) * inner,
//       srcRow = block, srcOff = 0, dstRow = total * inner, dstOff = (sum of earlier parts' dim(a)) * inner.
//       Concat.slice: rows = outer, block = length * inner, srcRow = dim(a) * inner, srcOff = from * inner,
//       dstRow = block, dstOff = 0.
//   evonas_elementwise_<act>_forward(const float* x, float* y, long long n)
//       act in relu, elu, selu, tanh, sigmoid, softplus, swish;                  Activation.<ACT>.forward
//   evonas_elementwise_leaky_relu_forward(const float* x, float* y, long long n, float slope)
//   evonas_elementwise_<act>_backward(const float* y, const float* dy, float* dx, long long n)
//       act in relu, elu, selu, tanh, sigmoid: reads the output y (backwardNeedsInput() == false)
//   evonas_elementwise_leaky_relu_backward(const float* y, const float* dy, float* dx, long long n, float slope)
//   evonas_elementwise_{softplus,swish}_backward(const float* x, const float* dy, float* dx, long long n)
//       reads the input x.                                                       Activation.<ACT>.backward
//       IDENTITY forward/backward is evonas_elementwise_copy. Derivatives at 0 are the CPU's (left-hand):
//       ReLU 0, leaky ReLU slope, ELU 1, SELU λα; they test the output y > 0.
//   evonas_elementwise_dropout_bits(const float* x, const unsigned int* bits, long long threshold, float scale,
//           float* y, float* mask, long long n)
//       mask[i] = bits[i] >= threshold ? scale : 0; y = x * mask, with threshold = ceil(p * 2^32) (a long, may be
//       2^32) and scale = (float) (1 / (1 - p)). With bits[] filled on the host from the same RandomGenerator as
//       the CPU (bits[2j] = low 32 bits of the j-th nextLong(), bits[2j + 1] = its high 32 bits, and one more
//       nextLong()'s low bits for an odd last element) this reproduces Dropout.forward bit for bit.
//   evonas_elementwise_dropout_hash(const float* x, unsigned long long seed, long long threshold, float scale,
//           float* y, float* mask, long long n)
//       As dropout_bits, with bits[i] made on the device by a counter-based hash: for element i,
//       h = splitmix64(seed + (i / 2) * 0x9E3779B97F4A7C15), bits = i even ? low 32 bits of h : high 32 bits.
//       Reproducible for a seed, independent of the launch shape, but NOT the CPU's RandomGenerator stream:
//       GPU dropout masks differ from CPU masks for the same seed (same distribution).
//   evonas_elementwise_dropout_backward(const float* dy, const float* mask, float* dx, long long n)
//       dx = dy * mask.                                                          Dropout.backward
//
// Aliasing: out may be the very same buffer as an input of the same size (in place), as on the CPU; every
// kernel reads an element before writing it from the same thread. sum_to's out must not overlap grad.

#include <cstdint>

namespace evonas_ew {

__device__ __forceinline__ long long gtid() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long gstride() {
    return (long long) gridDim.x * blockDim.x;
}

enum Op { ADD = 0, SUB = 1, MUL = 2, DIV = 3 };

template <int OP>
__device__ __forceinline__ float apply(float x, float y) {
    if (OP == ADD) return __fadd_rn(x, y);
    if (OP == SUB) return __fsub_rn(x, y);
    if (OP == MUL) return __fmul_rn(x, y);
    return __fdiv_rn(x, y);
}

template <int OP>
__device__ void same(const float* __restrict__ a, const float* __restrict__ b, float* out, long long n) {
    // out may alias a or b exactly, so no __restrict__ on out; each element is read and written by one thread
    for (long long i = gtid(); i < n; i += gstride()) {
        out[i] = apply<OP>(a[i], b[i]);
    }
}

template <int OP>
__device__ void bcast(const float* a, const float* b, float* out, int d0, int d1, int d2, int d3,
                      int sa0, int sa1, int sa2, int sa3, int sb0, int sb1, int sb2, int sb3) {
    long long n = (long long) d0 * d1 * d2 * d3;
    for (long long i = gtid(); i < n; i += gstride()) {
        long long r = i;
        long long i3 = r % d3; r /= d3;
        long long i2 = r % d2; r /= d2;
        long long i1 = r % d1; r /= d1;
        long long i0 = r;
        long long oa = i0 * sa0 + i1 * sa1 + i2 * sa2 + i3 * sa3;
        long long ob = i0 * sb0 + i1 * sb1 + i2 * sb2 + i3 * sb3;
        out[i] = apply<OP>(a[oa], b[ob]);
    }
}

// ---------------------------------------------------------------- activations, as Activation.java

__device__ __forceinline__ double sigmoid(double x) {
    if (x >= 0) {
        return 1.0 / (1.0 + exp(-x));
    }
    double e = exp(x);
    return e / (1.0 + e);
}

// Activation.Fixed constants: the float literals, and λα as the double product rounded once (backward) versus
// the float product (forward: elu() multiplies lambda * alpha in float).
__device__ __constant__ float SELU_LAMBDA = 1.0507009873554804934193349852946f;
__device__ __constant__ float SELU_ALPHA = 1.6732632423543772848170429916717f;
#define EVONAS_SELU_LAMBDA_ALPHA_BACKWARD \
    ((float) (1.0507009873554804934193349852946 * 1.6732632423543772848170429916717))

__device__ __forceinline__ float elu_fwd(float v, float lambda, float la) {
    return v > 0 ? __fmul_rn(v, lambda) : __fmul_rn((float) expm1((double) v), la);
}

__device__ __forceinline__ float elu_bwd(float y, float g, float lambda, float lambdaAlpha) {
    return __fmul_rn(g, y > 0 ? lambda : __fadd_rn(y, lambdaAlpha));
}

// splitmix64 finaliser (Steele, Lea, Flood 2014), the counter-based hash of dropout_hash.
__device__ __forceinline__ unsigned long long splitmix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

__device__ __forceinline__ void dropout_one(const float* x, float* y, float* mask, long long i, unsigned int u,
                                            long long threshold, float scale) {
    float k = (long long) u >= threshold ? scale : 0.0f;
    mask[i] = k;
    y[i] = __fmul_rn(x[i], k);
}

// Block-wide sum of one double per thread, deterministic for a given blockDim.x (a multiple of 32): warp
// shuffles down to lane 0 of each warp, then warp 0 adds the warp sums in warp order.
__device__ double block_sum(double v) {
    __shared__ double warpSums[32];
    int lane = threadIdx.x & 31;
    int warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_down_sync(0xffffffffu, v, o);
    }
    if (lane == 0) {
        warpSums[warp] = v;
    }
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    double s = 0;
    if (warp == 0) {
        s = lane < warps ? warpSums[lane] : 0.0;
        for (int o = 16; o > 0; o >>= 1) {
            s += __shfl_down_sync(0xffffffffu, s, o);
        }
    }
    __syncthreads(); // warpSums may be reused by a later call
    return s;        // valid in thread 0
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

// ---------------------------------------------------------------- binary arithmetic

#define EVONAS_BINARY(name, OPC)                                                                                  \
    extern "C" __global__ void evonas_elementwise_##name(const float* a, const float* b, float* out,            \
                                                          long long n) {                                         \
        same<OPC>(a, b, out, n);                                                                                 \
    }                                                                                                            \
    extern "C" __global__ void evonas_elementwise_##name##_bcast(                                                \
            const float* a, const float* b, float* out, int d0, int d1, int d2, int d3, int sa0, int sa1,        \
            int sa2, int sa3, int sb0, int sb1, int sb2, int sb3) {                                              \
        bcast<OPC>(a, b, out, d0, d1, d2, d3, sa0, sa1, sa2, sa3, sb0, sb1, sb2, sb3);                           \
    }

EVONAS_BINARY(add, ADD)
EVONAS_BINARY(sub, SUB)
EVONAS_BINARY(mul, MUL)
EVONAS_BINARY(div, DIV)

extern "C" __global__ void evonas_elementwise_add_scalar(const float* x, float s, float* out, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) out[i] = __fadd_rn(x[i], s);
}

extern "C" __global__ void evonas_elementwise_mul_scalar(const float* x, float s, float* out, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) out[i] = __fmul_rn(x[i], s);
}

extern "C" __global__ void evonas_elementwise_div_scalar(const float* x, float s, float* out, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) out[i] = __fdiv_rn(x[i], s);
}

extern "C" __global__ void evonas_elementwise_add_scaled(float* acc, float alpha, const float* x, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) acc[i] = fmaf(x[i], alpha, acc[i]);
}

// ---------------------------------------------------------------- sumTo

extern "C" __global__ void evonas_elementwise_sum_to(const float* __restrict__ grad, float* __restrict__ out,
                                                      int d0, int d1, int d2, int d3, int r0, int r1, int r2,
                                                      int r3) {
    // Split the four dims into kept ones (which index the output) and summed ones (which this block walks).
    int d[4] = {d0, d1, d2, d3};
    int red[4] = {r0, r1, r2, r3};
    long long stride[4];
    stride[3] = 1;
    for (int k = 2; k >= 0; k--) stride[k] = stride[k + 1] * d[k + 1];
    // output element blockIdx.x -> base offset in grad over the kept dims (innermost varies fastest)
    long long o = blockIdx.x;
    long long base = 0;
    long long reducedCount = 1;
    for (int k = 3; k >= 0; k--) {
        if (red[k]) {
            reducedCount *= d[k];
        } else {
            base += (o % d[k]) * stride[k];
            o /= d[k];
        }
    }
    double s = 0;
    for (long long r = threadIdx.x; r < reducedCount; r += blockDim.x) {
        long long q = r;
        long long off = base;
        for (int k = 3; k >= 0; k--) {
            if (red[k]) {
                off += (q % d[k]) * stride[k];
                q /= d[k];
            }
        }
        s += grad[off];
    }
    s = block_sum(s);
    if (threadIdx.x == 0) {
        out[blockIdx.x] = (float) s;
    }
}

// ---------------------------------------------------------------- fill, copy, concat/slice

extern "C" __global__ void evonas_elementwise_fill(float* out, float value, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) out[i] = value;
}

extern "C" __global__ void evonas_elementwise_copy(const float* src, float* dst, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) dst[i] = src[i];
}

extern "C" __global__ void evonas_elementwise_copy_rows(const float* __restrict__ src, long long srcRow,
                                                         long long srcOff, float* __restrict__ dst,
                                                         long long dstRow, long long dstOff, long long rows,
                                                         long long block) {
    long long n = rows * block;
    for (long long i = gtid(); i < n; i += gstride()) {
        long long o = i / block;
        long long j = i - o * block;
        dst[o * dstRow + dstOff + j] = src[o * srcRow + srcOff + j];
    }
}

// ---------------------------------------------------------------- activations: forward

extern "C" __global__ void evonas_elementwise_relu_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        float v = x[i];
        y[i] = (v > 0.0f || v != v) ? v : 0.0f; // Math.max(v, 0f): NaN propagates, -0 -> +0
    }
}

extern "C" __global__ void evonas_elementwise_leaky_relu_forward(const float* x, float* y, long long n,
                                                                  float slope) {
    for (long long i = gtid(); i < n; i += gstride()) {
        float v = x[i];
        y[i] = v < 0.0f ? __fmul_rn(v, slope) : v;
    }
}

extern "C" __global__ void evonas_elementwise_elu_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) y[i] = elu_fwd(x[i], 1.0f, 1.0f);
}

extern "C" __global__ void evonas_elementwise_selu_forward(const float* x, float* y, long long n) {
    float la = __fmul_rn(SELU_LAMBDA, SELU_ALPHA);
    for (long long i = gtid(); i < n; i += gstride()) y[i] = elu_fwd(x[i], SELU_LAMBDA, la);
}

extern "C" __global__ void evonas_elementwise_tanh_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) y[i] = (float) tanh((double) x[i]);
}

extern "C" __global__ void evonas_elementwise_sigmoid_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) y[i] = (float) sigmoid((double) x[i]);
}

extern "C" __global__ void evonas_elementwise_softplus_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        double v = x[i];
        double pos = (v > 0 || v != v) ? v : 0.0; // Math.max(v, 0)
        y[i] = (float) __dadd_rn(pos, log1p(exp(-fabs(v))));
    }
}

extern "C" __global__ void evonas_elementwise_swish_forward(const float* x, float* y, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        double v = x[i];
        y[i] = (float) __dmul_rn(v, sigmoid(v));
    }
}

// ---------------------------------------------------------------- activations: backward

extern "C" __global__ void evonas_elementwise_relu_backward(const float* y, const float* dy, float* dx,
                                                             long long n) {
    for (long long i = gtid(); i < n; i += gstride()) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

extern "C" __global__ void evonas_elementwise_leaky_relu_backward(const float* y, const float* dy, float* dx,
                                                                   long long n, float slope) {
    for (long long i = gtid(); i < n; i += gstride()) {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : __fmul_rn(g, slope);
    }
}

extern "C" __global__ void evonas_elementwise_elu_backward(const float* y, const float* dy, float* dx,
                                                            long long n) {
    for (long long i = gtid(); i < n; i += gstride()) dx[i] = elu_bwd(y[i], dy[i], 1.0f, 1.0f);
}

extern "C" __global__ void evonas_elementwise_selu_backward(const float* y, const float* dy, float* dx,
                                                             long long n) {
    float la = EVONAS_SELU_LAMBDA_ALPHA_BACKWARD;
    for (long long i = gtid(); i < n; i += gstride()) dx[i] = elu_bwd(y[i], dy[i], SELU_LAMBDA, la);
}

extern "C" __global__ void evonas_elementwise_tanh_backward(const float* y, const float* dy, float* dx,
                                                             long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        float v = y[i];
        dx[i] = __fmul_rn(dy[i], __fsub_rn(1.0f, __fmul_rn(v, v)));
    }
}

extern "C" __global__ void evonas_elementwise_sigmoid_backward(const float* y, const float* dy, float* dx,
                                                                long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        float v = y[i];
        dx[i] = __fmul_rn(dy[i], __fmul_rn(v, __fsub_rn(1.0f, v)));
    }
}

extern "C" __global__ void evonas_elementwise_softplus_backward(const float* x, const float* dy, float* dx,
                                                                 long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        dx[i] = (float) __dmul_rn((double) dy[i], sigmoid((double) x[i]));
    }
}

extern "C" __global__ void evonas_elementwise_swish_backward(const float* x, const float* dy, float* dx,
                                                              long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        double v = x[i];
        double s = sigmoid(v);
        double d = __dmul_rn(s, __dadd_rn(1.0, __dmul_rn(v, __dsub_rn(1.0, s)))); // s(1 + v(1 - s))
        dx[i] = (float) __dmul_rn((double) dy[i], d);
    }
}

// ---------------------------------------------------------------- dropout

extern "C" __global__ void evonas_elementwise_dropout_bits(const float* x, const unsigned int* bits,
                                                            long long threshold, float scale, float* y,
                                                            float* mask, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) dropout_one(x, y, mask, i, bits[i], threshold, scale);
}

extern "C" __global__ void evonas_elementwise_dropout_hash(const float* x, unsigned long long seed,
                                                            long long threshold, float scale, float* y,
                                                            float* mask, long long n) {
    for (long long i = gtid(); i < n; i += gstride()) {
        unsigned long long h = splitmix64(seed + (unsigned long long) (i >> 1) * 0x9E3779B97F4A7C15ULL);
        unsigned int u = (i & 1) ? (unsigned int) (h >> 32) : (unsigned int) h;
        dropout_one(x, y, mask, i, u, threshold, scale);
    }
}

extern "C" __global__ void evonas_elementwise_dropout_backward(const float* dy, const float* mask, float* dx,
                                                                long long n) {
    for (long long i = gtid(); i < n; i += gstride()) dx[i] = __fmul_rn(dy[i], mask[i]);
}

} // namespace evonas_ew
