package io.evonas.nas.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.layers.Dense;
import io.evonas.layers.Flatten;
import io.evonas.layers.Loss;
import io.evonas.layers.Sequential;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.Batch;
import io.evonas.nas.data.BatchIterator;
import io.evonas.nas.data.Digits;
import io.evonas.nas.data.Split;
import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TrainerTest {
    private static Sequential mlp(SplittableRandom rng) {
        return Sequential.of(new Flatten(), Dense.of(64, 32, Activation.RELU, rng),
                Dense.of(32, 10, Activation.IDENTITY, rng));
    }

    @Test
    void anMlpLearnsTheDigits() {
        SplittableRandom rng = new SplittableRandom(1);
        Split split = Split.trainValidation(Digits.load(), 0.2, rng);
        Sequential model = mlp(rng);
        Trainer trainer = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.05, 0.9), rng);
        List<Trainer.Stats> seen = new ArrayList<>();
        List<Trainer.Stats> history = trainer.fit(BatchIterator.of(split.train(), 32).withShuffle(7), 8, seen::add);
        assertEquals(history, seen);
        assertEquals(8, history.getLast().epoch());
        assertTrue(history.getLast().loss() < history.getFirst().loss() / 3, history.toString());
        Trainer.Stats validation = trainer.evaluate(BatchIterator.of(split.validation(), 100));
        assertEquals(split.validation().size(), validation.samples());
        assertTrue(validation.accuracy() > 0.9, validation.toString());
    }

    @Test
    void trainingIsReproducibleWithTheSameSeeds() {
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            SplittableRandom rng = new SplittableRandom(5);
            Sequential model = mlp(rng);
            Trainer t = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.05, 0.9), rng);
            t.fit(BatchIterator.of(Digits.load(), 64).withShuffle(3), 1, s -> { });
            weights[run] = model.parameters().getFirst().value().toArray();
        }
        assertArrayEquals(weights[0], weights[1]);
    }

    @Test
    void aNonFiniteLossStopsWithoutTouchingTheParameters() {
        SplittableRandom rng = new SplittableRandom(2);
        Sequential model = mlp(rng);
        Trainer t = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.05, 0.9), rng);
        Tensor x = Tensor.zeros(2, 1, 8, 8);
        x.set(Float.NaN, 0, 0, 3, 3);
        float[] before = model.parameters().getFirst().value().toArray();
        var e = assertThrows(ArithmeticException.class, () -> t.step(Batch.of(x, new int[] {1, 2})));
        assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        assertArrayEquals(before, model.parameters().getFirst().value().toArray());
    }

    @Test
    void accuracyCountsArgmaxHits() {
        Tensor logits = Tensor.of(new float[] {0, 1, 5, 0, 2, 3}, 3, 2);
        assertEquals(2, Trainer.correct(logits, new int[] {1, 0, 0}));
    }
}
