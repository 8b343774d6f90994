package io.evonas.bench;

import io.evonas.tensor.Parallel;
import io.evonas.tensor.cpu.Sgemm;
import java.util.SplittableRandom;
import java.util.function.IntToLongFunction;

/**
 * An {@code n × n × n} SGEMM behind a plain JDK interface, for {@link CnnAb}'s {@code --sgemm=N}: two builds (or one
 * build under two sets of properties), each in its own class loader, paired in one JVM. {@code applyAsLong(count)}
 * runs {@code count} products {@code C = A·B} of uniform [-1, 1) matrices and returns the nanoseconds they took.
 */
public final class SgemmStepper implements IntToLongFunction {
    private final int n;
    private final float[] a;
    private final float[] b;
    private final float[] c;

    /** Sets the worker pool of this build's classes to {@code threads} and makes the matrices. */
    public SgemmStepper(int threads, int n) {
        Parallel.setThreads(threads);
        this.n = n;
        SplittableRandom rng = new SplittableRandom(n);
        a = new float[n * n];
        b = new float[n * n];
        c = new float[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rng.nextDouble(-1, 1);
            b[i] = (float) rng.nextDouble(-1, 1);
        }
    }

    @Override
    public long applyAsLong(int count) {
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            Sgemm.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
        }
        return System.nanoTime() - t0;
    }
}
