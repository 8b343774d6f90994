package io.evonas.bench;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.cpu.Sgemm;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.ejml.concurrency.EjmlConcurrency;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_FDRM;
import org.ejml.dense.row.CommonOps_MT_FDRM;

/**
 * {@code bench/run sgemm}: SGEMM throughput in lines comparable with {@code shared/reference/sgemm_numpy.py}
 * (same shapes, same timing: best of 5 rounds of repetitions sized to about 2 GFLOP, into a preallocated C),
 * for each thread count, plus EJML baseline lines.
 *
 * <pre>
 * bench/run sgemm [--threads=1,2] [--sizes=128,256,512,1024,2048] [--no-conv] [--no-ejml] [--ejml-max=1024]
 *                 [--openblas[=/path/libopenblas.so.0]]
 * </pre>
 *
 * With {@code --openblas} each shape is instead run in short rounds alternating with OpenBLAS's
 * {@code cblas_sgemm} called in this JVM (a downcall on the same arrays), and an {@code openblas sgemm ...} line
 * with the ratios follows each of ours: on a shared, noisy machine this pairs the two under the same load. This is
 * done for one thread only: OpenBLAS's idle worker threads keep spinning after a call and would take a core from
 * our next round (compare two threads with {@code sgemm_numpy.py 2} run alternately instead).
 */
public final class SgemmBench {
    private static final int[][] CONV = {{32, 676 * 128, 9}, {64, 121 * 128, 288}};

    private SgemmBench() {
    }

    public static void main(String[] args) {
        int[] threads = {1, 2};
        int[] sizes = {128, 256, 512, 1024, 2048};
        boolean conv = true;
        boolean ejml = true;
        int ejmlMax = 1024;
        OpenBlas openblas = null;
        for (String arg : args) {
            if (arg.startsWith("--threads=")) {
                threads = ints(arg.substring(10));
            } else if (arg.startsWith("--sizes=")) {
                sizes = ints(arg.substring(8));
            } else if (arg.equals("--no-conv")) {
                conv = false;
            } else if (arg.equals("--no-ejml")) {
                ejml = false;
            } else if (arg.startsWith("--openblas")) {
                openblas = new OpenBlas(arg.startsWith("--openblas=") ? arg.substring(11)
                        : "/usr/lib/x86_64-linux-gnu/libopenblas.so.0");
            } else if (arg.startsWith("--ejml-max=")) {
                ejmlMax = Integer.parseInt(arg.substring(11));
            } else {
                System.err.println("sgemm bench: unknown argument " + arg + "; use --threads=1,2 --sizes=128,256 "
                        + "--no-conv --no-ejml --ejml-max=1024 --openblas[=path]");
                System.exit(2);
            }
        }
        List<int[]> shapes = new ArrayList<>();
        for (int n : sizes) {
            shapes.add(new int[] {n, n, n});
        }
        if (conv) {
            shapes.addAll(List.of(CONV));
        }
        if (openblas != null) {
            // The first downcall on Java arrays loads the heap memory-segment classes, and that invalidates our
            // compiled kernels (they were compiled when only native segments existed): C2 took 5 to 7 rounds to
            // recompile them, which sank the first shape's pairs to 0.1–0.3. Load those classes before warming up.
            openblas.threads(1);
            openblas.run(new Problem(64, 64, 64, new SplittableRandom(2)));
        }
        for (int t : threads) {
            Parallel.setThreads(t);
            warm(shapes);
        }
        for (int t : threads) {
            Parallel.setThreads(t);
            for (int[] s : shapes) {
                String shape = s[0] == s[1] && s[1] == s[2] ? "n=" + s[0]
                        : "m=" + s[0] + " n=" + s[1] + " k=" + s[2];
                if (openblas == null || t > 1) {
                    System.out.printf(Locale.ROOT, "sgemm %s threads=%d %.1f GFLOP/s%n", shape, t,
                            gflops(s[0], s[1], s[2]));
                } else {
                    openblas.threads(t);
                    double[] g = paired(s[0], s[1], s[2], t, openblas);
                    System.out.printf(Locale.ROOT, "sgemm %s threads=%d %.1f GFLOP/s%n", shape, t, g[0]);
                    System.out.printf(Locale.ROOT, "openblas sgemm %s threads=%d %.1f GFLOP/s (ours/openblas: "
                            + "best %.2f, median of pairs %.2f)%n", shape, t, g[1], g[0] / g[1], g[2]);
                }
            }
        }
        if (ejml) {
            for (int t : threads) {
                for (int n : sizes) {
                    if (n <= ejmlMax) {
                        System.out.printf(Locale.ROOT, "ejml sgemm n=%d threads=%d %.1f GFLOP/s%n", n, t,
                                ejmlGflops(n, t));
                    }
                }
            }
        }
    }

    /**
     * Runs every path the timed calls take until C2 has compiled it: each timed shape, then odd shapes with edges,
     * every transpose, alpha and beta (paths first met later would deoptimise and recompile mid-measurement).
     */
    private static void warm(List<int[]> shapes) {
        SplittableRandom rng = new SplittableRandom(1);
        for (int round = 0; round < 3; round++) {
            for (int[] s : shapes) {
                Problem p = new Problem(s[0], s[1], s[2], rng);
                long reps = Math.max(2, (long) (3e8 / p.flop()));
                for (long r = 0; r < reps; r++) {
                    p.run();
                }
            }
            int[][] odd = {{37, 53, 71}, {100, 300, 200}, {255, 257, 129}, {9, 1000, 700}, {600, 40, 530}};
            for (int[] s : odd) {
                float[] a = random(rng, s[0] * s[2]);
                float[] b = random(rng, s[2] * s[1]);
                float[] c = random(rng, s[0] * s[1]);
                for (int v = 0; v < 8; v++) {
                    boolean ta = (v & 1) != 0;
                    boolean tb = (v & 2) != 0;
                    float beta = (v & 4) != 0 ? 0.5f : (v == 0 ? 0f : 1f);
                    Sgemm.sgemm(ta, tb, s[0], s[1], s[2], v == 3 ? 2f : 1f, a, 0, ta ? s[0] : s[2],
                            b, 0, tb ? s[2] : s[1], beta, c, 0, s[1]);
                }
            }
        }
    }

    private static double gflops(int m, int n, int k) {
        Problem p = new Problem(m, n, k, new SplittableRandom(0));
        p.run();
        long reps = Math.max(3, (long) (2e9 / p.flop()));
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            for (long r = 0; r < reps; r++) {
                p.run();
            }
            best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
        }
        return p.flop() / best / 1e9;
    }

    /**
     * Ours and OpenBLAS on the same problem in 21 alternating pairs of short rounds (about 0.5 GFLOP each): the
     * best GFLOP/s of each and the median of the per-pair ratios, which is robust to other load on the machine.
     * With more than one thread a pause after each OpenBLAS round lets its worker threads stop spinning.
     */
    private static double[] paired(int m, int n, int k, int threads, OpenBlas blas) {
        Problem p = new Problem(m, n, k, new SplittableRandom(0));
        for (int w = 0; w < 3; w++) {
            p.run();
            blas.run(p);
        }
        long reps = Math.max(1, (long) (5e8 / p.flop()));
        double ours = Double.MAX_VALUE;
        double theirs = Double.MAX_VALUE;
        double[] ratios = new double[21];
        for (int round = 0; round < ratios.length; round++) {
            long t0 = System.nanoTime();
            for (long r = 0; r < reps; r++) {
                p.run();
            }
            double o = (System.nanoTime() - t0) / 1e9 / reps;
            t0 = System.nanoTime();
            for (long r = 0; r < reps; r++) {
                blas.run(p);
            }
            double t = (System.nanoTime() - t0) / 1e9 / reps;
            ours = Math.min(ours, o);
            theirs = Math.min(theirs, t);
            ratios[round] = t / o;
            if (threads > 1) {
                pause(30);
            }
        }
        java.util.Arrays.sort(ratios);
        return new double[] {p.flop() / ours / 1e9, p.flop() / theirs / 1e9, ratios[ratios.length / 2]};
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** OpenBLAS's {@code cblas_sgemm} through a downcall that reads and writes the Java arrays in place. */
    private static final class OpenBlas {
        private final MethodHandle sgemm;
        private final MethodHandle setThreads;

        @SuppressWarnings("restricted") // a benchmark-only binding; bench/run passes --enable-native-access
        OpenBlas(String path) {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(path), Arena.global());
            ValueLayout.OfInt i = ValueLayout.JAVA_INT;
            ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
            sgemm = linker.downcallHandle(lib.findOrThrow("cblas_sgemm"),
                    FunctionDescriptor.ofVoid(i, i, i, i, i, i, f, ValueLayout.ADDRESS, i, ValueLayout.ADDRESS, i, f,
                            ValueLayout.ADDRESS, i),
                    Linker.Option.critical(true));
            setThreads = linker.downcallHandle(lib.findOrThrow("openblas_set_num_threads"),
                    FunctionDescriptor.ofVoid(i));
        }

        void threads(int t) {
            try {
                setThreads.invokeExact(t);
            } catch (Throwable e) {
                throw new IllegalStateException("openblas_set_num_threads failed", e);
            }
        }

        void run(Problem p) {
            try {
                // 101 = CblasRowMajor, 111 = CblasNoTrans
                sgemm.invokeExact(101, 111, 111, p.m(), p.n(), p.k(), 1f, MemorySegment.ofArray(p.a()), p.k(),
                        MemorySegment.ofArray(p.b()), p.n(), 0f, MemorySegment.ofArray(p.c()), p.n());
            } catch (Throwable e) {
                throw new IllegalStateException("cblas_sgemm failed", e);
            }
        }
    }

    /** EJML's row-major multiply: smaller repetitions (about 0.5 GFLOP) and 3 rounds, as it is ~20× slower. */
    private static double ejmlGflops(int n, int threads) {
        SplittableRandom rng = new SplittableRandom(0);
        FMatrixRMaj a = new FMatrixRMaj(n, n, true, random(rng, n * n));
        FMatrixRMaj b = new FMatrixRMaj(n, n, true, random(rng, n * n));
        FMatrixRMaj c = new FMatrixRMaj(n, n);
        EjmlConcurrency.setMaxThreads(threads);
        double flop = 2.0 * n * n * n;
        long reps = Math.max(1, (long) (5e8 / flop));
        double best = Double.MAX_VALUE;
        for (int round = 0; round < 4; round++) {
            long t0 = System.nanoTime();
            for (long r = 0; r < reps; r++) {
                if (threads == 1) {
                    CommonOps_FDRM.mult(a, b, c);
                } else {
                    CommonOps_MT_FDRM.mult(a, b, c);
                }
            }
            if (round > 0) {
                best = Math.min(best, (System.nanoTime() - t0) / 1e9 / reps);
            }
        }
        return flop / best / 1e9;
    }

    private static float[] random(SplittableRandom rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) {
            x[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static int[] ints(String csv) {
        String[] parts = csv.split(",");
        int[] v = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Integer.parseInt(parts[i].trim());
        }
        return v;
    }

    /** A × B into a preallocated C, as NumPy's {@code matmul(a, b, out=c)}. */
    private record Problem(int m, int n, int k, float[] a, float[] b, float[] c) {
        Problem(int m, int n, int k, SplittableRandom rng) {
            this(m, n, k, random(rng, m * k), random(rng, k * n), new float[m * n]);
        }

        double flop() {
            return 2.0 * m * n * k;
        }

        void run() {
            Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        }
    }
}
