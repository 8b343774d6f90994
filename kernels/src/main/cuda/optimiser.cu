// evonas CUDA kernels: optimiser family.
//
// One fused, in-place, elementwise kernel per rule of io.evonas.layers.optim, with the same formulas, the same
// float32 rounding steps and the same state (one buffer per state key, the value's size, zero on the first
// step). Hyper-parameters are passed as the Java records hold them (double) and rounded inside exactly as the
// CPU code rounds them ((float) lr, (float) (1 - beta1) computed in double, ...); per-step scalars that the CPU
// computes in double (bias corrections) are computed per element in double here. All float arithmetic uses the
// __f*_rn intrinsics (no FMA contraction) except where the CPU calls Math.fma, so the updates are bit-identical
// to the CPU's (the double pow of the bias corrections may differ from Java's Math.pow in the last double bit,
// which changes the float result only in rare ties).
//
// Every kernel has an `apply` flag, the CPU's two entry points:
//   apply != 0: updateInPlace(param, gradient): `value` is stepped, `dir` holds the gradient and is not written.
//   apply == 0: transformInPlace(param, direction): `dir` (the gradient on entry) is replaced by the step, so
//               that value -= dir is one step; `value` is read only by AdamW and WeightDecay (may be null
//               otherwise).
// Grid-stride over n elements (any grid; 256 threads per block). Buffers must not overlap, except that the
// optimiser state is per element so any launch split is fine.
//
// Kernels:
//   evonas_optimiser_descent(float* value, float* dir, long long n, double lr, int apply)
//       apply: value = fma(g, (float) -lr, value); else dir = dir * (float) lr.          Descent
//   evonas_optimiser_momentum(float* value, float* dir, float* buffer, long long n, double lr, double mu,
//           int apply)
//       b = b * mu + g; u = b; apply: value = value - u * lr; else dir = u * lr.      Momentum ("momentum.buffer")
//   evonas_optimiser_nesterov(same as momentum)
//       b = b * mu + g; u = g + b * mu.                                            Nesterov ("nesterov.buffer")
//   evonas_optimiser_adam(float* value, float* dir, float* m, float* v, float* step, long long n, double lr,
//           double beta1, double beta2, double eps, int apply)
//       t = step + 1 (float, per element; stays at 2^24 once there), step = t;
//       m = m * b1 + g * (1 - b1); v = v * b2 + g * g * (1 - b2);
//       u = m * stepSize / (sqrt(v) / bc2Sqrt + eps), stepSize = (float) (lr / (1 - beta1^t)),
//       bc2Sqrt = (float) sqrt(1 - beta2^t); apply: value = value * 1 - u; else dir = u.
//                                                        Adam ("adam.m", "adam.v", "adam.step")
//   evonas_optimiser_adamw(float* value, float* dir, float* m, float* v, float* step, long long n, double lr,
//           double beta1, double beta2, double eps, double weightDecay, int apply)
//       As adam with decoupled decay: apply: value = value * (float) (1 - lr wd) - u;
//       else dir = value * (float) (lr wd) + u (wd == 0: dir = u).  AdamW ("adamw.m", "adamw.v", "adamw.step")
//   evonas_optimiser_nadam(float* value, float* dir, float* m, float* v, float* step, float* muProduct,
//           long long n, double lr, double beta1, double beta2, double eps, double momentumDecay, int apply)
//       PyTorch >= 2.0 NAdam with per-element t and momentum product:
//       t = step + 1; mu(t) = beta1 (1 - 0.5 * 0.96^(t psi)); prod = (float) ((t == 1 ? 1 : prod) * mu(t));
//       gScale = (float) (lr (1 - mu(t)) / (1 - prod)); mScale = (float) (lr mu(t + 1) / (1 - prod mu(t + 1)));
//       bc2 = (float) (1 - beta2^t); m, v as Adam; u = (g gScale + m mScale) / (sqrt(v / bc2) + eps).
//       (The CPU computes prod once per run of equal step counts from the run's first element, claiming equal
//       counts mean equal products; here each element uses its own, which is the same when that claim holds.)
//                                     NAdam ("nadam.m", "nadam.v", "nadam.step", "nadam.muProduct")
//   evonas_optimiser_adagrad(float* value, float* dir, float* sum, long long n, double lr, double eps, int apply)
//       s = s + g * g; u = g * lr / (sqrt(s) + eps).                               AdaGrad ("adagrad.sum")
//   evonas_optimiser_rmsprop(float* value, float* dir, float* square, float* gradAvg, float* buffer,
//           long long n, double lr, double alpha, double eps, double momentum, int centered, int apply)
//       s = s * alpha + g * g * (1 - alpha); centered: a = a * alpha + g * (1 - alpha), r = sqrt(s - a * a) + eps,
//       else r = sqrt(s) + eps; momentum > 0: b = b * momentum + g / r, u = b * lr; else u = g * lr / r.
//       gradAvg may be null unless centered, buffer unless momentum > 0.
//                                     RMSProp ("rmsprop.square", "rmsprop.gradAvg", "rmsprop.buffer")
//   evonas_optimiser_weight_decay(float* value, float* dir, long long n, double lambda, int apply)
//       d = fma(value, (float) lambda, g); apply: value = value - d (Optimiser's default updateInPlace);
//       else dir = d.                                                              WeightDecay
// An OptimiserChain runs its components' transforms (apply == 0) in order on one direction buffer and then
// value -= dir (evonas_elementwise_sub), as Optimiser.updateInPlace's default does.

namespace evonas_opt {

__device__ __forceinline__ long long gtid() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long gstride() {
    return (long long) gridDim.x * blockDim.x;
}

__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float dvd(float a, float b) { return __fdiv_rn(a, b); }

// (float) Math.sqrt(x) for a float x: the double square root rounded to float equals the correctly rounded
// float square root.
__device__ __forceinline__ float fsqrt(float x) { return __fsqrt_rn(x); }

__device__ void momentum(float* value, float* dir, float* buffer, long long n, double lr, double mu, int apply,
                         bool nesterov) {
    const float lrf = (float) lr;
    const float muf = (float) mu;
    for (long long i = gtid(); i < n; i += gstride()) {
        float g = dir[i];
        float b = add(mul(buffer[i], muf), g);
        buffer[i] = b;
        float u = nesterov ? add(g, mul(b, muf)) : b;
        if (apply) {
            value[i] = sub(value[i], mul(u, lrf));
        } else {
            dir[i] = mul(u, lrf);
        }
    }
}

__device__ void adam(float* value, float* dir, float* m, float* v, float* step, long long n, double lr,
                     double beta1, double beta2, double eps, double wd, int apply) {
    const float b1 = (float) beta1;
    const float c1 = (float) (1 - beta1); // 1 - beta in double, as PyTorch passes it
    const float b2 = (float) beta2;
    const float c2 = (float) (1 - beta2);
    const float epsf = (float) eps;
    const float decay = (float) (apply ? __dsub_rn(1.0, __dmul_rn(lr, wd)) : __dmul_rn(lr, wd));
    const bool decays = wd != 0;
    for (long long i = gtid(); i < n; i += gstride()) {
        float t = add(step[i], 1.0f);
        step[i] = t;
        float stepSize = (float) (lr / (1 - pow(beta1, (double) t)));
        float bc2Sqrt = (float) sqrt(1 - pow(beta2, (double) t));
        float g = dir[i];
        float mi = add(mul(m[i], b1), mul(g, c1));
        float vi = add(mul(v[i], b2), mul(mul(g, g), c2));
        m[i] = mi;
        v[i] = vi;
        float u = dvd(mul(mi, stepSize), add(dvd(fsqrt(vi), bc2Sqrt), epsf));
        if (apply) {
            value[i] = sub(mul(value[i], decay), u);
        } else if (decays) {
            dir[i] = add(mul(value[i], decay), u);
        } else {
            dir[i] = u;
        }
    }
}

// The kernels live in the namespace too (extern "C" keeps their names plain), so that several of these
// files can be compiled as one translation unit (kernels/src/test/cuda/selfcheck.cu does).

extern "C" __global__ void evonas_optimiser_descent(float* value, float* dir, long long n, double lr, int apply) {
    const float s = (float) -lr;
    const float lrf = (float) lr;
    for (long long i = gtid(); i < n; i += gstride()) {
        if (apply) {
            value[i] = fmaf(dir[i], s, value[i]); // Elementwise.addScaledInPlace: Math.fma
        } else {
            dir[i] = mul(dir[i], lrf);
        }
    }
}

extern "C" __global__ void evonas_optimiser_momentum(float* value, float* dir, float* buffer, long long n,
                                                      double lr, double mu, int apply) {
    momentum(value, dir, buffer, n, lr, mu, apply, false);
}

extern "C" __global__ void evonas_optimiser_nesterov(float* value, float* dir, float* buffer, long long n,
                                                      double lr, double mu, int apply) {
    momentum(value, dir, buffer, n, lr, mu, apply, true);
}

extern "C" __global__ void evonas_optimiser_adam(float* value, float* dir, float* m, float* v, float* step,
                                                  long long n, double lr, double beta1, double beta2, double eps,
                                                  int apply) {
    adam(value, dir, m, v, step, n, lr, beta1, beta2, eps, 0.0, apply);
}

extern "C" __global__ void evonas_optimiser_adamw(float* value, float* dir, float* m, float* v, float* step,
                                                   long long n, double lr, double beta1, double beta2, double eps,
                                                   double weightDecay, int apply) {
    adam(value, dir, m, v, step, n, lr, beta1, beta2, eps, weightDecay, apply);
}

extern "C" __global__ void evonas_optimiser_nadam(float* value, float* dir, float* m, float* v, float* step,
                                                   float* muProduct, long long n, double lr, double beta1,
                                                   double beta2, double eps, double momentumDecay, int apply) {
    const float b1 = (float) beta1;
    const float b2 = (float) beta2;
    const float c1 = (float) (1 - beta1);
    const float c2 = (float) (1 - beta2);
    const float epsf = (float) eps;
    for (long long i = gtid(); i < n; i += gstride()) {
        float t = add(step[i], 1.0f);
        // momentum(t) = beta1 * (1 - 0.5 * 0.96^(t * psi)), in double, unfused as in Java
        double mu = __dmul_rn(beta1, __dsub_rn(1.0, __dmul_rn(0.5, pow(0.96, __dmul_rn((double) t, momentumDecay)))));
        double muNext = __dmul_rn(beta1, __dsub_rn(1.0, __dmul_rn(0.5, pow(0.96, __dmul_rn(__dadd_rn((double) t, 1.0),
                                                                                          momentumDecay)))));
        float prod = (float) ((double) (t == 1.0f ? 1.0f : muProduct[i]) * mu);
        step[i] = t;
        muProduct[i] = prod;
        float gScale = (float) __ddiv_rn(__dmul_rn(lr, 1.0 - mu), 1.0 - (double) prod);
        float mScale = (float) __ddiv_rn(__dmul_rn(lr, muNext), __dsub_rn(1.0, __dmul_rn((double) prod, muNext)));
        float bc2 = (float) (1 - pow(beta2, (double) t));
        float g = dir[i];
        float mi = add(mul(m[i], b1), mul(g, c1));
        float vi = add(mul(v[i], b2), mul(mul(g, g), c2));
        m[i] = mi;
        v[i] = vi;
        float u = dvd(add(mul(g, gScale), mul(mi, mScale)), add(fsqrt(dvd(vi, bc2)), epsf));
        if (apply) {
            value[i] = sub(value[i], u);
        } else {
            dir[i] = u;
        }
    }
}

extern "C" __global__ void evonas_optimiser_adagrad(float* value, float* dir, float* sum, long long n, double lr,
                                                     double eps, int apply) {
    const float lrf = (float) lr;
    const float epsf = (float) eps;
    for (long long i = gtid(); i < n; i += gstride()) {
        float g = dir[i];
        float s = add(sum[i], mul(g, g));
        sum[i] = s;
        float u = dvd(mul(g, lrf), add(fsqrt(s), epsf));
        if (apply) {
            value[i] = sub(value[i], u);
        } else {
            dir[i] = u;
        }
    }
}

extern "C" __global__ void evonas_optimiser_rmsprop(float* value, float* dir, float* square, float* gradAvg,
                                                     float* buffer, long long n, double lr, double alpha,
                                                     double eps, double momentum, int centered, int apply) {
    const float lrf = (float) lr;
    const float al = (float) alpha;
    const float c = (float) (1 - alpha);
    const float epsf = (float) eps;
    const float muf = (float) momentum;
    const bool withMomentum = momentum > 0;
    for (long long i = gtid(); i < n; i += gstride()) {
        float g = dir[i];
        float s = add(mul(square[i], al), mul(mul(g, g), c));
        square[i] = s;
        float r;
        if (centered) {
            float a = add(mul(gradAvg[i], al), mul(g, c));
            gradAvg[i] = a;
            r = add(fsqrt(sub(s, mul(a, a))), epsf);
        } else {
            r = add(fsqrt(s), epsf);
        }
        float u;
        if (withMomentum) {
            float b = add(mul(buffer[i], muf), dvd(g, r));
            buffer[i] = b;
            u = mul(b, lrf);
        } else {
            u = dvd(mul(g, lrf), r);
        }
        if (apply) {
            value[i] = sub(value[i], u);
        } else {
            dir[i] = u;
        }
    }
}

extern "C" __global__ void evonas_optimiser_weight_decay(float* value, float* dir, long long n, double lambda,
                                                          int apply) {
    const float l = (float) lambda;
    for (long long i = gtid(); i < n; i += gstride()) {
        float d = fmaf(value[i], l, dir[i]);
        if (apply) {
            value[i] = sub(value[i], d);
        } else {
            dir[i] = d;
        }
    }
}

} // namespace evonas_opt
