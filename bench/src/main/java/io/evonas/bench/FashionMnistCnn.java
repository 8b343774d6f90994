package io.evonas.bench;

import io.evonas.layers.Loss;
import io.evonas.layers.Sequential;
import io.evonas.layers.optim.Momentum;
import io.evonas.nas.data.BatchIterator;
import io.evonas.nas.data.Idx;
import io.evonas.nas.data.LabelledData;
import io.evonas.nas.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * {@code bench/run fashion [epochs] [dir]}: trains the reference CNN on Fashion-MNIST (Debian's
 * dataset-fashion-mnist, /usr/share/datasets/fashion-mnist) with SGD, momentum 0.9, batch 128, and prints each
 * epoch's training loss and accuracy and the test accuracy. The target is at least 90% within 5 epochs.
 */
public final class FashionMnistCnn {
    private FashionMnistCnn() {
    }

    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Path dir = Path.of(args.length > 1 ? args[1] : "/usr/share/datasets/fashion-mnist");
        if (!Files.isDirectory(dir)) {
            System.err.println("Fashion-MNIST not found in " + dir + ": apt-get install dataset-fashion-mnist, or "
                    + "pass the folder holding the four IDX files");
            System.exit(2);
        }
        LabelledData train = Idx.readImagesAndLabels(dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"), 10);
        LabelledData test = Idx.readImagesAndLabels(dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"), 10);
        SplittableRandom rng = new SplittableRandom(1);
        Sequential net = ReferenceCnn.create(rng);
        Trainer trainer = new Trainer(net, Loss.crossEntropy(), Momentum.of(0.01, 0.9), rng);
        BatchIterator batches = BatchIterator.of(train, 128).withShuffle(2);
        for (int e = 0; e < epochs; e++) {
            Trainer.Stats s = trainer.fitEpoch(batches);
            Trainer.Stats t = trainer.evaluate(BatchIterator.of(test, 500));
            System.out.printf("epoch %d: train loss %.4f accuracy %.4f (%.0f s), test accuracy %.4f%n", s.epoch(),
                    s.loss(), s.accuracy(), s.nanos() / 1e9, t.accuracy());
        }
    }
}
