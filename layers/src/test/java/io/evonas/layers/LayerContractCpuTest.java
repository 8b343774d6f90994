package io.evonas.layers;

import io.evonas.tensor.Device;
import io.evonas.tensor.Devices;

/** {@link LayerDeviceContract} on the CPU: finite differences, and a copy moved to the CPU trains bit for bit. */
class LayerContractCpuTest extends LayerDeviceContract {
    @Override
    Device device() {
        return Devices.cpu();
    }

    @Override
    double tolerance() {
        return 0;
    }
}
