package io.evonas.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A stand-in for libcudnn.so.9 made of upcall stubs, so that {@link Cudnn} runs its real downcalls without a GPU.
 * It keeps what each descriptor was set to, checks a convolution's descriptors against each other as cuDNN does
 * (kinds, channels, the output size that symmetric padding gives, the workspace), and computes NCHW
 * cross-correlation, its data and filter gradients and {@code cudnnAddTensor} in double precision on host memory.
 * Its heuristics offer algorithms that cannot run or are not deterministic ahead of the one to pick.
 */
final class FakeCudnn {
    static final int SUCCESS = 0;
    static final int BAD_PARAM = 2000;
    static final int NOT_SUPPORTED = 3000;
    /** What the heuristics offer, best first: {algo, status, determinism} (forward, backward data, filter). */
    static final int[][] FORWARD_OFFER = {{6, NOT_SUPPORTED, 1}, {1, SUCCESS, 1}, {0, SUCCESS, 1}};
    static final int[][] DATA_OFFER = {{0, SUCCESS, 0}, {1, SUCCESS, 1}};
    static final int[][] FILTER_OFFER = {{0, SUCCESS, 0}, {3, SUCCESS, 1}};
    /** The workspace each picked algorithm needs: forward 1 and filter 3 need some, data 1 none. */
    static final Map<String, Long> WORKSPACE = Map.of("forward1", 4096L, "forward0", 0L, "data1", 0L, "data0", 0L,
            "filter3", 256L, "filter0", 0L);

    private record TensorDesc(int n, int c, int h, int w) {
    }

    private record FilterDesc(int k, int c, int h, int w) {
    }

    private record ConvDesc(int ph, int pw, int u, int v, int dh, int dw, int mode, int mathType) {
    }

    private final Arena arena;
    private final MemorySegment handle;
    private final Map<Long, Object> objects = new HashMap<>();
    int[][] forwardOffer = FORWARD_OFFER;
    int[][] dataOffer = DATA_OFFER;
    int[][] filterOffer = FILTER_OFFER;
    int convolutions;
    int liveDescriptors;
    String lastError = "";

    FakeCudnn(Arena arena) {
        this.arena = arena;
        this.handle = arena.allocate(8);
    }

    NativeLibrary library() {
        Map<String, MemorySegment> s = new HashMap<>();
        FunctionDescriptor onePointer = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor sevenInts = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT);
        FunctionDescriptor heuristic = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS, ADDRESS);
        FunctionDescriptor workspace = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS);
        FunctionDescriptor convolution = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        s.put("cudnnCreate", stub("create", onePointer));
        s.put("cudnnDestroy", stub("destroy", onePointer));
        s.put("cudnnGetVersion", stub("version", FunctionDescriptor.of(JAVA_LONG)));
        s.put("cudnnGetErrorString", stub("errorString", FunctionDescriptor.of(ADDRESS, JAVA_INT)));
        s.put("cudnnCreateTensorDescriptor", stub("createObject", onePointer));
        s.put("cudnnCreateFilterDescriptor", stub("createObject", onePointer));
        s.put("cudnnCreateConvolutionDescriptor", stub("createObject", onePointer));
        s.put("cudnnDestroyTensorDescriptor", stub("destroyObject", onePointer));
        s.put("cudnnDestroyFilterDescriptor", stub("destroyObject", onePointer));
        s.put("cudnnDestroyConvolutionDescriptor", stub("destroyObject", onePointer));
        s.put("cudnnSetTensor4dDescriptor", stub("setTensor", sevenInts));
        s.put("cudnnSetFilter4dDescriptor", stub("setFilter", sevenInts));
        s.put("cudnnSetConvolution2dDescriptor", stub("setConvolution", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)));
        s.put("cudnnSetConvolutionMathType", stub("setMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT)));
        s.put("cudnnGetConvolutionForwardAlgorithm_v7", stub("forwardAlgorithms", heuristic));
        s.put("cudnnGetConvolutionBackwardDataAlgorithm_v7", stub("dataAlgorithms", heuristic));
        s.put("cudnnGetConvolutionBackwardFilterAlgorithm_v7", stub("filterAlgorithms", heuristic));
        s.put("cudnnGetConvolutionForwardWorkspaceSize", stub("forwardWorkspace", workspace));
        s.put("cudnnGetConvolutionBackwardDataWorkspaceSize", stub("dataWorkspace", workspace));
        s.put("cudnnGetConvolutionBackwardFilterWorkspaceSize", stub("filterWorkspace", workspace));
        s.put("cudnnConvolutionForward", stub("forward", convolution));
        s.put("cudnnConvolutionBackwardData", stub("backwardData", convolution));
        s.put("cudnnConvolutionBackwardFilter", stub("backwardFilter", convolution));
        s.put("cudnnAddTensor", stub("addTensor", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS)));
        return new NativeLibrary("libcudnn.so.fake", name -> Optional.ofNullable(s.get(name)));
    }

    private MemorySegment stub(String method, FunctionDescriptor descriptor) {
        try {
            var target = MethodHandles.lookup().findVirtual(FakeCudnn.class, method, descriptor.toMethodType())
                    .bindTo(this);
            return Linker.nativeLinker().upcallStub(target, descriptor, arena);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /** Fails the call: an upcall must not throw (the JVM would stop), so the reason is kept for the test. */
    private int fail(String why) {
        lastError = why;
        return BAD_PARAM;
    }

    int create(MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, handle);
        return SUCCESS;
    }

    int destroy(MemorySegment h) {
        return h.address() == handle.address() ? SUCCESS : fail("cudnnDestroy of an unknown handle");
    }

    long version() {
        return 91000;
    }

    MemorySegment errorString(int status) {
        return arena.allocateFrom(switch (status) {
            case BAD_PARAM -> "CUDNN_STATUS_BAD_PARAM";
            case NOT_SUPPORTED -> "CUDNN_STATUS_NOT_SUPPORTED";
            default -> "CUDNN_STATUS_" + status;
        });
    }

    int createObject(MemorySegment out) {
        MemorySegment object = arena.allocate(8);
        objects.put(object.address(), "unset");
        liveDescriptors++;
        out.reinterpret(8).set(ADDRESS, 0, object);
        return SUCCESS;
    }

    int destroyObject(MemorySegment d) {
        if (objects.remove(d.address()) == null) {
            return fail("destroy of an unknown descriptor");
        }
        liveDescriptors--;
        return SUCCESS;
    }

    int setTensor(MemorySegment d, int format, int type, int n, int c, int h, int w) {
        if (!objects.containsKey(d.address()) || format != Cudnn.NCHW || type != Cudnn.FLOAT || n <= 0 || c <= 0
                || h <= 0 || w <= 0) {
            return fail("cudnnSetTensor4dDescriptor(" + format + ", " + type + ", " + n + ", " + c + ", " + h + ", "
                    + w + ")");
        }
        objects.put(d.address(), new TensorDesc(n, c, h, w));
        return SUCCESS;
    }

    int setFilter(MemorySegment d, int type, int format, int k, int c, int h, int w) {
        if (!objects.containsKey(d.address()) || format != Cudnn.NCHW || type != Cudnn.FLOAT || k <= 0 || c <= 0
                || h <= 0 || w <= 0) {
            return fail("cudnnSetFilter4dDescriptor");
        }
        objects.put(d.address(), new FilterDesc(k, c, h, w));
        return SUCCESS;
    }

    int setConvolution(MemorySegment d, int ph, int pw, int u, int v, int dh, int dw, int mode, int computeType) {
        if (!objects.containsKey(d.address()) || ph < 0 || pw < 0 || u <= 0 || v <= 0 || dh <= 0 || dw <= 0
                || computeType != Cudnn.FLOAT) {
            return fail("cudnnSetConvolution2dDescriptor");
        }
        objects.put(d.address(), new ConvDesc(ph, pw, u, v, dh, dw, mode, -1));
        return SUCCESS;
    }

    int setMathType(MemorySegment d, int mathType) {
        if (!(objects.get(d.address()) instanceof ConvDesc c)) {
            return fail("cudnnSetConvolutionMathType on a non-convolution descriptor");
        }
        objects.put(d.address(), new ConvDesc(c.ph(), c.pw(), c.u(), c.v(), c.dh(), c.dw(), c.mode(), mathType));
        return SUCCESS;
    }

    /** The convolution's mathType, as last set; for tests. */
    int mathType(MemorySegment d) {
        return ((ConvDesc) objects.get(d.address())).mathType();
    }

    /** Checks the four descriptors describe one convolution: {@code x ⋆ w = y}; null when they do. */
    private String mismatch(MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y) {
        if (!(objects.get(x.address()) instanceof TensorDesc xd) || !(objects.get(w.address()) instanceof FilterDesc wd)
                || !(objects.get(conv.address()) instanceof ConvDesc cd)
                || !(objects.get(y.address()) instanceof TensorDesc yd)) {
            return "descriptors of the wrong kind";
        }
        long oh = (xd.h() + 2L * cd.ph() - ((long) cd.dh() * (wd.h() - 1) + 1)) / cd.u() + 1;
        long ow = (xd.w() + 2L * cd.pw() - ((long) cd.dw() * (wd.w() - 1) + 1)) / cd.v() + 1;
        if (xd.c() != wd.c() || yd.c() != wd.k() || yd.n() != xd.n() || yd.h() != oh || yd.w() != ow) {
            return "x " + xd + " ⋆ w " + wd + " with " + cd + " is not y " + yd;
        }
        if (cd.mode() != Cudnn.CROSS_CORRELATION) {
            return "mode " + cd.mode() + " is not cross-correlation";
        }
        return null;
    }

    private int offer(MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y, int requested,
                      MemorySegment count, MemorySegment perf, int[][] offer) {
        String bad = mismatch(x, w, conv, y);
        if (bad != null || requested < offer.length) {
            return fail(bad != null ? bad : "requested " + requested);
        }
        MemorySegment p = perf.reinterpret(Cudnn.PERF.byteSize() * requested);
        for (int i = 0; i < offer.length; i++) {
            long at = i * Cudnn.PERF.byteSize();
            p.set(JAVA_INT, at, offer[i][0]);
            p.set(JAVA_INT, at + 4, offer[i][1]);
            p.set(JAVA_FLOAT, at + 8, 0.1f * (i + 1));
            p.set(JAVA_LONG, at + 16, 1L << 20);
            p.set(JAVA_INT, at + 24, offer[i][2]);
        }
        count.reinterpret(4).set(JAVA_INT, 0, offer.length);
        return SUCCESS;
    }

    int forwardAlgorithms(MemorySegment h, MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y,
                          int requested, MemorySegment count, MemorySegment perf) {
        return offer(x, w, conv, y, requested, count, perf, forwardOffer);
    }

    int dataAlgorithms(MemorySegment h, MemorySegment w, MemorySegment dy, MemorySegment conv, MemorySegment dx,
                       int requested, MemorySegment count, MemorySegment perf) {
        return offer(dx, w, conv, dy, requested, count, perf, dataOffer);
    }

    int filterAlgorithms(MemorySegment h, MemorySegment x, MemorySegment dy, MemorySegment conv, MemorySegment dw,
                         int requested, MemorySegment count, MemorySegment perf) {
        return offer(x, dw, conv, dy, requested, count, perf, filterOffer);
    }

    private int workspace(String key, MemorySegment size) {
        Long bytes = WORKSPACE.get(key);
        if (bytes == null) {
            return fail("no workspace size for " + key);
        }
        size.reinterpret(8).set(JAVA_LONG, 0, bytes);
        return SUCCESS;
    }

    int forwardWorkspace(MemorySegment h, MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y,
                         int algo, MemorySegment size) {
        String bad = mismatch(x, w, conv, y);
        return bad != null ? fail(bad) : workspace("forward" + algo, size);
    }

    int dataWorkspace(MemorySegment h, MemorySegment w, MemorySegment dy, MemorySegment conv, MemorySegment dx,
                      int algo, MemorySegment size) {
        String bad = mismatch(dx, w, conv, dy);
        return bad != null ? fail(bad) : workspace("data" + algo, size);
    }

    int filterWorkspace(MemorySegment h, MemorySegment x, MemorySegment dy, MemorySegment conv, MemorySegment dw,
                        int algo, MemorySegment size) {
        String bad = mismatch(x, dw, conv, dy);
        return bad != null ? fail(bad) : workspace("filter" + algo, size);
    }

    /** The geometry of a checked convolution, and its host memory. */
    private record Conv(TensorDesc x, FilterDesc w, ConvDesc c, TensorDesc y) {
        long xi(int n, int ch, int i, int j) {
            return ((long) (n * x.c() + ch) * x.h() + i) * x.w() + j;
        }

        long wi(int k, int ch, int i, int j) {
            return ((long) (k * w.c() + ch) * w.h() + i) * w.w() + j;
        }

        long yi(int n, int k, int i, int j) {
            return ((long) (n * y.c() + k) * y.h() + i) * y.w() + j;
        }

        long xSize() {
            return (long) x.n() * x.c() * x.h() * x.w();
        }

        long wSize() {
            return (long) w.k() * w.c() * w.h() * w.w();
        }

        long ySize() {
            return (long) y.n() * y.c() * y.h() * y.w();
        }
    }

    private String checkRun(String kind, MemorySegment h, MemorySegment x, MemorySegment w, MemorySegment conv,
                            MemorySegment y, int algo, MemorySegment ws, long bytes, int[][] offer) {
        if (h.address() != handle.address()) {
            return "unknown handle";
        }
        String bad = mismatch(x, w, conv, y);
        if (bad != null) {
            return bad;
        }
        boolean offered = false;
        for (int[] o : offer) {
            offered |= o[0] == algo && o[1] == SUCCESS;
        }
        long need = WORKSPACE.getOrDefault(kind + algo, -1L);
        if (!offered || need < 0) {
            return kind + " algorithm " + algo + " was not offered";
        }
        if (bytes < need || need > 0 && ws.address() == 0) {
            return kind + " algorithm " + algo + " needs a " + need + "-byte workspace, got " + bytes + " at 0x"
                    + Long.toHexString(ws.address());
        }
        return null;
    }

    private Conv conv(MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y) {
        return new Conv((TensorDesc) objects.get(x.address()), (FilterDesc) objects.get(w.address()),
                (ConvDesc) objects.get(conv.address()), (TensorDesc) objects.get(y.address()));
    }

    /** Σ over taps of x·w for every (output position, input position, weight) triple, visited by {@code visit}. */
    private interface Tap {
        void at(long xi, long wi, long yi);
    }

    private static void taps(Conv g, Tap visit) {
        for (int n = 0; n < g.y().n(); n++) {
            for (int k = 0; k < g.y().c(); k++) {
                for (int oi = 0; oi < g.y().h(); oi++) {
                    for (int oj = 0; oj < g.y().w(); oj++) {
                        for (int ch = 0; ch < g.x().c(); ch++) {
                            for (int ki = 0; ki < g.w().h(); ki++) {
                                int i = oi * g.c().u() - g.c().ph() + ki * g.c().dh();
                                for (int kj = 0; kj < g.w().w(); kj++) {
                                    int j = oj * g.c().v() - g.c().pw() + kj * g.c().dw();
                                    if (i >= 0 && i < g.x().h() && j >= 0 && j < g.x().w()) {
                                        visit.at(g.xi(n, ch, i, j), g.wi(k, ch, ki, kj), g.yi(n, k, oi, oj));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static void blend(MemorySegment out, double[] sum, MemorySegment alpha, MemorySegment beta) {
        float a = alpha.reinterpret(4).get(JAVA_FLOAT, 0);
        float b = beta.reinterpret(4).get(JAVA_FLOAT, 0);
        for (int i = 0; i < sum.length; i++) {
            double old = b == 0 ? 0 : b * out.getAtIndex(JAVA_FLOAT, i);
            out.setAtIndex(JAVA_FLOAT, i, (float) (a * sum[i] + old));
        }
    }

    int forward(MemorySegment h, MemorySegment alpha, MemorySegment xDesc, MemorySegment x, MemorySegment wDesc,
                MemorySegment w, MemorySegment conv, int algo, MemorySegment ws, long bytes, MemorySegment beta,
                MemorySegment yDesc, MemorySegment y) {
        return run("forward", forwardOffer, h, alpha, beta, xDesc, wDesc, conv, yDesc, algo, ws, bytes, x, w, y, 2);
    }

    int backwardData(MemorySegment h, MemorySegment alpha, MemorySegment wDesc, MemorySegment w,
                     MemorySegment dyDesc, MemorySegment dy, MemorySegment conv, int algo, MemorySegment ws,
                     long bytes, MemorySegment beta, MemorySegment dxDesc, MemorySegment dx) {
        return run("data", dataOffer, h, alpha, beta, dxDesc, wDesc, conv, dyDesc, algo, ws, bytes, dx, w, dy, 0);
    }

    int backwardFilter(MemorySegment h, MemorySegment alpha, MemorySegment xDesc, MemorySegment x,
                       MemorySegment dyDesc, MemorySegment dy, MemorySegment conv, int algo, MemorySegment ws,
                       long bytes, MemorySegment beta, MemorySegment dwDesc, MemorySegment dw) {
        return run("filter", filterOffer, h, alpha, beta, xDesc, dwDesc, conv, dyDesc, algo, ws, bytes, x, dw, dy,
                1);
    }

    /**
     * One of the three passes, after the checks: the operand {@code out} (0 x, 1 w, 2 y) becomes
     * {@code alpha · Σ (product of the other two over every tap) + beta · out}, in double.
     */
    private int run(String kind, int[][] offer, MemorySegment h, MemorySegment alpha, MemorySegment beta,
                    MemorySegment xDesc, MemorySegment wDesc, MemorySegment conv, MemorySegment yDesc, int algo,
                    MemorySegment ws, long bytes, MemorySegment x, MemorySegment w, MemorySegment y, int out) {
        try {
            String bad = checkRun(kind, h, xDesc, wDesc, conv, yDesc, algo, ws, bytes, offer);
            if (bad != null) {
                return fail(bad);
            }
            Conv g = conv(xDesc, wDesc, conv, yDesc);
            long[] sizes = {g.xSize(), g.wSize(), g.ySize()};
            MemorySegment xs = x.reinterpret(4 * sizes[0]);
            MemorySegment wm = w.reinterpret(4 * sizes[1]);
            MemorySegment ym = y.reinterpret(4 * sizes[2]);
            double[] sum = new double[(int) sizes[out]];
            taps(g, (xi, wi, yi) -> {
                switch (out) {
                    case 0 -> sum[(int) xi] += (double) ym.getAtIndex(JAVA_FLOAT, yi) * wm.getAtIndex(JAVA_FLOAT, wi);
                    case 1 -> sum[(int) wi] += (double) xs.getAtIndex(JAVA_FLOAT, xi) * ym.getAtIndex(JAVA_FLOAT, yi);
                    default -> sum[(int) yi] += (double) xs.getAtIndex(JAVA_FLOAT, xi)
                            * wm.getAtIndex(JAVA_FLOAT, wi);
                }
            });
            blend(new MemorySegment[] {xs, wm, ym}[out], sum, alpha, beta);
            convolutions++;
            return SUCCESS;
        } catch (RuntimeException e) {
            return fail(e.toString());
        }
    }

    /** {@code C = alpha A + beta C}, A broadcast along the dimensions where it has size 1. */
    int addTensor(MemorySegment h, MemorySegment alpha, MemorySegment aDesc, MemorySegment a, MemorySegment beta,
                  MemorySegment cDesc, MemorySegment c) {
        try {
            if (!(objects.get(aDesc.address()) instanceof TensorDesc ad)
                    || !(objects.get(cDesc.address()) instanceof TensorDesc cd)
                    || ad.n() != 1 || ad.h() != 1 || ad.w() != 1 || ad.c() != cd.c()) {
                return fail("cudnnAddTensor: a is not [1, C, 1, 1] of c's C");
            }
            float al = alpha.reinterpret(4).get(JAVA_FLOAT, 0);
            float be = beta.reinterpret(4).get(JAVA_FLOAT, 0);
            MemorySegment as = a.reinterpret(4L * ad.c());
            long plane = (long) cd.h() * cd.w();
            MemorySegment cs = c.reinterpret(4L * cd.n() * cd.c() * plane);
            for (long i = 0; i < (long) cd.n() * cd.c() * plane; i++) {
                int ch = (int) (i / plane % cd.c());
                cs.setAtIndex(JAVA_FLOAT, i, al * as.getAtIndex(JAVA_FLOAT, ch) + be * cs.getAtIndex(JAVA_FLOAT, i));
            }
            return SUCCESS;
        } catch (RuntimeException e) {
            return fail(e.toString());
        }
    }
}
