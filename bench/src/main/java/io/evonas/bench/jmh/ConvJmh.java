package io.evonas.bench.jmh;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Conv2d;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH view of {@code bench/run conv}: the reference CNN's two convolutions (batch 128) in each pass, on 1 and 2
 * threads. {@code bench/run jmh ConvJmh -p layer=conv2 -p threads=1}. GFLOP/s = FLOPs / time, with FLOPs
 * {@code 2*N*outC*outH*outW*inC*kh*kw}: conv1 49.8 M, conv2 570.9 M.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx4g"})
public class ConvJmh {
    /** conv1: 1 -> 32 channels on 28×28; conv2: 32 -> 64 channels on 13×13; both 3×3, no padding. */
    @Param({"conv1", "conv2"})
    public String layer;

    @Param({"1", "2"})
    public int threads;

    private Tensor x;
    private Tensor w;
    private Tensor b;
    private Tensor y;
    private Tensor dy;
    private Tensor dx;
    private Tensor dw;
    private Tensor db;
    private final ConvSpec spec = ConvSpec.of(3, 3);

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom rng = new SplittableRandom(42);
        boolean first = layer.equals("conv1");
        int c = first ? 1 : 32;
        int hw = first ? 28 : 13;
        int oc = first ? 32 : 64;
        Parallel.setThreads(threads);
        x = Tensor.normal(rng, 0, 1, 128, c, hw, hw);
        w = Tensor.normal(rng, 0, 0.1f, oc, c, 3, 3);
        b = Tensor.normal(rng, 0, 0.1f, oc);
        y = Tensor.zeros(Conv2d.outputShape(x.shape(), w.shape(), spec));
        dy = Tensor.normal(rng, 0, 1, y.shape().dims());
        dx = x.zerosLike();
        dw = w.zerosLike();
        db = b.zerosLike();
    }

    @Benchmark
    public Tensor forward() {
        return Conv2d.forward(x, w, b, spec, y);
    }

    @Benchmark
    public Tensor backwardInput() {
        return Conv2d.backwardInput(dy, w, spec, dx, false);
    }

    @Benchmark
    public Tensor backwardWeights() {
        return Conv2d.backwardWeights(x, dy, spec, dw, db, false);
    }
}
