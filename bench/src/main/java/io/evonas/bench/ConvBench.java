package io.evonas.bench;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Conv2d;
import io.evonas.tensor.cpu.ConvSpec;
import io.evonas.tensor.cpu.Sgemm;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code bench/run conv [rounds]}: GFLOP/s of the reference CNN's convolutions ({@code shared/reference/torch_cnn.py},
 * batch 128) for the forward pass and both gradients, on 1 and 2 threads. One line per layer, pass and thread
 * count:
 * <pre>
 *   conv layer=conv2 pass=forward batch=128 threads=1 54.5 GFLOP/s 10.47 ms
 * </pre>
 * FLOPs = {@code 2 * N * outC * outH * outW * inC * kh * kw} for every pass. Each pass is warmed until C2 has
 * compiled it (the Vector API runs about 1000× slower before), then timed over several rounds; the median round
 * is reported. A {@code # sgemm} line gives the GEMM speed of the layer's shape for comparison.
 *
 * <p><b>Notes</b>: what was tried and measured (November 2026, 2-core Xeon with AVX-512, shared with other builds).
 * Numbers are milliseconds for batch 128 on one thread; "GEMM snapshot" is a work-in-progress BLIS-style
 * {@code Sgemm} (about 72 GFLOP/s on conv2's shape m=64 n=15488 k=288), not the naive placeholder.
 * <ul>
 *   <li>First layers, direct kernels against im2col + GEMM snapshot: conv1 forward 2.3 vs 4.6, weight gradient
 *       3.4 vs 19.0; CIFAR's 3→32 3×3 padded on 32×32: forward 7.8 vs 11.2, weight gradient 10.9 vs 27.3. With
 *       that snapshot the direct kernels still won at 8 and 16 input channels (forward 43 vs 30 and 46 vs 32
 *       GFLOP/s, batch 64); re-measure with the final GEMM before raising {@code ConvDirect.MAX_CHANNELS} above 3.
 *   <li>Direct forward (conv1): masked vectors via {@code indexInRange} 7.1; unmasked, the row's last vector
 *       overlapping 3.3; four output channels per input load 2.0 (fixed 3×3) / 2.9 (general taps). Writing the
 *       11 MB output alone takes 1.4–1.6 here (7–8 GB/s), the bound for this layer.
 *   <li>Direct weight gradient (conv1): masked loads with a non-constant mask were boxed by C2 (over 100); no
 *       masks, the tail vector's repeated lanes multiplied by zero, 4.1; one flat loop over a row-vector offset
 *       table instead of nested row/column loops, 3.0.
 *   <li>im2col of conv2's batch (17.8 MB of columns; thread CPU time): one {@code System.arraycopy} per 11-float
 *       run 3.4; one whole-vector copy per run, spilling into columns written later, 1.06. col2im: scalar tails
 *       7.9; bitwise-masked whole-vector adds 3.4; rows visited interleaved so no load hits the store just
 *       before it (store-forwarding stalls) 1.56. Summing each dx row's taps in a register first: 1.85, dropped.
 *   <li>Images per GEMM (conv2, GEMM snapshot): forward 12.2 / 9.2 / 9.8 / 9.4 for 1 / 3 / 7 / 15 images,
 *       input gradient 11.1 / 8.9 / 8.7 / 8.8; weight gradient one image per GEMM 11.2 against four 17.3. Hence a
 *       1 MB column budget (7 images here) and per-image weight GEMMs.
 *   <li>Two threads, images split over threads against one GEMM at a time split inside {@code Sgemm}: forward
 *       8.8 vs 15.0, input gradient 11.2 vs 20.0, weight gradient 12.1 vs 24.3 (machine loaded by other builds,
 *       so neither scaled well).
 * </ul>
 */
public final class ConvBench {
    /** One convolution layer of the reference CNN. */
    record Layer(String name, int n, int c, int h, int w, int oc, ConvSpec spec) {
        double flops() {
            return 2.0 * n * oc * spec.outH(h) * spec.outW(w) * c * spec.kh() * spec.kw();
        }
    }

    static final Layer[] LAYERS = {
        new Layer("conv1", 128, 1, 28, 28, 32, ConvSpec.of(3, 3)),
        new Layer("conv2", 128, 32, 13, 13, 64, ConvSpec.of(3, 3)),
    };

    static final String[] PASSES = {"forward", "backward-input", "backward-weights"};

    /** The tensors of one layer and the three passes over them. */
    static final class Run {
        final Tensor x;
        final Tensor w;
        final Tensor b;
        final Tensor y;
        final Tensor dy;
        final Tensor dx;
        final Tensor dw;
        final Tensor db;
        final ConvSpec spec;

        Run(Layer l) {
            SplittableRandom rng = new SplittableRandom(42);
            spec = l.spec();
            x = Tensor.normal(rng, 0, 1, l.n(), l.c(), l.h(), l.w());
            w = Tensor.normal(rng, 0, 0.1f, l.oc(), l.c(), spec.kh(), spec.kw());
            b = Tensor.normal(rng, 0, 0.1f, l.oc());
            y = Tensor.zeros(Conv2d.outputShape(x.shape(), w.shape(), spec));
            dy = Tensor.normal(rng, 0, 1, y.shape().dims());
            dx = x.zerosLike();
            dw = w.zerosLike();
            db = b.zerosLike();
        }

        void pass(String pass) {
            switch (pass) {
                case "forward" -> Conv2d.forward(x, w, b, spec, y);
                case "backward-input" -> Conv2d.backwardInput(dy, w, spec, dx, false);
                case "backward-weights" -> Conv2d.backwardWeights(x, dy, spec, dw, db, false);
                default -> throw new IllegalArgumentException("unknown pass " + pass);
            }
        }
    }

    private ConvBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (Layer l : LAYERS) {
                Run run = new Run(l);
                for (String pass : PASSES) {
                    double ms = medianMillis(() -> run.pass(pass), rounds);
                    System.out.println(String.format(Locale.ROOT,
                            "conv layer=%s pass=%s batch=%d threads=%d %.1f GFLOP/s %.2f ms",
                            l.name(), pass, l.n(), threads, l.flops() / ms / 1e6, ms));
                }
                sgemmLine(l, threads, rounds);
            }
        }
    }

    /** The forward pass's GEMM shape alone (m = outC, n = N*outH*outW, k = inC*kh*kw), for comparison. */
    private static void sgemmLine(Layer l, int threads, int rounds) {
        int m = l.oc();
        int n = l.n() * l.spec().outH(l.h()) * l.spec().outW(l.w());
        int k = l.c() * l.spec().kh() * l.spec().kw();
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        Arrays.fill(a, 0.5f);
        Arrays.fill(b, 0.25f);
        double ms = medianMillis(() -> Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n), rounds);
        System.out.println(String.format(Locale.ROOT, "# sgemm m=%d n=%d k=%d threads=%d %.1f GFLOP/s %.2f ms",
                m, n, k, threads, 2.0 * m * n * k / ms / 1e6, ms));
    }

    /**
     * Warms {@code body} for at least 2 s and 10 calls (C2 compiles every path), then times {@code rounds} rounds
     * of at least 0.2 s each and returns the median milliseconds per call.
     */
    static double medianMillis(Runnable body, int rounds) {
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        for (int i = 0; i < 10 || System.nanoTime() < warmEnd; i++) {
            body.run();
        }
        double[] perCall = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long start = System.nanoTime();
            int calls = 0;
            long elapsed;
            do {
                body.run();
                calls++;
                elapsed = System.nanoTime() - start;
            } while (elapsed < 200_000_000L);
            perCall[r] = elapsed / 1e6 / calls;
        }
        Arrays.sort(perCall);
        return perCall[rounds / 2];
    }
}
