package io.evonas.tensor;

import java.util.List;

/**
 * Service-provider interface for non-CPU devices, registered in
 * {@code META-INF/services/io.evonas.tensor.DeviceProvider}. A provider that cannot work on this machine (no driver,
 * no GPU) returns no devices and explains why through {@link #unavailableReason()}.
 */
public interface DeviceProvider {
    /** The device family, e.g. {@code cuda}; device names start with it. */
    String family();

    /** The devices this provider can use on this machine; empty when none. */
    List<Device> devices();

    /** Why {@link #devices()} is empty, for error messages; empty string when devices exist. */
    String unavailableReason();
}
