package io.evonas.bench;

import io.evonas.layers.BatchNorm;
import io.evonas.layers.Conv2D;
import io.evonas.layers.Dense;
import io.evonas.layers.Flatten;
import io.evonas.layers.Pool2D;
import io.evonas.layers.Sequential;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.ConvSpec;
import java.util.random.RandomGenerator;

/**
 * The net of the reference script torch_cnn.py, layer for layer: conv 1→32 3×3, batch norm, ReLU, max pool 2;
 * conv 32→64 3×3, batch norm, ReLU, max pool 2; flatten; dense 1600→128, ReLU; dense 128→10.
 */
final class ReferenceCnn {
    private ReferenceCnn() {
    }

    static Sequential create(RandomGenerator rng) {
        return Sequential.of(
                Conv2D.of(1, 32, ConvSpec.of(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(32, Activation.RELU),
                Pool2D.max(2),
                Conv2D.of(32, 64, ConvSpec.of(3, 3), Activation.IDENTITY, rng),
                new BatchNorm(64, Activation.RELU),
                Pool2D.max(2),
                new Flatten(),
                Dense.of(64 * 5 * 5, 128, Activation.RELU, rng),
                Dense.of(128, 10, Activation.IDENTITY, rng));
    }
}
