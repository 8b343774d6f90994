package io.evonas.nas.train;

import io.evonas.layers.Layer;
import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * NaiveGAflux's {@code HostCandidate} for one model: the model lives in host memory, and each piece of work on it
 * (training for a generation, computing its fitness) runs with it moved to a device, after which it moves back,
 * even when the work fails. A population of models thus holds device memory only for the one being worked on; the
 * device blocks of the moved-out tensors return to the device's cache as the garbage collector finds them (the CUDA
 * allocator also collects and retries before it reports the device full).
 *
 * <pre>{@code
 * Device gpu = Devices.get("cuda");
 * Trainer trainer = new Trainer(model, Loss.crossEntropy(), Momentum.of(0.01, 0.9), rng);
 * float loss = OnDevice.run(model, gpu, () -> {
 *     float last = 0;
 *     for (Batch b : MapIterator.of(batches, b -> b.to(gpu))) {
 *         last = trainer.step(b);
 *     }
 *     return last;
 * });                                   // model back in host memory: mutate it, save it, or move on
 * }</pre>
 *
 * <p>Moving applies any pending neuron surgery and carries parameters, their gradients, optimiser state and
 * batch-norm running statistics ({@link Layer#moveToInPlace}). A model already on the device stays there for the
 * work and still returns to the host.
 */
public final class OnDevice {
    private OnDevice() {
    }

    /**
     * Moves {@code model} to {@code device}, runs {@code work}, and moves the model to the host ({@link Devices#cpu()})
     * whatever the work's outcome; returns the work's result.
     *
     * @throws RuntimeException whatever {@code work} throws, after the model is back on the host; a failure to move
     *     the model back is added to it as suppressed
     */
    public static <T> T run(Layer model, Device device, Supplier<T> work) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(work, "work");
        T result;
        try {
            model.moveToInPlace(device);
            result = work.get();
        } catch (RuntimeException | Error e) {
            try {
                model.moveToInPlace(Devices.cpu());
            } catch (RuntimeException | Error back) {
                e.addSuppressed(back);
            }
            throw e;
        }
        model.moveToInPlace(Devices.cpu());
        return result;
    }
}
