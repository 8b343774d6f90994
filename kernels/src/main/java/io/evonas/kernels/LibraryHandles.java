package io.evonas.kernels;

import io.evonas.kernels.CudaBackend.ConvGeometry;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One GPU's cuBLAS and cuDNN state: the handles (made on first use, in the device's primary context), the cuDNN
 * plans of the last {@value #PLANS} convolution geometries met (a search meets many; the least recently used plan's
 * descriptors are destroyed), and one workspace that grows to the largest a plan needs. The libraries' work goes
 * to the legacy default stream, ordered with the kernels', so the workspace is reused without waiting. Calls
 * synchronise on this object: a handle is not to be used by two threads at once.
 */
final class LibraryHandles {
    static final int PLANS = 64;

    private final CudaDevice device;
    private final Cublas cublas;
    private final Cudnn cudnn;
    private final boolean tf32;
    private final Map<ConvGeometry, Cudnn.Plan> plans = new LinkedHashMap<>(16, 0.75f, true);
    private MemorySegment blasHandle;
    private MemorySegment dnnHandle;
    private CudaStorage workspace;

    LibraryHandles(CudaDevice device, Cublas cublas, Cudnn cudnn, boolean tf32) {
        this.device = Objects.requireNonNull(device, "device");
        this.cublas = cublas;
        this.cudnn = cudnn;
        this.tf32 = tf32;
    }

    /** Whether matrix products go to cuBLAS. */
    boolean multiplies() {
        return cublas != null;
    }

    /** Whether cuDNN computes convolutions of geometry {@code g}. */
    boolean convolves(ConvGeometry g) {
        return cudnn != null && g.positions() > 0 && Cudnn.supports(g);
    }

    /** Row-major {@code C = op(A) op(B)} through cuBLAS (see {@link Cublas#sgemmRowMajor}). */
    synchronized void sgemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb,
                            long c, int ldc) {
        cublas.sgemmRowMajor(blas(), transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
    }

    /** {@code y = conv(x, w) + bias} through cuDNN; {@code bias} 0 for none. */
    synchronized void convForward(ConvGeometry g, long x, long w, long bias, long y) {
        Cudnn.Plan p = plan(g);
        cudnn.forward(dnn(), p, x, w, bias, y, workspace(p.forwardBytes()));
    }

    /** {@code dx} of a convolution through cuDNN. */
    synchronized void convBackwardData(ConvGeometry g, long w, long dy, long dx) {
        Cudnn.Plan p = plan(g);
        cudnn.backwardData(dnn(), p, w, dy, dx, workspace(p.dataBytes()));
    }

    /** {@code dw} of a convolution through cuDNN, added to {@code dw} when {@code accumulate}. */
    synchronized void convBackwardFilter(ConvGeometry g, long x, long dy, long dw, boolean accumulate) {
        Cudnn.Plan p = plan(g);
        cudnn.backwardFilter(dnn(), p, x, dy, dw, accumulate, workspace(p.filterBytes()));
    }

    private MemorySegment blas() {
        device.makeCurrent();
        if (blasHandle == null) {
            MemorySegment h = cublas.create();
            cublas.setMathMode(h, tf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.PEDANTIC_MATH);
            blasHandle = h;
        }
        return blasHandle;
    }

    private MemorySegment dnn() {
        device.makeCurrent();
        if (dnnHandle == null) {
            dnnHandle = cudnn.create();
        }
        return dnnHandle;
    }

    private Cudnn.Plan plan(ConvGeometry g) {
        Cudnn.Plan p = plans.get(g);
        if (p == null) {
            p = cudnn.plan(dnn(), g, tf32);
            plans.put(g, p);
            if (plans.size() > PLANS) {
                var eldest = plans.entrySet().iterator();
                Cudnn.Plan old = eldest.next().getValue();
                eldest.remove();
                cudnn.destroy(old);
            }
        }
        return p;
    }

    /** The workspace's device address, grown to at least {@code bytes}; 0 when none is needed. */
    private long workspace(long bytes) {
        if (bytes == 0) {
            return 0;
        }
        long floats = (bytes + 3) / 4;
        if (floats > Integer.MAX_VALUE) {
            throw new IllegalStateException(device.name() + ": cuDNN asks for a " + bytes + "-byte workspace");
        }
        if (workspace == null || workspace.size() < floats) {
            if (workspace != null) {
                workspace.close(); // the stream orders the block's reuse after the work that reads it
            }
            workspace = device.allocate((int) floats);
        }
        return workspace.address();
    }

    /** The number of cuDNN plans kept, for tests. */
    synchronized int planCount() {
        return plans.size();
    }
}
