package io.evonas.nas.train;

import io.evonas.autodiff.Gradients;
import io.evonas.autodiff.Variable;
import io.evonas.layers.ForwardPass;
import io.evonas.layers.Layer;
import io.evonas.layers.Loss;
import io.evonas.layers.Parameter;
import io.evonas.layers.optim.Optimiser;
import io.evonas.nas.data.Batch;
import io.evonas.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * Trains a model: for each batch a training forward pass, the loss, backward, the optimiser's step on every
 * parameter, gradients zeroed. Reports the mean loss and accuracy of each epoch; evaluates without recording.
 *
 * <pre>{@code
 * Trainer trainer = new Trainer(model, Loss.crossEntropy(), new Momentum(0.01, 0.9), new SplittableRandom(1));
 * List<Trainer.Stats> history = trainer.fit(trainBatches, 5, s -> System.out.println(s));
 * Trainer.Stats test = trainer.evaluate(testBatches);
 * }</pre>
 */
public final class Trainer {
    /** Mean loss and accuracy over some samples. */
    public record Stats(int epoch, double loss, double accuracy, long samples, long nanos) {
        @Override
        public String toString() {
            return String.format("epoch %d: loss %.4f accuracy %.4f (%d samples, %.1f s)", epoch, loss, accuracy,
                    samples, nanos / 1e9);
        }
    }

    private final Layer model;
    private final Loss loss;
    private Optimiser optimiser;
    private final RandomGenerator rng;
    private final List<Parameter> parameters;
    private int epochs;

    public Trainer(Layer model, Loss loss, Optimiser optimiser, RandomGenerator rng) {
        this.model = Objects.requireNonNull(model, "model");
        this.loss = Objects.requireNonNull(loss, "loss");
        this.optimiser = Objects.requireNonNull(optimiser, "optimiser");
        this.rng = Objects.requireNonNull(rng, "rng");
        this.parameters = model.parameters();
    }

    public Optimiser optimiser() {
        return optimiser;
    }

    public void setOptimiser(Optimiser o) {
        optimiser = Objects.requireNonNull(o, "optimiser");
    }

    /**
     * One training step on {@code batch}; returns the batch's loss.
     *
     * @throws ArithmeticException if the loss is not finite (the parameters are left as they were)
     */
    public float step(Batch batch) {
        return stepWithOutput(batch).loss;
    }

    private record StepResult(float loss, Tensor output) {
    }

    private StepResult stepWithOutput(Batch batch) {
        ForwardPass pass = ForwardPass.training(rng);
        Variable out = model.forward(pass.tape().constant(batch.features()), pass);
        Variable l = lossOf(out, batch);
        float value = l.value().item();
        if (!Float.isFinite(value)) {
            throw new ArithmeticException("training loss is " + value + " on a batch of " + batch.size()
                    + "; the parameters were not updated");
        }
        Gradients g = pass.tape().backward(l);
        pass.accumulateGradients(g);
        optimiser.updateInPlaceAndZeroGrad(parameters);
        return new StepResult(value, out.value());
    }

    private Variable lossOf(Variable out, Batch batch) {
        return batch.hasLabels() ? loss.ofLabels(out, batch.labels()) : loss.ofTargets(out, batch.targets());
    }

    /** One pass over {@code data}. */
    public Stats fitEpoch(Iterable<Batch> data) {
        long start = System.nanoTime();
        double lossSum = 0;
        long correct = 0;
        long n = 0;
        for (Batch b : data) {
            StepResult r = stepWithOutput(b);
            lossSum += (double) r.loss * b.size();
            if (b.hasLabels()) {
                correct += correct(r.output, b.labels());
            }
            n += b.size();
        }
        epochs++;
        return new Stats(epochs, n == 0 ? Double.NaN : lossSum / n, n == 0 ? Double.NaN : (double) correct / n, n,
                System.nanoTime() - start);
    }

    /** {@code epochs} passes over {@code data}, each reported to {@code onEpoch}. */
    public List<Stats> fit(Iterable<Batch> data, int epochCount, Consumer<Stats> onEpoch) {
        if (epochCount < 0) {
            throw new IllegalArgumentException("fit: epoch count " + epochCount + " must be >= 0");
        }
        List<Stats> all = new ArrayList<>();
        for (int e = 0; e < epochCount; e++) {
            Stats s = fitEpoch(data);
            all.add(s);
            onEpoch.accept(s);
        }
        return all;
    }

    /** Mean loss and accuracy on {@code data} in inference mode. */
    public Stats evaluate(Iterable<Batch> data) {
        return evaluate(model, loss, data);
    }

    /** Mean loss and accuracy of {@code model} on {@code data} in inference mode. */
    public static Stats evaluate(Layer model, Loss loss, Iterable<Batch> data) {
        long start = System.nanoTime();
        double lossSum = 0;
        long correct = 0;
        long n = 0;
        for (Batch b : data) {
            ForwardPass pass = ForwardPass.inference();
            Variable out = model.forward(pass.tape().constant(b.features()), pass);
            Variable l = b.hasLabels() ? loss.ofLabels(out, b.labels()) : loss.ofTargets(out, b.targets());
            lossSum += (double) l.value().item() * b.size();
            if (b.hasLabels()) {
                correct += correct(out.value(), b.labels());
            }
            n += b.size();
        }
        return new Stats(0, n == 0 ? Double.NaN : lossSum / n, n == 0 ? Double.NaN : (double) correct / n, n,
                System.nanoTime() - start);
    }

    /** Number of rows of {@code logits} {@code [N, C]} whose largest entry is at the label. */
    static long correct(Tensor logits, int[] labels) {
        int c = logits.dim(1);
        float[] d = logits.data();
        int off = logits.offset();
        long hits = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int j = 1; j < c; j++) {
                if (d[off + i * c + j] > d[off + i * c + best]) {
                    best = j;
                }
            }
            hits += best == labels[i] ? 1 : 0;
        }
        return hits;
    }
}
