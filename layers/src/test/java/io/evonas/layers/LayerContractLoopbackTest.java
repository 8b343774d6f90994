package io.evonas.layers;

import io.evonas.tensor.Device;
import io.evonas.tensor.testing.Loopback;

/**
 * {@link LayerDeviceContract} on the {@link Loopback} device, which is not the CPU: every operation dispatches
 * through the backend of the tensors' device, and must give the CPU's bits.
 */
class LayerContractLoopbackTest extends LayerDeviceContract {
    @Override
    Device device() {
        return Loopback.DEVICE;
    }

    @Override
    double tolerance() {
        return 0;
    }
}
