// evonas CUDA self-check: runs every kernel of kernels/src/main/cuda on small random inputs (odd sizes, never
// multiples of the tiles) and compares with a plain CPU reference in double precision written below, printing
//   PASS|FAIL <kernel> max_abs_err=... max_rel_err=...
// per check, then times the SGEMM kernels at n = 4096 (FP32 and TF32; cuBLAS too when built with
// -DEVONAS_WITH_CUBLAS -lcublas). Exit status: 0 all passed, 1 a check failed or CUDA reported an error,
// 2 no CUDA device (or driver) is present.
//
// Build: kernels/build-selfcheck (nvcc -O2 -arch=sm_90; the kernel sources are compiled in directly).
// A check passes when every element satisfies |got - ref| <= tol_abs + tol_rel * scale, where scale is |ref| or,
// for sums of products (GEMM, conv), Σ|terms|; NaN must match NaN.

#include "../../main/cuda/elementwise.cu"
#include "../../main/cuda/reduce.cu"
#include "../../main/cuda/gemm.cu"
#include "../../main/cuda/conv.cu"
#include "../../main/cuda/pool.cu"
#include "../../main/cuda/batchnorm.cu"
#include "../../main/cuda/loss.cu"
#include "../../main/cuda/optimiser.cu"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#ifdef EVONAS_WITH_CUBLAS
#include <cublas_v2.h>
#endif

using std::vector;

// ---------------------------------------------------------------- plumbing

static int g_failures = 0;

#define CK(call)                                                                                                 \
    do {                                                                                                         \
        cudaError_t e_ = (call);                                                                                 \
        if (e_ != cudaSuccess) {                                                                                 \
            std::printf("FAIL cuda %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_));       \
            std::exit(1);                                                                                        \
        }                                                                                                        \
    } while (0)

#define LAUNCHED() CK(cudaGetLastError()); CK(cudaDeviceSynchronize())

template <class T>
struct Dev {
    T* p = nullptr;
    size_t n = 0;
    explicit Dev(size_t count) : n(count) { CK(cudaMalloc(&p, std::max<size_t>(1, n) * sizeof(T))); }
    explicit Dev(const vector<T>& h) : Dev(h.size()) { put(h); }
    ~Dev() { cudaFree(p); }
    Dev(const Dev&) = delete;
    Dev& operator=(const Dev&) = delete;
    void put(const vector<T>& h) { CK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice)); }
    vector<T> get() const {
        vector<T> h(n);
        CK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
        return h;
    }
};

static std::mt19937_64 g_rng(20240607);

static vector<float> uniform(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    vector<float> v(n);
    for (auto& x : v) x = d(g_rng);
    return v;
}

// values from a small set, to create ties
static vector<float> ties(size_t n, int levels) {
    std::uniform_int_distribution<int> d(0, levels - 1);
    vector<float> v(n);
    for (auto& x : v) x = (float) d(g_rng) - levels / 2;
    return v;
}

static unsigned grid(long long n) {
    return (unsigned) std::max<long long>(1, std::min<long long>((n + 255) / 256, 4096));
}

// Compares got with ref elementwise: |got - ref| <= tolAbs + tolRel * scale[i] (scale = |ref| when empty).
static void report(const std::string& name, const vector<float>& got, const vector<double>& ref, double tolAbs,
                   double tolRel, const vector<double>& scale = {}) {
    double maxAbs = 0, maxRel = 0;
    bool ok = got.size() == ref.size();
    for (size_t i = 0; ok && i < ref.size(); i++) {
        double g = got[i], r = ref[i];
        if (std::isnan(r) || std::isnan(g)) {
            if (std::isnan(r) != std::isnan(g)) ok = false;
            continue;
        }
        if (std::isinf(r) || std::isinf(g)) {
            if (g != r) ok = false;
            continue;
        }
        double err = std::fabs(g - r);
        double s = scale.empty() ? std::fabs(r) : scale[i];
        maxAbs = std::max(maxAbs, err);
        maxRel = std::max(maxRel, err / std::max(s, 1e-30));
        if (err > tolAbs + tolRel * s) ok = false;
    }
    if (!ok) g_failures++;
    std::printf("%s %s max_abs_err=%.3g max_rel_err=%.3g\n", ok ? "PASS" : "FAIL", name.c_str(), maxAbs, maxRel);
}

static void report_int(const std::string& name, const vector<int>& got, const vector<int>& ref) {
    long long bad = 0;
    for (size_t i = 0; i < ref.size(); i++) bad += got[i] != ref[i];
    if (bad || got.size() != ref.size()) g_failures++;
    std::printf("%s %s max_abs_err=%lld max_rel_err=0 (mismatched indices)\n", bad ? "FAIL" : "PASS", name.c_str(),
                bad);
}

static vector<double> dbl(const vector<float>& v) { return vector<double>(v.begin(), v.end()); }

// ---------------------------------------------------------------- elementwise

static double sigm(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

static void check_elementwise() {
    // same-shape and broadcast arithmetic: out [5, 7, 3, 9], b [7, 1, 9] (strides 0, 9, 0, 1)
    const int d0 = 5, d1 = 7, d2 = 3, d3 = 9;
    const long long n = (long long) d0 * d1 * d2 * d3;
    vector<float> a = uniform(n, -2, 2), b = uniform(n, 0.5f, 2), bb = uniform(d1 * d3, 0.5f, 2);
    Dev<float> A(a), B(b), BB(bb), O(n);
    const char* names[4] = {"add", "sub", "mul", "div"};
    for (int op = 0; op < 4; op++) {
        auto f = [&](double x, double y) { return op == 0 ? x + y : op == 1 ? x - y : op == 2 ? x * y : x / y; };
        typedef void (*Same)(const float*, const float*, float*, long long);
        typedef void (*Bc)(const float*, const float*, float*, int, int, int, int, int, int, int, int, int, int,
                           int, int);
        Same same[4] = {evonas_ew::evonas_elementwise_add, evonas_ew::evonas_elementwise_sub,
                        evonas_ew::evonas_elementwise_mul, evonas_ew::evonas_elementwise_div};
        Bc bc[4] = {evonas_ew::evonas_elementwise_add_bcast, evonas_ew::evonas_elementwise_sub_bcast,
                    evonas_ew::evonas_elementwise_mul_bcast, evonas_ew::evonas_elementwise_div_bcast};
        same[op]<<<grid(n), 256>>>(A.p, B.p, O.p, n);
        LAUNCHED();
        vector<double> ref(n);
        for (long long i = 0; i < n; i++) ref[i] = f(a[i], b[i]);
        report(std::string("evonas_elementwise_") + names[op], O.get(), ref, 0, 1e-7);
        bc[op]<<<grid(n), 256>>>(A.p, BB.p, O.p, d0, d1, d2, d3, d1 * d2 * d3, d2 * d3, d3, 1, 0, d3, 0, 1);
        LAUNCHED();
        for (long long i = 0; i < n; i++) {
            long long j = i % d3, c = (i / (d2 * d3)) % d1;
            ref[i] = f(a[i], bb[c * d3 + j]);
        }
        report(std::string("evonas_elementwise_") + names[op] + "_bcast", O.get(), ref, 0, 1e-7);
    }
    {
        vector<double> ref(n);
        evonas_ew::evonas_elementwise_add_scalar<<<grid(n), 256>>>(A.p, 0.75f, O.p, n);
        LAUNCHED();
        for (long long i = 0; i < n; i++) ref[i] = a[i] + 0.75;
        report("evonas_elementwise_add_scalar", O.get(), ref, 1e-7, 1e-7);
        evonas_ew::evonas_elementwise_mul_scalar<<<grid(n), 256>>>(A.p, -1.5f, O.p, n);
        LAUNCHED();
        for (long long i = 0; i < n; i++) ref[i] = a[i] * -1.5;
        report("evonas_elementwise_mul_scalar", O.get(), ref, 0, 1e-7);
        evonas_ew::evonas_elementwise_div_scalar<<<grid(n), 256>>>(A.p, 3.0f, O.p, n);
        LAUNCHED();
        for (long long i = 0; i < n; i++) ref[i] = a[i] / 3.0;
        report("evonas_elementwise_div_scalar", O.get(), ref, 0, 1e-7);
        Dev<float> acc(b);
        evonas_ew::evonas_elementwise_add_scaled<<<grid(n), 256>>>(acc.p, 0.3f, A.p, n);
        LAUNCHED();
        for (long long i = 0; i < n; i++) ref[i] = b[i] + 0.3 * a[i];
        report("evonas_elementwise_add_scaled", acc.get(), ref, 1e-7, 1e-6);
    }
    {
        // sum_to: grad [5, 7, 3, 9] -> target [7, 1, 9] (dims 0 and 2 summed)
        Dev<float> out(d1 * d3);
        evonas_ew::evonas_elementwise_sum_to<<<d1 * d3, 256>>>(A.p, out.p, d0, d1, d2, d3, 1, 0, 1, 0);
        LAUNCHED();
        vector<double> ref(d1 * d3, 0.0), sc(d1 * d3, 0.0);
        for (long long i = 0; i < n; i++) {
            long long j = i % d3, c = (i / (d2 * d3)) % d1;
            ref[c * d3 + j] += a[i];
            sc[c * d3 + j] += std::fabs(a[i]);
        }
        report("evonas_elementwise_sum_to", out.get(), ref, 0, 1e-6, sc);
    }
    {
        evonas_ew::evonas_elementwise_fill<<<grid(n), 256>>>(O.p, 2.5f, n);
        LAUNCHED();
        report("evonas_elementwise_fill", O.get(), vector<double>(n, 2.5), 0, 0);
        evonas_ew::evonas_elementwise_copy<<<grid(n), 256>>>(A.p, O.p, n);
        LAUNCHED();
        report("evonas_elementwise_copy", O.get(), dbl(a), 0, 0);
    }
    {
        // concat [3, 4, 5] and [3, 2, 5] along axis 1 -> [3, 6, 5]; slice [1, 4) of it back out
        const int outer = 3, inner = 5, c1 = 4, c2 = 2, tot = c1 + c2;
        vector<float> p1 = uniform(outer * c1 * inner, -1, 1), p2 = uniform(outer * c2 * inner, -1, 1);
        Dev<float> P1(p1), P2(p2), cat(outer * tot * inner), sl(outer * 3 * inner);
        evonas_ew::evonas_elementwise_copy_rows<<<grid(outer * c1 * inner), 256>>>(
                P1.p, c1 * inner, 0, cat.p, tot * inner, 0, outer, c1 * inner);
        evonas_ew::evonas_elementwise_copy_rows<<<grid(outer * c2 * inner), 256>>>(
                P2.p, c2 * inner, 0, cat.p, tot * inner, c1 * inner, outer, c2 * inner);
        LAUNCHED();
        vector<double> ref(outer * tot * inner);
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < tot; k++) {
                for (int i = 0; i < inner; i++) {
                    ref[(o * tot + k) * inner + i] =
                            k < c1 ? p1[(o * c1 + k) * inner + i] : p2[(o * c2 + k - c1) * inner + i];
                }
            }
        }
        report("evonas_elementwise_copy_rows(concat)", cat.get(), ref, 0, 0);
        evonas_ew::evonas_elementwise_copy_rows<<<grid(outer * 3 * inner), 256>>>(
                cat.p, tot * inner, 1 * inner, sl.p, 3 * inner, 0, outer, 3 * inner);
        LAUNCHED();
        vector<double> ref2(outer * 3 * inner);
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < 3; k++) {
                for (int i = 0; i < inner; i++) ref2[(o * 3 + k) * inner + i] = ref[(o * tot + k + 1) * inner + i];
            }
        }
        report("evonas_elementwise_copy_rows(slice)", sl.get(), ref2, 0, 0);
    }
    {
        // activations on [-4, 4] with exact zeros mixed in
        const long long m = 4099;
        vector<float> x = uniform(m, -4, 4), dy = uniform(m, -1, 1);
        for (long long i = 0; i < m; i += 17) x[i] = 0.0f;
        Dev<float> X(x), DY(dy), Y(m), DX(m);
        const double L = 1.0507009873554805, AL = 1.6732632423543772;
        const float slope = 0.2f;
        struct Act {
            const char* name;
            void (*fwd)(const float*, float*, long long);
            void (*bwd)(const float*, const float*, float*, long long);
            bool needsInput;
        };
        using namespace evonas_ew;
        Act acts[] = {
                {"relu", evonas_elementwise_relu_forward, evonas_elementwise_relu_backward, false},
                {"elu", evonas_elementwise_elu_forward, evonas_elementwise_elu_backward, false},
                {"selu", evonas_elementwise_selu_forward, evonas_elementwise_selu_backward, false},
                {"tanh", evonas_elementwise_tanh_forward, evonas_elementwise_tanh_backward, false},
                {"sigmoid", evonas_elementwise_sigmoid_forward, evonas_elementwise_sigmoid_backward, false},
                {"softplus", evonas_elementwise_softplus_forward, evonas_elementwise_softplus_backward, true},
                {"swish", evonas_elementwise_swish_forward, evonas_elementwise_swish_backward, true},
                {"leaky_relu", nullptr, nullptr, false},
        };
        for (const Act& act : acts) {
            std::string nm = act.name;
            if (act.fwd) {
                act.fwd<<<grid(m), 256>>>(X.p, Y.p, m);
            } else {
                evonas_elementwise_leaky_relu_forward<<<grid(m), 256>>>(X.p, Y.p, m, slope);
            }
            LAUNCHED();
            vector<double> yr(m), dr(m);
            for (long long i = 0; i < m; i++) {
                double v = x[i];
                double yv = nm == "relu" ? std::max(v, 0.0)
                          : nm == "elu" ? (v > 0 ? v : std::expm1(v))
                          : nm == "selu" ? L * (v > 0 ? v : AL * std::expm1(v))
                          : nm == "tanh" ? std::tanh(v)
                          : nm == "sigmoid" ? sigm(v)
                          : nm == "softplus" ? std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v)))
                          : nm == "swish" ? v * sigm(v)
                          : (v < 0 ? v * (double) slope : v);
                yr[i] = yv;
                double yf = (float) yv; // the derivatives test and use the float output, as the kernels do
                double d = nm == "relu" ? (yf > 0 ? 1 : 0)
                         : nm == "elu" ? (yf > 0 ? 1 : yf + 1)
                         : nm == "selu" ? (yf > 0 ? L : yf + L * AL)
                         : nm == "tanh" ? 1 - yf * yf
                         : nm == "sigmoid" ? yf * (1 - yf)
                         : nm == "softplus" ? sigm(v)
                         : nm == "swish" ? sigm(v) * (1 + v * (1 - sigm(v)))
                         : (yf > 0 ? 1 : (double) slope);
                dr[i] = dy[i] * d;
            }
            report("evonas_elementwise_" + nm + "_forward", Y.get(), yr, 1e-7, 5e-7);
            const float* in = act.needsInput ? X.p : Y.p;
            if (act.bwd) {
                act.bwd<<<grid(m), 256>>>(in, DY.p, DX.p, m);
            } else {
                evonas_elementwise_leaky_relu_backward<<<grid(m), 256>>>(Y.p, DY.p, DX.p, m, slope);
            }
            LAUNCHED();
            report("evonas_elementwise_" + nm + "_backward", DX.get(), dr, 1e-7, 1e-6);
        }
    }
    {
        // dropout, p = 0.3: bits from the host (exact reference) and the device hash (statistics)
        const long long m = 10007;
        const double p = 0.3;
        long long threshold = (long long) std::ceil(p * 4294967296.0);
        float scale = (float) (1 / (1 - p));
        vector<float> x = uniform(m, -1, 1);
        vector<unsigned> bits(m);
        for (auto& u : bits) u = (unsigned) (g_rng() >> 32);
        Dev<float> X(x), Y(m), M(m), DX(m);
        Dev<unsigned> U(bits);
        evonas_ew::evonas_elementwise_dropout_bits<<<grid(m), 256>>>(X.p, U.p, threshold, scale, Y.p, M.p, m);
        LAUNCHED();
        vector<double> ym(m), mm(m);
        for (long long i = 0; i < m; i++) {
            mm[i] = (long long) bits[i] >= threshold ? scale : 0.0f;
            ym[i] = (double) (x[i] * (float) mm[i]);
        }
        report("evonas_elementwise_dropout_bits(mask)", M.get(), mm, 0, 0);
        report("evonas_elementwise_dropout_bits(y)", Y.get(), ym, 0, 0);
        evonas_ew::evonas_elementwise_dropout_backward<<<grid(m), 256>>>(X.p, M.p, DX.p, m);
        LAUNCHED();
        report("evonas_elementwise_dropout_backward", DX.get(), ym, 0, 0);
        evonas_ew::evonas_elementwise_dropout_hash<<<grid(m), 256>>>(X.p, 12345ULL, threshold, scale, Y.p, M.p, m);
        LAUNCHED();
        vector<float> hm = M.get(), hy = Y.get();
        long long kept = 0, bad = 0;
        for (long long i = 0; i < m; i++) {
            kept += hm[i] != 0;
            bad += !(hm[i] == 0 || hm[i] == scale) || hy[i] != x[i] * hm[i];
        }
        double frac = (double) kept / m; // expect 0.7, sd ~ 0.0046
        bool ok = bad == 0 && std::fabs(frac - 0.7) < 0.03;
        if (!ok) g_failures++;
        std::printf("%s evonas_elementwise_dropout_hash max_abs_err=%lld max_rel_err=%.3g (kept fraction %.4f)\n",
                    ok ? "PASS" : "FAIL", bad, std::fabs(frac - 0.7), frac);
    }
}

// ---------------------------------------------------------------- reduce

static void check_reduce() {
    using namespace evonas_rd;
    // rows layout: [7, 1001]; cols layout: [3, 37, 5]
    const int rows = 7, rn = 1001;
    const int outer = 3, cn = 37, inner = 5;
    vector<float> xr = ties((size_t) rows * rn, 50), xc = ties((size_t) outer * cn * inner, 9);
    xr[2 * rn + 10] = NAN; // first NaN wins: argmax 10 in row 2
    xr[2 * rn + 20] = NAN;
    xc[(1 * cn + 7) * inner + 3] = NAN;
    Dev<float> XR(xr), XC(xc), YR(rows), YC(outer * inner);
    Dev<int> IR(rows), IC(outer * inner);

    vector<double> sr(rows, 0), sc(outer * inner, 0), ar(rows, 0), ac(outer * inner, 0);
    vector<double> mr(rows), mc(outer * inner);
    vector<int> ir(rows), ic(outer * inner);
    for (int r = 0; r < rows; r++) {
        float m = xr[r * rn];
        int am = 0;
        for (int k = 0; k < rn; k++) {
            sr[r] += xr[r * rn + k];
            ar[r] += std::fabs(xr[r * rn + k]);
        }
        if (m == m) {
            for (int k = 1; k < rn; k++) {
                float v = xr[r * rn + k];
                if (v > m) { m = v; am = k; } else if (v != v) { m = v; am = k; break; }
            }
        }
        mr[r] = m;
        ir[r] = am;
    }
    for (int o = 0; o < outer; o++) {
        for (int i = 0; i < inner; i++) {
            int t = o * inner + i;
            float m = xc[(o * cn) * inner + i];
            int am = 0;
            for (int k = 0; k < cn; k++) {
                sc[t] += xc[(o * cn + k) * inner + i];
                ac[t] += std::fabs(xc[(o * cn + k) * inner + i]);
            }
            if (m == m) {
                for (int k = 1; k < cn; k++) {
                    float v = xc[(o * cn + k) * inner + i];
                    if (v > m) { m = v; am = k; } else if (v != v) { m = v; am = k; break; }
                }
            }
            mc[t] = m;
            ic[t] = am;
        }
    }
    vector<double> sr2 = sr, sc2 = sc; // NaN rows make sums NaN: fine, compared as NaN
    evonas_reduce_sum_rows<<<rows, 256>>>(XR.p, YR.p, rows, rn);
    LAUNCHED();
    report("evonas_reduce_sum_rows", YR.get(), sr2, 1e-6, 1e-6, ar);
    evonas_reduce_sum_cols<<<grid(outer * inner), 256>>>(XC.p, YC.p, outer, cn, inner);
    LAUNCHED();
    report("evonas_reduce_sum_cols", YC.get(), sc2, 1e-6, 1e-6, ac);
    for (auto& v : sr2) v /= rn;
    for (auto& v : sc2) v /= cn;
    for (auto& v : ar) v /= rn;
    for (auto& v : ac) v /= cn;
    evonas_reduce_mean_rows<<<rows, 64>>>(XR.p, YR.p, rows, rn);
    LAUNCHED();
    report("evonas_reduce_mean_rows", YR.get(), sr2, 1e-7, 1e-6, ar);
    evonas_reduce_mean_cols<<<grid(outer * inner), 256>>>(XC.p, YC.p, outer, cn, inner);
    LAUNCHED();
    report("evonas_reduce_mean_cols", YC.get(), sc2, 1e-7, 1e-6, ac);
    evonas_reduce_max_rows<<<rows, 256>>>(XR.p, YR.p, IR.p, rows, rn);
    LAUNCHED();
    report("evonas_reduce_max_rows", YR.get(), mr, 0, 0);
    report_int("evonas_reduce_max_rows(argmax)", IR.get(), ir);
    evonas_reduce_max_cols<<<grid(outer * inner), 256>>>(XC.p, YC.p, IC.p, outer, cn, inner);
    LAUNCHED();
    report("evonas_reduce_max_cols", YC.get(), mc, 0, 0);
    report_int("evonas_reduce_max_cols(argmax)", IC.get(), ic);

    // expand and max_backward on the cols layout
    vector<float> dy = uniform(outer * inner, -1, 1);
    Dev<float> DY(dy), DX(outer * cn * inner);
    evonas_reduce_expand<<<grid(outer * cn * inner), 256>>>(DY.p, DX.p, outer, cn, inner, (float) cn);
    LAUNCHED();
    vector<double> ref(outer * cn * inner);
    for (int o = 0; o < outer; o++)
        for (int k = 0; k < cn; k++)
            for (int i = 0; i < inner; i++) ref[(o * cn + k) * inner + i] = dy[o * inner + i] / (double) cn;
    report("evonas_reduce_expand", DX.get(), ref, 0, 1e-7);
    evonas_reduce_max_backward<<<grid(outer * cn * inner), 256>>>(DY.p, IC.p, DX.p, outer, cn, inner);
    LAUNCHED();
    for (int o = 0; o < outer; o++)
        for (int k = 0; k < cn; k++)
            for (int i = 0; i < inner; i++)
                ref[(o * cn + k) * inner + i] = k == ic[o * inner + i] ? dy[o * inner + i] : 0.0;
    report("evonas_reduce_max_backward", DX.get(), ref, 0, 0);

    // softmax / log-softmax forward and backward, both layouts, on logits with a large offset
    for (int layout = 0; layout < 2; layout++) {
        const int O = layout == 0 ? rows : outer, Nn = layout == 0 ? rn : cn, I = layout == 0 ? 1 : inner;
        const long long tot = (long long) O * Nn * I;
        vector<float> x = uniform(tot, -5, 5), g = uniform(tot, -1, 1);
        for (auto& v : x) v += 1000.0f;
        Dev<float> X(x), G(g), Y(tot), D(tot);
        for (int lg = 0; lg < 2; lg++) {
            vector<double> yr(tot), dr(tot);
            for (int o = 0; o < O; o++) {
                for (int i = 0; i < I; i++) {
                    auto at = [&](int k) { return ((long long) o * Nn + k) * I + i; };
                    double m = -INFINITY, s = 0;
                    for (int k = 0; k < Nn; k++) m = std::max(m, (double) x[at(k)]);
                    for (int k = 0; k < Nn; k++) s += std::exp(x[at(k)] - m);
                    for (int k = 0; k < Nn; k++) {
                        yr[at(k)] = lg ? x[at(k)] - m - std::log(s) : std::exp(x[at(k)] - m) / s;
                    }
                    double dot = 0;
                    for (int k = 0; k < Nn; k++) dot += lg ? g[at(k)] : g[at(k)] * yr[at(k)];
                    for (int k = 0; k < Nn; k++) {
                        dr[at(k)] = lg ? g[at(k)] - std::exp(yr[at(k)]) * dot : yr[at(k)] * (g[at(k)] - dot);
                    }
                }
            }
            std::string nm = std::string("evonas_reduce_") + (lg ? "log_softmax" : "softmax") +
                             (layout == 0 ? "_rows" : "_cols");
            if (layout == 0) {
                (lg ? evonas_reduce_log_softmax_rows : evonas_reduce_softmax_rows)<<<O, 256>>>(X.p, Y.p, O, Nn);
            } else {
                (lg ? evonas_reduce_log_softmax_cols : evonas_reduce_softmax_cols)<<<grid(O * I), 256>>>(
                        X.p, Y.p, O, Nn, I);
            }
            LAUNCHED();
            report(nm, Y.get(), yr, 1e-6, 1e-5);
            // backward from the reference output rounded to float (what the forward pass hands on)
            vector<float> yf(yr.begin(), yr.end());
            Y.put(yf);
            std::string bn = std::string("evonas_reduce_") + (lg ? "log_softmax" : "softmax") + "_backward" +
                             (layout == 0 ? "_rows" : "_cols");
            if (layout == 0) {
                (lg ? evonas_reduce_log_softmax_backward_rows : evonas_reduce_softmax_backward_rows)<<<O, 128>>>(
                        Y.p, G.p, D.p, O, Nn);
            } else {
                (lg ? evonas_reduce_log_softmax_backward_cols
                    : evonas_reduce_softmax_backward_cols)<<<grid(O * I), 256>>>(Y.p, G.p, D.p, O, Nn, I);
            }
            LAUNCHED();
            report(bn, D.get(), dr, 1e-6, 1e-4);
        }
    }
}

// ---------------------------------------------------------------- gemm

typedef void (*GemmFn)(int, int, int, float, const float*, int, const float*, int, float, float*, int);

static void gemm_case(const char* name, GemmFn fn, bool ta, bool tb, int m, int n, int k, int pad, float alpha,
                      float beta, double tolRel) {
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    size_t asz = (size_t) (ta ? k : m) * lda, bsz = (size_t) (tb ? n : k) * ldb, csz = (size_t) m * ldc;
    vector<float> a = uniform(std::max<size_t>(asz, 1), -1, 1), b = uniform(std::max<size_t>(bsz, 1), -1, 1);
    vector<float> c = uniform(csz, -1, 1);
    if (beta == 0) std::fill(c.begin(), c.end(), NAN); // must not leak in
    Dev<float> A(a), B(b), C(c);
    dim3 g((n + 127) / 128, (m + 127) / 128);
    fn<<<g, 256>>>(m, n, k, alpha, A.p, lda, B.p, ldb, beta, C.p, ldc);
    LAUNCHED();
    vector<float> got = C.get();
    vector<float> gv;
    vector<double> ref, sc;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0, abss = 0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p];
                double bv = tb ? b[(size_t) j * ldb + p] : b[(size_t) p * ldb + j];
                s += av * bv;
                abss += std::fabs(av * bv);
            }
            double old = c[(size_t) i * ldc + j];
            bool skip = k == 0 || alpha == 0;
            ref.push_back((skip ? 0 : alpha * s) + (beta == 0 ? 0 : beta * old));
            sc.push_back(std::fabs(alpha) * abss + std::fabs(beta * (beta == 0 ? 0 : old)) + 1e-30);
            gv.push_back(got[(size_t) i * ldc + j]);
        }
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s(m=%d,n=%d,k=%d,pad=%d,beta=%g)", name, m, n, k, pad, beta);
    report(buf, gv, ref, 1e-6, tolRel, sc);
}

static void check_gemm() {
    using namespace evonas_gemm;
    struct V {
        const char* name;
        GemmFn fn;
        bool ta, tb, tf32;
    } vs[] = {
            {"evonas_gemm_sgemm_nn", evonas_gemm_sgemm_nn, false, false, false},
            {"evonas_gemm_sgemm_nt", evonas_gemm_sgemm_nt, false, true, false},
            {"evonas_gemm_sgemm_tn", evonas_gemm_sgemm_tn, true, false, false},
            {"evonas_gemm_sgemm_tt", evonas_gemm_sgemm_tt, true, true, false},
            {"evonas_gemm_tf32_nn", evonas_gemm_tf32_nn, false, false, true},
            {"evonas_gemm_tf32_nt", evonas_gemm_tf32_nt, false, true, true},
            {"evonas_gemm_tf32_tn", evonas_gemm_tf32_tn, true, false, true},
            {"evonas_gemm_tf32_tt", evonas_gemm_tf32_tt, true, true, true},
    };
    for (const V& v : vs) {
        double tol = v.tf32 ? 3e-3 : 1e-5;
        gemm_case(v.name, v.fn, v.ta, v.tb, 131, 77, 45, 3, 1.5f, 0.5f, tol);   // unaligned: scalar loads
        gemm_case(v.name, v.fn, v.ta, v.tb, 257, 200, 133, 0, 1.0f, 0.0f, tol); // mixed
        gemm_case(v.name, v.fn, v.ta, v.tb, 260, 132, 68, 0, -0.5f, 1.0f, tol); // aligned: float4 path
        gemm_case(v.name, v.fn, v.ta, v.tb, 5, 3, 0, 1, 1.0f, 2.0f, tol);       // k = 0: C = beta C
        gemm_case(v.name, v.fn, v.ta, v.tb, 1, 1, 1, 0, 1.0f, 0.0f, tol);
    }
}

// ---------------------------------------------------------------- conv

struct ConvG {
    int N, C, H, W, OC, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW;
    int OH() const { return (H + PT + PB - (DH * (KH - 1) + 1)) / SH + 1; }
    int OW() const { return (W + PL + PR - (DW * (KW - 1) + 1)) / SW + 1; }
};

static void check_conv_case(const ConvG& g) {
    using namespace evonas_conv;
    const int OH = g.OH(), OW = g.OW(), K = g.C * g.KH * g.KW;
    const size_t xs = (size_t) g.N * g.C * g.H * g.W, ws = (size_t) g.OC * K, ys = (size_t) g.N * g.OC * OH * OW;
    vector<float> x = uniform(xs, -1, 1), w = uniform(ws, -1, 1), bias = uniform(g.OC, -1, 1), dy = uniform(ys, -1, 1);
    Dev<float> X(x), Wt(w), Bi(bias), Y(ys), DY(dy), DX(xs), DW(ws), DB(g.OC);
    char tag[200];
    std::snprintf(tag, sizeof tag, "(N%d C%d %dx%d OC%d k%dx%d s%d,%d p%d,%d,%d,%d d%d,%d)", g.N, g.C, g.H, g.W,
                  g.OC, g.KH, g.KW, g.SH, g.SW, g.PT, g.PB, g.PL, g.PR, g.DH, g.DW);
    auto xat = [&](int n, int c, int ih, int iw) -> double {
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return 0;
        return x[(((size_t) n * g.C + c) * g.H + ih) * g.W + iw];
    };
    // references
    vector<double> yr(ys), ysc(ys), dxr(xs, 0), dxsc(xs, 0), dwr(ws, 0), dwsc(ws, 0), dbr(g.OC, 0), dbsc(g.OC, 0);
    for (int n = 0; n < g.N; n++)
        for (int o = 0; o < g.OC; o++)
            for (int r = 0; r < OH; r++)
                for (int q = 0; q < OW; q++) {
                    size_t yi = (((size_t) n * g.OC + o) * OH + r) * OW + q;
                    double s = bias[o], sa = std::fabs(bias[o]);
                    for (int c = 0; c < g.C; c++)
                        for (int i = 0; i < g.KH; i++)
                            for (int j = 0; j < g.KW; j++) {
                                int ih = r * g.SH - g.PT + i * g.DH, iw = q * g.SW - g.PL + j * g.DW;
                                double wv = w[(((size_t) o * g.C + c) * g.KH + i) * g.KW + j];
                                double xv = xat(n, c, ih, iw);
                                s += wv * xv;
                                sa += std::fabs(wv * xv);
                                double gv = dy[yi];
                                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) {
                                    size_t xi = (((size_t) n * g.C + c) * g.H + ih) * g.W + iw;
                                    dxr[xi] += wv * gv;
                                    dxsc[xi] += std::fabs(wv * gv);
                                }
                                size_t wi = (((size_t) o * g.C + c) * g.KH + i) * g.KW + j;
                                dwr[wi] += gv * xv;
                                dwsc[wi] += std::fabs(gv * xv);
                            }
                    yr[yi] = s;
                    ysc[yi] = sa;
                    dbr[o] += dy[yi];
                    dbsc[o] += std::fabs(dy[yi]);
                }
#define GEO g.N, g.C, g.H, g.W, g.OC, OH, OW, g.KH, g.KW, g.SH, g.SW, g.PT, g.PL, g.DH, g.DW
    dim3 gf((g.N * OH * OW + 63) / 64, (g.OC + 63) / 64);
    evonas_conv_forward<<<gf, 256>>>(X.p, Wt.p, Bi.p, Y.p, GEO);
    LAUNCHED();
    report(std::string("evonas_conv_forward") + tag, Y.get(), yr, 1e-6, 1e-5, ysc);

    dim3 gd((g.N * g.H * g.W + 63) / 64, (g.C + 63) / 64);
    evonas_conv_backward_data<<<gd, 256>>>(DY.p, Wt.p, DX.p, GEO, 0.0f);
    LAUNCHED();
    report(std::string("evonas_conv_backward_data") + tag, DX.get(), dxr, 1e-6, 1e-5, dxsc);
    // accumulate: dx += grad
    evonas_conv_backward_data<<<gd, 256>>>(DY.p, Wt.p, DX.p, GEO, 1.0f);
    LAUNCHED();
    vector<double> dx2(dxr), dx2sc(dxsc);
    for (size_t i = 0; i < xs; i++) { dx2[i] *= 2; dx2sc[i] *= 2; }
    report(std::string("evonas_conv_backward_data(accumulate)") + tag, DX.get(), dx2, 1e-6, 1e-5, dx2sc);

    for (int splits : {1, 3}) {
        dim3 gw((K + 63) / 64, (g.OC + 63) / 64, splits);
        if (splits == 1) {
            evonas_conv_backward_weight<<<gw, 256>>>(X.p, DY.p, DW.p, GEO, 0.0f, (long long) ws);
            LAUNCHED();
        } else {
            Dev<float> part((size_t) splits * ws);
            evonas_conv_backward_weight<<<gw, 256>>>(X.p, DY.p, part.p, GEO, 0.0f, (long long) ws);
            evonas_conv_sum_partials<<<grid(ws), 256>>>(part.p, splits, (long long) ws, DW.p, 0.0f);
            LAUNCHED();
        }
        report(std::string("evonas_conv_backward_weight(splits=") + std::to_string(splits) + ")" + tag, DW.get(),
               dwr, 1e-6, 1e-5, dwsc);
    }
    evonas_conv_backward_bias<<<g.OC, 256>>>(DY.p, DB.p, g.N, g.OC, OH * OW, 0.0f);
    LAUNCHED();
    report(std::string("evonas_conv_backward_bias") + tag, DB.get(), dbr, 1e-6, 1e-6, dbsc);
#undef GEO
}

static void check_conv() {
    check_conv_case({2, 3, 11, 9, 5, 3, 2, 2, 1, 1, 2, 0, 1, 1, 2});     // rectangular, stride, dilation, padding
    check_conv_case({3, 7, 13, 13, 70, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1});   // 7x7 "same", OC > one tile
    check_conv_case({2, 67, 5, 7, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1});     // pointwise, C > one tile
    check_conv_case({2, 4, 1, 29, 6, 1, 5, 1, 2, 0, 0, 2, 2, 1, 1});     // conv1d as H = 1
    check_conv_case({1, 5, 10, 12, 4, 4, 4, 2, 3, 1, 2, 1, 2, 2, 1});    // even kernel, dilation, strides
}

// ---------------------------------------------------------------- pool

static void check_pool_case(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PB, int PL,
                            int PR) {
    using namespace evonas_pool;
    const int OH = (H + PT + PB - KH) / SH + 1, OW = (W + PL + PR - KW) / SW + 1, planes = N * C;
    const size_t xs = (size_t) planes * H * W, ys = (size_t) planes * OH * OW;
    vector<float> x = ties(xs, 7), dy = uniform(ys, -1, 1);
    x[5] = NAN;
    Dev<float> X(x), Y(ys), DY(dy), DX(xs);
    Dev<int> AM(ys);
    char tag[120];
    std::snprintf(tag, sizeof tag, "(%dx%d s%d,%d p%d,%d,%d,%d)", KH, KW, SH, SW, PT, PB, PL, PR);
    vector<double> ymax(ys), ymean(ys), dxmax(xs, 0.0), dxmean(xs, 0.0);
    vector<int> am(ys);
    vector<float> dxmaxf(xs, 0.f), dxmeanf(xs, 0.f);
    const float inv = 1.0f / (KH * KW);
    bool two = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PT == 0 && PB == 0 && PL == 0 && PR == 0;
    for (int p = 0; p < planes; p++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t o = ((size_t) p * OH + oy) * OW + ox;
                int y0 = oy * SH - PT, x0 = ox * SW - PL;
                int ys0 = std::max(y0, 0), ye = std::min(y0 + KH, H), xs0 = std::max(x0, 0), xe = std::min(x0 + KW, W);
                const float* pl = &x[(size_t) p * H * W];
                int bi = ys0 * W + xs0;
                float best = pl[bi];
                double sum = 0;
                for (int iy = ys0; iy < ye; iy++)
                    for (int ix = xs0; ix < xe; ix++) {
                        float v = pl[iy * W + ix];
                        if (v > best || v != v) { best = v; bi = iy * W + ix; }
                        sum += v;
                    }
                ymax[o] = best;
                am[o] = bi;
                ymean[o] = sum / (KH * KW);
                dxmaxf[(size_t) p * H * W + bi] += dy[o];
                float gq = dy[o] * inv;
                for (int iy = ys0; iy < ye; iy++)
                    for (int ix = xs0; ix < xe; ix++) dxmeanf[(size_t) p * H * W + iy * W + ix] += gq;
            }
    evonas_pool_max_forward<<<grid(ys), 256>>>(X.p, Y.p, AM.p, planes, H, W, OH, OW, KH, KW, SH, SW, PT, PL);
    LAUNCHED();
    report(std::string("evonas_pool_max_forward") + tag, Y.get(), ymax, 0, 0);
    report_int(std::string("evonas_pool_max_forward(argmax)") + tag, AM.get(), am);
    evonas_pool_max_backward<<<grid(xs), 256>>>(DY.p, AM.p, DX.p, planes, H, W, OH, OW, KH, KW, SH, SW, PT, PL);
    LAUNCHED();
    report(std::string("evonas_pool_max_backward") + tag, DX.get(), dbl(dxmaxf), 0, 0); // bit-exact
    evonas_pool_mean_forward<<<grid(ys), 256>>>(X.p, Y.p, planes, H, W, OH, OW, KH, KW, SH, SW, PT, PL, two);
    LAUNCHED();
    report(std::string("evonas_pool_mean_forward") + tag, Y.get(), ymean, 1e-6, 1e-6);
    evonas_pool_mean_backward<<<grid(xs), 256>>>(DY.p, DX.p, planes, H, W, OH, OW, KH, KW, SH, SW, PT, PL);
    LAUNCHED();
    report(std::string("evonas_pool_mean_backward") + tag, DX.get(), dbl(dxmeanf), 0, 0); // bit-exact
}

static void check_pool() {
    using namespace evonas_pool;
    check_pool_case(2, 3, 11, 10, 3, 2, 2, 2, 1, 1, 1, 0);
    check_pool_case(2, 3, 9, 7, 2, 2, 2, 2, 0, 0, 0, 0);
    check_pool_case(1, 5, 8, 13, 3, 3, 1, 1, 1, 1, 1, 1);
    check_pool_case(1, 2, 6, 9, 5, 1, 3, 1, 2, 0, 0, 0);
    // global pools: [3, 5, 7, 9]; ties and NaNs (the last NaN of a plane wins)
    const int planes = 15, HW = 63;
    vector<float> x = ties((size_t) planes * HW, 11), dy = uniform(planes, -1, 1);
    x[2 * HW + 4] = NAN;
    x[2 * HW + 40] = NAN;
    Dev<float> X(x), Y(planes), DY(dy), DX((size_t) planes * HW);
    Dev<int> AM(planes);
    vector<double> ymax(planes), ymean(planes), dxm((size_t) planes * HW, 0.0), dxa((size_t) planes * HW);
    vector<int> am(planes);
    for (int p = 0; p < planes; p++) {
        float best = x[p * HW];
        int bi = 0;
        double s = 0;
        for (int i = 0; i < HW; i++) {
            float v = x[p * HW + i];
            if (i > 0 && (v > best || v != v)) { best = v; bi = i; }
            s += v;
        }
        ymax[p] = best;
        am[p] = bi;
        ymean[p] = s / HW;
        dxm[(size_t) p * HW + bi] = dy[p];
        for (int i = 0; i < HW; i++) dxa[(size_t) p * HW + i] = (double) (dy[p] / (float) HW);
    }
    evonas_pool_global_max_forward<<<planes, 256>>>(X.p, Y.p, AM.p, planes, HW);
    LAUNCHED();
    report("evonas_pool_global_max_forward", Y.get(), ymax, 0, 0);
    report_int("evonas_pool_global_max_forward(argmax)", AM.get(), am);
    evonas_pool_global_max_backward<<<grid(planes * HW), 256>>>(DY.p, AM.p, DX.p, planes, HW);
    LAUNCHED();
    report("evonas_pool_global_max_backward", DX.get(), dxm, 0, 0);
    evonas_pool_global_mean_forward<<<planes, 128>>>(X.p, Y.p, planes, HW);
    LAUNCHED();
    report("evonas_pool_global_mean_forward", Y.get(), ymean, 1e-7, 1e-6);
    evonas_pool_global_mean_backward<<<grid(planes * HW), 256>>>(DY.p, DX.p, planes, HW);
    LAUNCHED();
    report("evonas_pool_global_mean_backward", DX.get(), dxa, 0, 0);
}

// ---------------------------------------------------------------- batchnorm

static void check_batchnorm_case(int n, int c, int s) {
    using namespace evonas_bn;
    const size_t tot = (size_t) n * c * s;
    const long long m = (long long) n * s;
    const float momentum = 0.1f, eps = 1e-5f;
    vector<float> x = uniform(tot, -1, 1), dy = uniform(tot, -1, 1);
    for (size_t e = 0; e < tot; e++) x[e] = 3.0f + 0.5f * x[e] + (float) ((e / s) % c); // channel offsets
    vector<float> gamma = uniform(c, 0.5f, 1.5f), beta = uniform(c, -0.5f, 0.5f);
    vector<float> rm = uniform(c, -0.1f, 0.1f), rv = uniform(c, 0.9f, 1.1f);
    const int chunks = 3;
    Dev<float> X(x), DY(dy), Y(tot), DX(tot), G(gamma), B(beta), RM(rm), RV(rv), SM(c), SI(c), COEF(3 * c);
    Dev<float> DG(c), DB(c), INV(c);
    Dev<double> WS((size_t) 2 * c * chunks);
    char tag[64];
    std::snprintf(tag, sizeof tag, "(n%d c%d s%d)", n, c, s);

    // reference statistics
    vector<double> mean(c, 0), var(c, 0);
    auto at = [&](long long v, int ch) { return (size_t) (((v / s) * c + ch) * s + v % s); };
    for (int ch = 0; ch < c; ch++) {
        for (long long v = 0; v < m; v++) mean[ch] += x[at(v, ch)];
        mean[ch] /= m;
        for (long long v = 0; v < m; v++) var[ch] += (x[at(v, ch)] - mean[ch]) * (x[at(v, ch)] - mean[ch]);
        var[ch] /= m;
    }
    evonas_batchnorm_stats_partial<<<dim3(chunks, c), 256>>>(X.p, n, c, s, chunks, WS.p);
    evonas_batchnorm_stats_finalize<<<1, 256>>>(WS.p, chunks, X.p, n, c, s, momentum, eps, G.p, B.p, RM.p, RV.p,
                                               SM.p, SI.p, COEF.p);
    evonas_batchnorm_normalise<<<grid(tot), 256>>>(X.p, Y.p, n, c, s, SM.p, COEF.p);
    LAUNCHED();
    vector<double> yr(tot), rmr(c), rvr(c), inv(c);
    for (int ch = 0; ch < c; ch++) {
        inv[ch] = 1 / std::sqrt(var[ch] + eps);
        rmr[ch] = (1 - momentum) * (double) rm[ch] + momentum * mean[ch];
        rvr[ch] = (1 - momentum) * (double) rv[ch] + momentum * var[ch] * m / (m - 1);
    }
    for (size_t e = 0; e < tot; e++) {
        int ch = (int) ((e / s) % c);
        yr[e] = gamma[ch] * (x[e] - mean[ch]) * inv[ch] + beta[ch];
    }
    report(std::string("evonas_batchnorm_forward_training(y)") + tag, Y.get(), yr, 1e-5, 1e-5);
    report(std::string("evonas_batchnorm_stats_finalize(saveMean)") + tag, SM.get(), mean, 1e-6, 1e-6);
    report(std::string("evonas_batchnorm_stats_finalize(saveInvStd)") + tag, SI.get(), inv, 1e-6, 1e-5);
    report(std::string("evonas_batchnorm_stats_finalize(runningMean)") + tag, RM.get(), rmr, 1e-6, 1e-6);
    report(std::string("evonas_batchnorm_stats_finalize(runningVar)") + tag, RV.get(), rvr, 1e-6, 1e-5);

    // training backward, from the kernel's saved statistics
    vector<float> smean = SM.get(), sinv = SI.get();
    evonas_batchnorm_backward_partial<<<dim3(chunks, c), 256>>>(X.p, DY.p, SM.p, n, c, s, chunks, WS.p);
    evonas_batchnorm_backward_finalize<<<1, 256>>>(WS.p, chunks, n, c, s, G.p, SI.p, 1, DG.p, DB.p, COEF.p);
    evonas_batchnorm_backward_dx<<<grid(tot), 256>>>(X.p, DY.p, DX.p, SM.p, COEF.p, n, c, s);
    LAUNCHED();
    vector<double> dxr(tot), dgr(c, 0), dbr(c, 0), dxsc(tot);
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0, sdyx = 0, r = sinv[ch];
        for (long long v = 0; v < m; v++) {
            sdy += dy[at(v, ch)];
            sdyx += dy[at(v, ch)] * (x[at(v, ch)] - (double) smean[ch]) * r;
        }
        dbr[ch] = sdy;
        dgr[ch] = sdyx;
        for (long long v = 0; v < m; v++) {
            size_t e = at(v, ch);
            double xh = (x[e] - (double) smean[ch]) * r;
            dxr[e] = r * gamma[ch] / m * (m * (double) dy[e] - sdy - xh * sdyx);
            dxsc[e] = std::fabs(r * gamma[ch]) * (std::fabs(dy[e]) + 1);
        }
    }
    report(std::string("evonas_batchnorm_backward(dx)") + tag, DX.get(), dxr, 1e-6, 1e-5, dxsc);
    report(std::string("evonas_batchnorm_backward(dgamma)") + tag, DG.get(), dgr, 1e-5, 1e-5);
    report(std::string("evonas_batchnorm_backward(dbeta)") + tag, DB.get(), dbr, 1e-5, 1e-5);

    // inference forward and backward with the running statistics
    vector<float> rmk = RM.get(), rvk = RV.get();
    evonas_batchnorm_inference_coef<<<1, 256>>>(G.p, B.p, RV.p, eps, c, COEF.p);
    evonas_batchnorm_normalise<<<grid(tot), 256>>>(X.p, Y.p, n, c, s, RM.p, COEF.p);
    LAUNCHED();
    for (size_t e = 0; e < tot; e++) {
        int ch = (int) ((e / s) % c);
        yr[e] = gamma[ch] * (x[e] - (double) rmk[ch]) / std::sqrt((double) rvk[ch] + eps) + beta[ch];
    }
    report(std::string("evonas_batchnorm_forward_inference") + tag, Y.get(), yr, 1e-5, 1e-5);
    evonas_batchnorm_inv_std<<<1, 256>>>(RV.p, eps, c, INV.p);
    evonas_batchnorm_backward_partial<<<dim3(chunks, c), 256>>>(X.p, DY.p, RM.p, n, c, s, chunks, WS.p);
    evonas_batchnorm_backward_finalize<<<1, 256>>>(WS.p, chunks, n, c, s, G.p, INV.p, 0, DG.p, DB.p, COEF.p);
    evonas_batchnorm_backward_dx<<<grid(tot), 256>>>(X.p, DY.p, DX.p, RM.p, COEF.p, n, c, s);
    LAUNCHED();
    for (int ch = 0; ch < c; ch++) {
        double r = 1 / std::sqrt((double) rvk[ch] + eps), sdyx = 0;
        for (long long v = 0; v < m; v++) {
            size_t e = at(v, ch);
            dxr[e] = r * gamma[ch] * dy[e];
            sdyx += dy[e] * (x[e] - (double) rmk[ch]) * r;
        }
        dgr[ch] = sdyx;
    }
    report(std::string("evonas_batchnorm_backward_inference(dx)") + tag, DX.get(), dxr, 1e-6, 1e-5);
    report(std::string("evonas_batchnorm_backward_inference(dgamma)") + tag, DG.get(), dgr, 1e-5, 1e-5);
}

static void check_batchnorm() {
    check_batchnorm_case(4, 6, 15);  // [4, 6, 5, 3]
    check_batchnorm_case(9, 5, 1);   // [9, 5]
    check_batchnorm_case(3, 2, 1001);
}

// ---------------------------------------------------------------- loss

static void check_loss() {
    using namespace evonas_loss;
    const int n = 13, c = 75;
    vector<float> x = uniform((size_t) n * c, -6, 6), t = uniform((size_t) n * c, 0, 1);
    for (auto& v : x) v += 1e4f; // large logits are fine
    for (int r = 0; r < n; r++) {
        double s = 0;
        for (int k = 0; k < c; k++) {
            if ((r + k) % 3 == 0) t[r * c + k] = 0; // zero targets are skipped
            s += t[r * c + k];
        }
        for (int k = 0; k < c; k++) t[r * c + k] = (float) (t[r * c + k] / s * (r == 0 ? 2.0 : 1.0)); // row 0: mass 2
    }
    vector<int> labels(n);
    for (int r = 0; r < n; r++) labels[r] = (r * 7 + 3) % c;
    Dev<float> X(x), T(t), D((size_t) n * c), OUT(1);
    Dev<int> L(labels);
    Dev<double> ROW(n), OUTD(1);
    vector<double> lse(n), ll(n), lt(n);
    for (int r = 0; r < n; r++) {
        double m = -INFINITY, s = 0;
        for (int k = 0; k < c; k++) m = std::max(m, (double) x[r * c + k]);
        for (int k = 0; k < c; k++) s += std::exp(x[r * c + k] - m);
        lse[r] = m + std::log(s);
        ll[r] = lse[r] - x[r * c + labels[r]];
        lt[r] = 0;
        for (int k = 0; k < c; k++) if (t[r * c + k] != 0) lt[r] += t[r * c + k] * (lse[r] - x[r * c + k]);
    }
    for (int mode = 0; mode < 2; mode++) {
        const vector<double>& rowRef = mode == 0 ? ll : lt;
        if (mode == 0) {
            evonas_loss_cross_entropy_labels_forward<<<(n + 7) / 8, 256>>>(X.p, L.p, ROW.p, n, c);
        } else {
            evonas_loss_cross_entropy_targets_forward<<<(n + 7) / 8, 256>>>(X.p, T.p, ROW.p, n, c);
        }
        evonas_loss_reduce<<<1, 256>>>(ROW.p, n, 1, OUT.p, OUTD.p);
        LAUNCHED();
        vector<double> row = ROW.get();
        vector<float> rowf(row.begin(), row.end());
        std::string nm = mode == 0 ? "labels" : "targets";
        report("evonas_loss_cross_entropy_" + nm + "_forward", rowf, rowRef, 1e-5, 1e-6);
        double mean = 0;
        for (double v : rowRef) mean += v;
        mean /= n;
        report("evonas_loss_reduce(" + nm + ", mean)", OUT.get(), {mean}, 1e-6, 1e-6);
        for (int meanMode = 0; meanMode < 2; meanMode++) {
            const float dLoss = 1.7f;
            double scale = meanMode ? (double) dLoss / n : dLoss;
            vector<double> ref((size_t) n * c);
            for (int r = 0; r < n; r++) {
                double mass = 0;
                for (int k = 0; k < c; k++) mass += mode == 0 ? (k == labels[r]) : t[r * c + k];
                for (int k = 0; k < c; k++) {
                    double p = std::exp(x[r * c + k] - lse[r]);
                    double target = mode == 0 ? (k == labels[r] ? 1.0 : 0.0) : t[r * c + k];
                    ref[(size_t) r * c + k] = scale * (p * mass - target);
                }
            }
            if (mode == 0) {
                evonas_loss_cross_entropy_labels_backward<<<(n + 7) / 8, 256>>>(X.p, L.p, D.p, n, c, dLoss, meanMode);
            } else {
                evonas_loss_cross_entropy_targets_backward<<<(n + 7) / 8, 256>>>(X.p, T.p, D.p, n, c, dLoss,
                                                                                 meanMode);
            }
            LAUNCHED();
            report("evonas_loss_cross_entropy_" + nm + "_backward(" + (meanMode ? "mean" : "sum") + ")", D.get(),
                   ref, 1e-7, 1e-5);
        }
    }
}

// ---------------------------------------------------------------- optimisers

// Reference steps in double, per element, following layers/optim's formulas.
static void check_optimisers() {
    using namespace evonas_opt;
    const long long n = 1031;
    const int steps = 3;
    vector<vector<float>> grads;
    for (int s = 0; s < steps; s++) grads.push_back(uniform(n, -1, 1));
    vector<float> p0 = uniform(n, -1, 1);
    vector<float> step0(n);
    for (long long i = 0; i < n; i++) step0[i] = (float) (i % 4 == 0 ? 0 : i % 3); // mixed per-element counts

    enum Kind { DESCENT, MOMENTUM, NESTEROV, ADAM, ADAMW, NADAM, ADAGRAD, RMSPROP, RMSPROP_CM, WEIGHT_DECAY };
    const char* names[] = {"descent", "momentum", "nesterov", "adam", "adamw", "nadam", "adagrad", "rmsprop",
                           "rmsprop(centered,momentum)", "weight_decay"};
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.05, psi = 4e-3, alpha = 0.99, mu = 0.9;
    for (int kind = 0; kind <= WEIGHT_DECAY; kind++) {
        for (int apply = 0; apply < 2; apply++) {
            // device state
            Dev<float> P(p0), G(n), S1(vector<float>(n, 0.f)), S2(vector<float>(n, 0.f)), S3(vector<float>(n, 0.f));
            Dev<float> ST(step0), PR(vector<float>(n, 0.f));
            // host reference state
            vector<double> p(p0.begin(), p0.end()), s1(n, 0), s2(n, 0), s3(n, 0), st(step0.begin(), step0.end());
            vector<double> prod(n, 0), out(n);
            vector<float> last;
            for (int s = 0; s < steps; s++) {
                G.put(grads[s]);
                unsigned gr = grid(n);
                switch (kind) {
                    case DESCENT: evonas_optimiser_descent<<<gr, 256>>>(P.p, G.p, n, lr, apply); break;
                    case MOMENTUM: evonas_optimiser_momentum<<<gr, 256>>>(P.p, G.p, S1.p, n, lr, mu, apply); break;
                    case NESTEROV: evonas_optimiser_nesterov<<<gr, 256>>>(P.p, G.p, S1.p, n, lr, mu, apply); break;
                    case ADAM:
                        evonas_optimiser_adam<<<gr, 256>>>(P.p, G.p, S1.p, S2.p, ST.p, n, lr, b1, b2, eps, apply);
                        break;
                    case ADAMW:
                        evonas_optimiser_adamw<<<gr, 256>>>(P.p, G.p, S1.p, S2.p, ST.p, n, lr, b1, b2, eps, wd, apply);
                        break;
                    case NADAM:
                        evonas_optimiser_nadam<<<gr, 256>>>(P.p, G.p, S1.p, S2.p, ST.p, PR.p, n, lr, b1, b2, eps, psi,
                                                           apply);
                        break;
                    case ADAGRAD: evonas_optimiser_adagrad<<<gr, 256>>>(P.p, G.p, S1.p, n, lr, 1e-10, apply); break;
                    case RMSPROP:
                        evonas_optimiser_rmsprop<<<gr, 256>>>(P.p, G.p, S1.p, nullptr, nullptr, n, lr, alpha, eps,
                                                             0.0, 0, apply);
                        break;
                    case RMSPROP_CM:
                        evonas_optimiser_rmsprop<<<gr, 256>>>(P.p, G.p, S1.p, S2.p, S3.p, n, lr, alpha, eps, mu, 1,
                                                             apply);
                        break;
                    case WEIGHT_DECAY: evonas_optimiser_weight_decay<<<gr, 256>>>(P.p, G.p, n, wd, apply); break;
                }
                LAUNCHED();
                for (long long i = 0; i < n; i++) {
                    double g = grads[s][i], u = 0;
                    switch (kind) {
                        case DESCENT: u = lr * g; break;
                        case MOMENTUM: s1[i] = mu * s1[i] + g; u = lr * s1[i]; break;
                        case NESTEROV: s1[i] = mu * s1[i] + g; u = lr * (g + mu * s1[i]); break;
                        case ADAM:
                        case ADAMW: {
                            double t = ++st[i];
                            s1[i] = b1 * s1[i] + (1 - b1) * g;
                            s2[i] = b2 * s2[i] + (1 - b2) * g * g;
                            u = lr / (1 - std::pow(b1, t)) * s1[i]
                                / (std::sqrt(s2[i]) / std::sqrt(1 - std::pow(b2, t)) + eps);
                            break;
                        }
                        case NADAM: {
                            double t = ++st[i];
                            double m1 = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
                            double m2 = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
                            prod[i] = (t == 1 ? 1 : prod[i]) * m1;
                            s1[i] = b1 * s1[i] + (1 - b1) * g;
                            s2[i] = b2 * s2[i] + (1 - b2) * g * g;
                            double denom = std::sqrt(s2[i] / (1 - std::pow(b2, t))) + eps;
                            u = lr * (1 - m1) / (1 - prod[i]) * g / denom
                                + lr * m2 / (1 - prod[i] * m2) * s1[i] / denom;
                            break;
                        }
                        case ADAGRAD: s1[i] += g * g; u = lr * g / (std::sqrt(s1[i]) + 1e-10); break;
                        case RMSPROP:
                            s1[i] = alpha * s1[i] + (1 - alpha) * g * g;
                            u = lr * g / (std::sqrt(s1[i]) + eps);
                            break;
                        case RMSPROP_CM: {
                            s1[i] = alpha * s1[i] + (1 - alpha) * g * g;
                            s2[i] = alpha * s2[i] + (1 - alpha) * g;
                            double r = std::sqrt(s1[i] - s2[i] * s2[i]) + eps;
                            s3[i] = mu * s3[i] + g / r;
                            u = lr * s3[i];
                            break;
                        }
                        case WEIGHT_DECAY: u = g + wd * p[i]; break;
                    }
                    if (kind == ADAMW) {
                        if (apply) p[i] = p[i] * (1 - lr * wd) - u; else out[i] = lr * wd * p[i] + u;
                    } else if (apply) {
                        p[i] -= u;
                    } else {
                        out[i] = u;
                    }
                }
                if (!apply) last = G.get();
            }
            std::string nm = std::string("evonas_optimiser_") + names[kind] + (apply ? "(apply)" : "(transform)");
            if (apply) {
                report(nm, P.get(), p, 1e-7, 2e-5);
            } else {
                report(nm, last, out, 1e-7, 2e-5);
            }
        }
    }
}

// ---------------------------------------------------------------- timing

static void time_sgemm() {
    using namespace evonas_gemm;
    const int n = 4096;
    const size_t sz = (size_t) n * n;
    vector<float> h = uniform(sz, -1, 1);
    Dev<float> A(h), B(h), C(sz);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    dim3 g((n + 127) / 128, (n + 127) / 128);
    auto timeit = [&](const char* name, auto launch) {
        launch(); // warm-up
        CK(cudaGetLastError());
        CK(cudaDeviceSynchronize());
        const int reps = 10;
        CK(cudaEventRecord(e0));
        for (int r = 0; r < reps; r++) launch();
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaGetLastError());
        float ms = 0;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        double gflops = 2.0 * n * n * (double) n * reps / (ms * 1e-3) / 1e9;
        std::printf("TIME %s n=%d %.3f ms %.0f GFLOP/s\n", name, n, ms / reps, gflops);
        return gflops;
    };
    double fp32 = timeit("evonas_gemm_sgemm_nn", [&] {
        evonas_gemm_sgemm_nn<<<g, 256>>>(n, n, n, 1.f, A.p, n, B.p, n, 0.f, C.p, n);
    });
    timeit("evonas_gemm_sgemm_nt", [&] {
        evonas_gemm_sgemm_nt<<<g, 256>>>(n, n, n, 1.f, A.p, n, B.p, n, 0.f, C.p, n);
    });
    timeit("evonas_gemm_tf32_nn", [&] {
        evonas_gemm_tf32_nn<<<g, 256>>>(n, n, n, 1.f, A.p, n, B.p, n, 0.f, C.p, n);
    });
#ifdef EVONAS_WITH_CUBLAS
    cublasHandle_t handle;
    cublasCreate(&handle);
    cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH); // true FP32, no TF32
    float one = 1.f, zero = 0.f;
    double ref = timeit("cublasSgemm(FP32)", [&] {
        // row-major C = A B is column-major Cᵀ = Bᵀ Aᵀ
        cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, B.p, n, A.p, n, &zero, C.p, n);
    });
    std::printf("RATIO evonas_gemm_sgemm_nn / cuBLAS FP32 = %.2f (target >= 0.50)\n", fp32 / ref);
    cublasDestroy(handle);
#else
    (void) fp32;
    std::printf("NOTE built without cuBLAS (-DEVONAS_WITH_CUBLAS -lcublas): no FP32 reference timing\n");
#endif
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
}

int main(int argc, char** argv) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        std::printf("no CUDA device present (%s): the self-check needs a GPU; nothing was run\n",
                    err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
        return 2;
    }
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device: %s, sm_%d%d, %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    bool timing = !(argc > 1 && std::strcmp(argv[1], "--no-timing") == 0);
    check_elementwise();
    check_reduce();
    check_gemm();
    check_conv();
    check_pool();
    check_batchnorm();
    check_loss();
    check_optimisers();
    if (timing) time_sgemm();
    std::printf("%s: %d failed check(s)\n", g_failures ? "FAILED" : "ALL PASSED", g_failures);
    return g_failures ? 1 : 0;
}
