package io.evonas.bench;

import io.evonas.layers.ForwardPass;
import io.evonas.layers.Loss;
import io.evonas.layers.Sequential;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.train.Trainer;
import io.evonas.tensor.Parallel;
import io.evonas.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.function.IntToLongFunction;

/**
 * The reference CNN (as {@link CnnBench} runs it) behind a plain JDK interface, so that {@link CnnAb} can drive
 * two builds of evonas, each in its own class loader, from one JVM. {@code applyAsLong(count << 1 | infer)} runs
 * {@code count} training steps ({@code infer == 0}) or inference passes ({@code infer == 1}) and returns the
 * nanoseconds they took.
 */
public final class CnnStepper implements IntToLongFunction {
    private final Sequential net;
    private final Trainer trainer;
    private final Tensor x;
    private final Batch batch;

    /** Sets the worker pool of this build's classes to {@code threads} and builds the net for {@code batch}. */
    public CnnStepper(int threads, int batch) {
        Parallel.setThreads(threads);
        SplittableRandom rng = new SplittableRandom(0);
        net = ReferenceCnn.create(rng);
        trainer = new Trainer(net, Loss.crossEntropy(), Momentum.of(0.01, 0.9), rng);
        x = Tensor.normal(rng, 0, 1, batch, 1, 28, 28);
        this.batch = Batch.of(x, rng.ints(batch, 0, 10).toArray());
    }

    @Override
    public long applyAsLong(int code) {
        int count = code >>> 1;
        boolean infer = (code & 1) == 1;
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            if (infer) {
                ForwardPass pass = ForwardPass.inference();
                net.forward(pass.tape().constant(x), pass);
            } else {
                trainer.step(batch);
            }
        }
        return System.nanoTime() - t0;
    }
}
