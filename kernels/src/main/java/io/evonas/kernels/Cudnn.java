package io.evonas.kernels;

import static io.evonas.kernels.NativeLibrary.ONE;
import static io.evonas.kernels.NativeLibrary.ZERO;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.evonas.kernels.CudaBackend.ConvGeometry;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Objects;

/**
 * cuDNN 9 (libcudnn.so.9) bound through FFM downcalls, for the three convolutions of a training step: forward,
 * backward data and backward filter, NCHW float, cross-correlation, with cuDNN's heuristics choosing the algorithm
 * (deterministic ones for the backward passes, so that two runs give the same bits). No JCudnn exists for cuDNN 9.
 *
 * <p>These are cuDNN's legacy convolution functions, which cuDNN 9 still ships (deprecated in favour of the graph
 * API, and forward compatible). A {@link Plan} holds the descriptors and chosen algorithms of one geometry; callers
 * keep plans for the geometries they meet and {@link #destroy(Plan)} them when done. The legacy API has one padding
 * per axis, so {@link #supports} refuses the asymmetric padding of "same" with an even kernel; the backend then uses
 * its own kernels.
 */
final class Cudnn {
    /** The libraries tried. */
    static final List<String> LIBRARIES = List.of("libcudnn.so.9");
    static final int NCHW = 0;
    static final int FLOAT = 0;
    static final int CROSS_CORRELATION = 1;
    static final int DEFAULT_MATH = 0;
    /** {@code CUDNN_FMA_MATH}: FP32 FMA kernels only, never TF32 tensor cores. */
    static final int FMA_MATH = 3;
    static final int DETERMINISTIC = 1;
    /** The algorithm counts of cuDNN 9: forward 8, backward data 6, backward filter 7 (requested at most). */
    static final int MAX_ALGORITHMS = 8;
    /**
     * {@code cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t}, one layout for all three:
     * {@code {int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3];}}.
     */
    static final StructLayout PERF = MemoryLayout.structLayout(JAVA_INT.withName("algo"),
            JAVA_INT.withName("status"), JAVA_FLOAT.withName("time"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"), JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"), MemoryLayout.paddingLayout(4));

    private final NativeLibrary lib;
    private final String library;
    private final MethodHandle create;
    private final MethodHandle destroy;
    private final MethodHandle getVersion;
    private final MethodHandle errorString;
    private final MethodHandle createTensor;
    private final MethodHandle setTensor4d;
    private final MethodHandle destroyTensor;
    private final MethodHandle createFilter;
    private final MethodHandle setFilter4d;
    private final MethodHandle destroyFilter;
    private final MethodHandle createConvolution;
    private final MethodHandle setConvolution2d;
    private final MethodHandle setMathType;
    private final MethodHandle destroyConvolution;
    private final MethodHandle forwardAlgorithms;
    private final MethodHandle dataAlgorithms;
    private final MethodHandle filterAlgorithms;
    private final MethodHandle forwardWorkspace;
    private final MethodHandle dataWorkspace;
    private final MethodHandle filterWorkspace;
    private final MethodHandle forward;
    private final MethodHandle backwardData;
    private final MethodHandle backwardFilter;
    private final MethodHandle addTensor;

    private Cudnn(NativeLibrary lib) {
        this.lib = lib;
        library = lib.name();
        FunctionDescriptor onePointer = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        create = lib.function("cudnnCreate", onePointer);
        destroy = lib.function("cudnnDestroy", onePointer);
        getVersion = lib.function("cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        errorString = lib.function("cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        createTensor = lib.function("cudnnCreateTensorDescriptor", onePointer);
        // (desc, format, dataType, n, c, h, w)
        setTensor4d = lib.function("cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyTensor = lib.function("cudnnDestroyTensorDescriptor", onePointer);
        createFilter = lib.function("cudnnCreateFilterDescriptor", onePointer);
        // (desc, dataType, format, k, c, h, w)
        setFilter4d = lib.function("cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = lib.function("cudnnDestroyFilterDescriptor", onePointer);
        createConvolution = lib.function("cudnnCreateConvolutionDescriptor", onePointer);
        // (desc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType)
        setConvolution2d = lib.function("cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setMathType = lib.function("cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT));
        destroyConvolution = lib.function("cudnnDestroyConvolutionDescriptor", onePointer);
        // (handle, four descriptors, requestedAlgoCount, *returnedAlgoCount, *perfResults)
        FunctionDescriptor heuristic = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS, ADDRESS);
        forwardAlgorithms = lib.function("cudnnGetConvolutionForwardAlgorithm_v7", heuristic);
        dataAlgorithms = lib.function("cudnnGetConvolutionBackwardDataAlgorithm_v7", heuristic);
        filterAlgorithms = lib.function("cudnnGetConvolutionBackwardFilterAlgorithm_v7", heuristic);
        // (handle, four descriptors, algo, *sizeInBytes)
        FunctionDescriptor workspace = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS);
        forwardWorkspace = lib.function("cudnnGetConvolutionForwardWorkspaceSize", workspace);
        dataWorkspace = lib.function("cudnnGetConvolutionBackwardDataWorkspaceSize", workspace);
        filterWorkspace = lib.function("cudnnGetConvolutionBackwardFilterWorkspaceSize", workspace);
        // (handle, *alpha, desc, in1, desc, in2, convDesc, algo, workSpace, bytes, *beta, desc, out)
        FunctionDescriptor convolution = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        forward = lib.function("cudnnConvolutionForward", convolution);
        backwardData = lib.function("cudnnConvolutionBackwardData", convolution);
        backwardFilter = lib.function("cudnnConvolutionBackwardFilter", convolution);
        // (handle, *alpha, aDesc, A, *beta, cDesc, C)
        addTensor = lib.function("cudnnAddTensor", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    }

    /** Binds {@code lib}'s functions; throws, naming the function, when one is missing. */
    static Cudnn open(NativeLibrary lib) {
        return new Cudnn(Objects.requireNonNull(lib, "lib"));
    }

    /** The library's file name. */
    String library() {
        return library;
    }

    /** {@code cudnnGetVersion}: e.g. 91000 for 9.10.0. */
    long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw lib.rethrow(t, "cudnnGetVersion");
        }
    }

    /** {@code cudnnCreate}: a new handle, in the context current on this thread. */
    MemorySegment create() {
        return newObject(create, "cudnnCreate");
    }

    /** {@code cudnnDestroy}. */
    void destroy(MemorySegment handle) {
        check(invoke(destroy, handle), "cudnnDestroy");
    }

    /**
     * Whether cuDNN computes this geometry: its legacy API pads both sides of an axis alike, so the output must be
     * the size that symmetric padding by {@code pt}, {@code pl} gives (extra padding at the bottom or right that
     * no output reads is harmless).
     */
    static boolean supports(ConvGeometry g) {
        return g.oh() == symmetricOutput(g.h(), g.kh(), g.sh(), g.pt(), g.dh())
                && g.ow() == symmetricOutput(g.w(), g.kw(), g.sw(), g.pl(), g.dw());
    }

    private static long symmetricOutput(int in, int k, int stride, int pad, int dilation) {
        long span = (long) dilation * (k - 1) + 1;
        return (in + 2L * pad - span) / stride + 1;
    }

    /**
     * The descriptors and algorithms of one convolution geometry.
     *
     * @param x the input's tensor descriptor, {@code [N, C, H, W]}
     * @param w the filter descriptor, {@code [OC, C, KH, KW]}
     * @param y the output's tensor descriptor, {@code [N, OC, OH, OW]}
     * @param bias the bias's tensor descriptor, {@code [1, OC, 1, 1]}
     * @param convolution the convolution descriptor
     * @param forwardAlgorithm {@code cudnnConvolutionFwdAlgo_t}
     * @param dataAlgorithm {@code cudnnConvolutionBwdDataAlgo_t}, deterministic
     * @param filterAlgorithm {@code cudnnConvolutionBwdFilterAlgo_t}, deterministic
     * @param forwardBytes workspace of the forward pass
     * @param dataBytes workspace of the backward-data pass
     * @param filterBytes workspace of the backward-filter pass
     */
    record Plan(MemorySegment x, MemorySegment w, MemorySegment y, MemorySegment bias, MemorySegment convolution,
                int forwardAlgorithm, int dataAlgorithm, int filterAlgorithm, long forwardBytes, long dataBytes,
                long filterBytes) {
    }

    /**
     * Describes {@code g} to cuDNN and asks its heuristics for the algorithms; {@code tf32} lets them use TF32
     * tensor cores ({@code CUDNN_DEFAULT_MATH}), otherwise only FP32 FMA kernels run ({@code CUDNN_FMA_MATH}).
     */
    Plan plan(MemorySegment handle, ConvGeometry g, boolean tf32) {
        if (!supports(g)) {
            throw new IllegalArgumentException("cuDNN: " + g + " needs asymmetric padding, which cuDNN's "
                    + "legacy API does not take");
        }
        MemorySegment x = tensor(g.n(), g.c(), g.h(), g.w());
        MemorySegment y = tensor(g.n(), g.oc(), g.oh(), g.ow());
        MemorySegment bias = tensor(1, g.oc(), 1, 1);
        MemorySegment w = newObject(createFilter, "cudnnCreateFilterDescriptor");
        check(invoke(setFilter4d, w, FLOAT, NCHW, g.oc(), g.c(), g.kh(), g.kw()),
                "cudnnSetFilter4dDescriptor(" + g.oc() + ", " + g.c() + ", " + g.kh() + ", " + g.kw() + ")");
        MemorySegment conv = newObject(createConvolution, "cudnnCreateConvolutionDescriptor");
        check(invoke(setConvolution2d, conv, g.pt(), g.pl(), g.sh(), g.sw(), g.dh(), g.dw(), CROSS_CORRELATION,
                FLOAT), "cudnnSetConvolution2dDescriptor(" + g + ")");
        check(invoke(setMathType, conv, tf32 ? DEFAULT_MATH : FMA_MATH), "cudnnSetConvolutionMathType");
        int fwd = choose(forwardAlgorithms, "cudnnGetConvolutionForwardAlgorithm_v7", false, handle, x, w, conv, y);
        int data = choose(dataAlgorithms, "cudnnGetConvolutionBackwardDataAlgorithm_v7", true, handle, w, y, conv,
                x);
        int filter = choose(filterAlgorithms, "cudnnGetConvolutionBackwardFilterAlgorithm_v7", true, handle, x, y,
                conv, w);
        long fwdBytes = workspace(forwardWorkspace, "cudnnGetConvolutionForwardWorkspaceSize", handle, x, w, conv, y,
                fwd);
        long dataBytes = workspace(dataWorkspace, "cudnnGetConvolutionBackwardDataWorkspaceSize", handle, w, y, conv,
                x, data);
        long filterBytes = workspace(filterWorkspace, "cudnnGetConvolutionBackwardFilterWorkspaceSize", handle, x, y,
                conv, w, filter);
        return new Plan(x, w, y, bias, conv, fwd, data, filter, fwdBytes, dataBytes, filterBytes);
    }

    /** Destroys the plan's descriptors. */
    void destroy(Plan plan) {
        check(invoke(destroyTensor, plan.x()), "cudnnDestroyTensorDescriptor");
        check(invoke(destroyTensor, plan.y()), "cudnnDestroyTensorDescriptor");
        check(invoke(destroyTensor, plan.bias()), "cudnnDestroyTensorDescriptor");
        check(invoke(destroyFilter, plan.w()), "cudnnDestroyFilterDescriptor");
        check(invoke(destroyConvolution, plan.convolution()), "cudnnDestroyConvolutionDescriptor");
    }

    /** {@code y = conv(x, w)}, then {@code y += bias} per channel when {@code bias} is not 0; device addresses. */
    void forward(MemorySegment handle, Plan p, long x, long w, long bias, long y, long workspace) {
        check(convolve(forward, handle, p.x(), x, p.w(), w, p, p.forwardAlgorithm(), workspace, p.forwardBytes(),
                ZERO, p.y(), y), "cudnnConvolutionForward");
        if (bias != 0) {
            int status;
            try {
                status = (int) addTensor.invokeExact(handle, ONE, p.bias(), MemorySegment.ofAddress(bias), ONE, p.y(),
                        MemorySegment.ofAddress(y));
            } catch (Throwable t) {
                throw lib.rethrow(t, "cudnnAddTensor");
            }
            check(status, "cudnnAddTensor");
        }
    }

    /** {@code dx = ∂/∂x}: the transposed convolution of {@code dy} with {@code w}. */
    void backwardData(MemorySegment handle, Plan p, long w, long dy, long dx, long workspace) {
        check(convolve(backwardData, handle, p.w(), w, p.y(), dy, p, p.dataAlgorithm(), workspace, p.dataBytes(),
                ZERO, p.x(), dx), "cudnnConvolutionBackwardData");
    }

    /** {@code dw = ∂/∂w}, added to what {@code dw} holds when {@code accumulate}. */
    void backwardFilter(MemorySegment handle, Plan p, long x, long dy, long dw, boolean accumulate,
                        long workspace) {
        check(convolve(backwardFilter, handle, p.x(), x, p.y(), dy, p, p.filterAlgorithm(), workspace,
                p.filterBytes(), accumulate ? ONE : ZERO, p.w(), dw), "cudnnConvolutionBackwardFilter");
    }

    private int convolve(MethodHandle h, MemorySegment handle, MemorySegment desc1, long in1, MemorySegment desc2,
                         long in2, Plan p, int algorithm, long workspace, long bytes, MemorySegment beta,
                         MemorySegment outDesc, long out) {
        try {
            return (int) h.invokeExact(handle, ONE, desc1, MemorySegment.ofAddress(in1), desc2,
                    MemorySegment.ofAddress(in2), p.convolution(), algorithm, MemorySegment.ofAddress(workspace),
                    bytes, beta, outDesc, MemorySegment.ofAddress(out));
        } catch (Throwable t) {
            throw lib.rethrow(t, "convolution");
        }
    }

    private MemorySegment tensor(int n, int c, int h, int w) {
        MemorySegment d = newObject(createTensor, "cudnnCreateTensorDescriptor");
        check(invoke(setTensor4d, d, NCHW, FLOAT, n, c, h, w),
                "cudnnSetTensor4dDescriptor(" + n + ", " + c + ", " + h + ", " + w + ")");
        return d;
    }

    /**
     * The first algorithm the heuristics rank that can run ({@code status} 0) and, when {@code deterministic}, gives
     * the same bits every run.
     */
    private int choose(MethodHandle h, String name, boolean deterministic, MemorySegment handle, MemorySegment a,
                       MemorySegment b, MemorySegment c, MemorySegment d) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            MemorySegment perf = arena.allocate(PERF, MAX_ALGORITHMS);
            int status;
            try {
                status = (int) h.invokeExact(handle, a, b, c, d, MAX_ALGORITHMS, count, perf);
            } catch (Throwable t) {
                throw lib.rethrow(t, name);
            }
            check(status, name);
            int returned = Math.min(count.get(JAVA_INT, 0), MAX_ALGORITHMS);
            StringBuilder seen = new StringBuilder();
            for (int i = 0; i < returned; i++) {
                long at = i * PERF.byteSize();
                int algo = perf.get(JAVA_INT, at);
                int ok = perf.get(JAVA_INT, at + 4);
                int determinism = perf.get(JAVA_INT, at + 24);
                if (ok == 0 && (!deterministic || determinism == DETERMINISTIC)) {
                    return algo;
                }
                seen.append(seen.isEmpty() ? "" : ", ").append(algo).append(ok == 0 ? "" : " (status " + ok + ")")
                        .append(determinism == DETERMINISTIC ? "" : " (non-deterministic)");
            }
            throw new IllegalStateException(library + ": " + name + " offered no usable "
                    + (deterministic ? "deterministic " : "") + "algorithm (offered: " + seen + ")");
        }
    }

    private long workspace(MethodHandle h, String name, MemorySegment handle, MemorySegment a, MemorySegment b,
                           MemorySegment c, MemorySegment d, int algorithm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(JAVA_LONG);
            int status;
            try {
                status = (int) h.invokeExact(handle, a, b, c, d, algorithm, bytes);
            } catch (Throwable t) {
                throw lib.rethrow(t, name);
            }
            check(status, name + "(algorithm " + algorithm + ")");
            return bytes.get(JAVA_LONG, 0);
        }
    }

    private MemorySegment newObject(MethodHandle h, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(invoke(h, out), name);
            return out.get(ADDRESS, 0);
        }
    }

    private int invoke(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw lib.rethrow(t, "a downcall");
        }
    }

    /** Throws, naming the call and the status ({@code CUDNN_STATUS_...}), unless {@code status} is success. */
    void check(int status, String what) {
        if (status != 0) {
            throw lib.failure(what, status, errorString, "cuDNN");
        }
    }
}
