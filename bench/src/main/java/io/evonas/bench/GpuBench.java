package io.evonas.bench;

import io.evonas.kernels.CachingAllocator;
import io.evonas.kernels.Cuda;
import io.evonas.kernels.CudaLibraries;
import io.evonas.kernels.CudaDevice;
import io.evonas.kernels.CudaModules;
import io.evonas.kernels.CudaStorage;
import io.evonas.kernels.Dim3;
import io.evonas.layers.Loss;
import io.evonas.layers.Sequential;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Shape;
import io.evonas.tensor.Tensor;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import jcuda.driver.CUfunction;

/**
 * The GPU timings of {@code kernels/device-check} on {@code cuda:0}, in lines that {@code kernels/device-torch.py}
 * prints for PyTorch on the same GPU:
 *
 * <pre>
 * gpu sgemm n=&lt;n&gt; fp32 &lt;x&gt; TFLOP/s     evonas's kernel: the kernel backend's matmul (evonas_gemm_sgemm_nn)
 * gpu sgemm n=&lt;n&gt; tf32 &lt;x&gt; TFLOP/s     evonas_gemm_tf32_nn launched directly
 * gpu cublas n=&lt;n&gt; fp32 &lt;x&gt; TFLOP/s    the default backend's matmul on cuBLAS (pedantic FP32), where present
 * gpu cnn batch=&lt;b&gt; train &lt;x&gt; img/s     the reference CNN trained by Trainer, SGD momentum 0.9, lr 0.01, on the
 *                                        default backend (cuDNN and cuBLAS where present; see the line before)
 * </pre>
 *
 * <p>{@code GpuBench [--sizes=4096,8192] [--batches=128,512] [--prefix=gpu]}: {@code --prefix} replaces the lines'
 * first word, so that a run with {@code -Devonas.cuda.libraries=none} (kernels only) prints lines of its own. Exits 2, saying why, where CUDA is unavailable;
 * exits 1 when a GEMM's result disagrees with a double-precision check of sampled entries (its timing is still
 * printed). SGEMM: C = A × B on uniform [-1, 1) square matrices, 3 warm-up calls, then 5 rounds of repetitions
 * sized to about 0.3 s each, the device synchronised before and after each round; the median round counts
 * 2n³ flop per call. CNN: the net on the device ({@code Layer.moveToInPlace}), a random batch of 1×28×28 images
 * on the device (labels stay a host {@code int[]}: the backend's cross-entropy takes them so and uploads them per
 * call), 15 warm-up steps and a full GC (so the device blocks of the warm-up's dead tensors return to the
 * allocator's cache), then 5 rounds of steps sized to about 0.5 s each; median. {@code Trainer.step} reads the loss
 * back each step (its finiteness check), so each step ends synchronised; the device is synchronised before each
 * round's clock starts and before it is read. After each batch size a line reports the device allocator's
 * activity during the timed rounds and the garbage collections: device memory of dead tensors only returns to the
 * cache when the GC has found them, so many raw allocations there mean the timing includes {@code cuMemAlloc}s.
 */
public final class GpuBench {
    private static final int ROUNDS = 5;
    private static final int SAMPLES = 16;

    private GpuBench() {
    }

    public static void main(String[] args) {
        int[] sizes = {4096, 8192};
        int[] batches = {128, 512};
        String prefix = "gpu";
        for (String arg : args) {
            if (arg.startsWith("--sizes=")) {
                sizes = ints(arg.substring(8));
            } else if (arg.startsWith("--batches=")) {
                batches = ints(arg.substring(10));
            } else if (arg.startsWith("--prefix=") && arg.length() > 9) {
                prefix = arg.substring(9);
            } else {
                System.err.println("gpu bench: unknown argument " + arg + "; use --sizes=4096,8192 "
                        + "--batches=128,512 --prefix=gpu");
                System.exit(2);
            }
        }
        if (!Cuda.isAvailable()) {
            System.out.println("gpu bench: CUDA is unavailable: " + Cuda.unavailableReason());
            System.exit(2);
        }
        CudaDevice gpu = Cuda.devices().getFirst();
        System.out.println("gpu bench: " + gpu);
        System.out.println(CudaLibraries.describe().indent(2).stripTrailing());
        boolean ok = true;
        for (int n : sizes) {
            ok &= sgemm(gpu, n, Kind.FP32, prefix);
            ok &= sgemm(gpu, n, Kind.TF32, prefix);
            if (CudaLibraries.usesCublas()) {
                ok &= sgemm(gpu, n, Kind.CUBLAS, prefix);
            }
        }
        String backend = (CudaLibraries.usesCudnn() ? "cuDNN" : "evonas") + " convolutions, "
                + (CudaLibraries.usesCublas() ? "cuBLAS" : "evonas") + " products"
                + (CudaLibraries.tf32() ? ", TF32 allowed" : ", FP32");
        for (int b : batches) {
            cnn(gpu, b, prefix, backend);
        }
        if (!ok) {
            System.out.println("gpu bench: FAIL: a GEMM result disagreed with its double-precision check");
            System.exit(1);
        }
    }

    /** What {@link #sgemm} times. */
    private enum Kind {
        FP32, TF32, CUBLAS
    }

    /** Times one kind of n × n × n product; returns whether sampled entries of its result check out. */
    private static boolean sgemm(CudaDevice gpu, int n, Kind what, String prefix) {
        boolean tf32 = what == Kind.TF32 || what == Kind.CUBLAS && CudaLibraries.tf32();
        SplittableRandom rng = new SplittableRandom(n);
        Tensor hostA = Tensor.uniform(rng, -1, 1, n, n);
        Tensor hostB = Tensor.uniform(rng, -1, 1, n, n);
        Tensor a = hostA.to(gpu);
        Tensor b = hostB.to(gpu);
        Runnable call;
        Tensor[] last = new Tensor[1];
        if (what == Kind.TF32) {
            CudaModules modules = gpu.modules();
            CUfunction kernel = modules.function("gemm", "evonas_gemm_tf32_nn");
            Tensor c = Tensor.zeros(Shape.of(n, n), gpu);
            last[0] = c;
            // gemm.cu: (m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), grid (ceil(n / 128), ceil(m / 128)), 256
            Dim3 grid = Dim3.of(Math.ceilDiv(n, 128), Math.ceilDiv(n, 128));
            call = () -> modules.launch(kernel, grid, Dim3.of(256), 0, n, n, n, 1f, storage(a), n, storage(b), n,
                    0f, storage(c), n);
        } else {
            call = () -> {
                Tensor c = (what == Kind.CUBLAS ? gpu.backend() : gpu.kernelBackend()).matmul(a, false, b, false);
                if (last[0] != null) {
                    storage(last[0]).close(); // back to the cache at once; the stream orders its reuse
                }
                last[0] = c;
            };
        }
        for (int i = 0; i < 3; i++) {
            call.run();
        }
        gpu.synchronize();
        long t0 = System.nanoTime();
        call.run();
        gpu.synchronize();
        double once = Math.max(1e-6, (System.nanoTime() - t0) / 1e9);
        int reps = (int) Math.max(1, Math.min(500, Math.round(0.3 / once)));
        double[] tflops = new double[ROUNDS];
        double flop = 2.0 * n * n * n;
        for (int r = 0; r < ROUNDS; r++) {
            gpu.synchronize();
            t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                call.run();
            }
            gpu.synchronize();
            tflops[r] = flop * reps / ((System.nanoTime() - t0) / 1e9) / 1e12;
        }
        String kind = tf32 ? "tf32" : "fp32";
        System.out.printf(Locale.ROOT, "%s %s n=%d %s %.2f TFLOP/s%n", prefix,
                what == Kind.CUBLAS ? "cublas" : "sgemm", n, kind, median(tflops));
        double error = sampledError(hostA, hostB, last[0].toArray(), n, rng);
        double tolerance = tf32 ? 3e-3 : 1e-4;
        boolean ok = error <= tolerance;
        System.out.printf(Locale.ROOT, "  %s n=%d: %d reps per round; check of %d entries against double: max "
                + "|error| / sum|a||b| = %.2e (%s, tolerance %.0e)%n", kind, n, reps, SAMPLES, error,
                ok ? "ok" : "FAIL", tolerance);
        storage(last[0]).close();
        storage(a).close();
        storage(b).close();
        return ok;
    }

    /** The largest error of {@code c} at sampled entries, relative to {@code sum_k |a_ik| |b_kj|}. */
    private static double sampledError(Tensor a, Tensor b, float[] c, int n, SplittableRandom rng) {
        float[] x = a.data();
        float[] y = b.data();
        double worst = 0;
        for (int s = 0; s < SAMPLES; s++) {
            int i = rng.nextInt(n);
            int j = rng.nextInt(n);
            double sum = 0;
            double abs = 0;
            for (int k = 0; k < n; k++) {
                double p = (double) x[i * n + k] * y[k * n + j];
                sum += p;
                abs += Math.abs(p);
            }
            double e = Math.abs(c[i * n + j] - sum) / Math.max(abs, Double.MIN_NORMAL);
            worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
        }
        return worst;
    }

    private static void cnn(CudaDevice gpu, int batch, String prefix, String backend) {
        SplittableRandom rng = new SplittableRandom(0);
        Sequential net = ReferenceCnn.create(rng);
        net.moveToInPlace(gpu);
        Trainer trainer = new Trainer(net, Loss.crossEntropy(), Momentum.of(0.01, 0.9), rng);
        Tensor x = Tensor.normal(rng, 0, 1, batch, 1, 28, 28).to(gpu);
        int[] y = rng.ints(batch, 0, 10).toArray();
        Batch b = Batch.of(x, y);
        for (int i = 0; i < 15; i++) {
            trainer.step(b);
        }
        gpu.synchronize();
        System.gc();
        pause(200); // the Cleaner returns the dead tensors' blocks to the cache
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            trainer.step(b);
        }
        gpu.synchronize();
        double perStep = Math.max(1e-6, (System.nanoTime() - t0) / 1e9 / 5);
        int steps = (int) Math.max(5, Math.min(1000, Math.round(0.5 / perStep)));
        CachingAllocator.Stats before = gpu.allocator().stats();
        gpu.allocator().resetPeak();
        long gcBefore = gcCount();
        double[] rate = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            gpu.synchronize();
            t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                trainer.step(b);
            }
            gpu.synchronize();
            rate[r] = (double) steps * batch / ((System.nanoTime() - t0) / 1e9);
        }
        CachingAllocator.Stats after = gpu.allocator().stats();
        System.out.printf(Locale.ROOT, "%s cnn batch=%d train %.0f img/s%n", prefix, batch, median(rate));
        System.out.printf(Locale.ROOT, "  cnn batch=%d (%s): %d steps per round, rounds %s img/s; during them %d raw "
                + "device allocations, %d cache hits, peak %.0f MB in use, %d GCs%n", batch, backend, steps,
                Arrays.toString(Arrays.stream(rate).mapToLong(Math::round).toArray()),
                after.rawAllocations() - before.rawAllocations(), after.cacheHits() - before.cacheHits(),
                after.peakBytesInUse() / 1e6, gcCount() - gcBefore);
    }

    private static CudaStorage storage(Tensor t) {
        return (CudaStorage) t.storage();
    }

    private static long gcCount() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).filter(v -> !v.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
    }
}
