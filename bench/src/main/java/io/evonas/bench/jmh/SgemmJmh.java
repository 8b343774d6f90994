package io.evonas.bench.jmh;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.cpu.Sgemm;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH view of {@link Sgemm}: {@code C = A·B} into a preallocated C, for square sizes and the reference CNN's two
 * conv-shaped GEMMs, at a given thread count. Time per call; GFLOP/s = {@code 2·m·n·k / time}.
 *
 * <pre>
 * bench/run jmh SgemmJmh -f 1 -wi 3 -i 5
 * bench/run jmh SgemmJmh -p shape=1024 -p threads=2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC"})
public class SgemmJmh {
    /** {@code n} for n × n × n, or {@code m×n×k}. */
    @Param({"256", "1024", "32x86528x9", "64x15488x288"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private int m;
    private int n;
    private int k;
    private float[] a;
    private float[] b;
    private float[] c;

    @Setup
    public void setup() {
        String[] dims = shape.split("x");
        m = Integer.parseInt(dims[0]);
        n = dims.length == 3 ? Integer.parseInt(dims[1]) : m;
        k = dims.length == 3 ? Integer.parseInt(dims[2]) : m;
        SplittableRandom rng = new SplittableRandom(0);
        a = random(rng, m * k);
        b = random(rng, k * n);
        c = new float[m * n];
        Parallel.setThreads(threads);
    }

    @Benchmark
    public float[] sgemm() {
        Sgemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        return c;
    }

    private static float[] random(SplittableRandom rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) {
            x[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return x;
    }
}
