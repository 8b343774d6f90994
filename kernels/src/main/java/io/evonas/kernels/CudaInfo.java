package io.evonas.kernels;

import io.evonas.tensor.Devices;
import java.util.Optional;

/**
 * Prints what CUDA offers on this machine: the PTX in the jar, the driver, each GPU, whether CUDA works (checked
 * by filling a million floats on each GPU and reading them back) or the reason it does not, and which of cuBLAS and
 * cuDNN the backend uses. Exits with 0 when CUDA
 * works, 1 when it does not.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp 'lib/*' io.evonas.kernels.CudaInfo
 * </pre>
 */
public final class CudaInfo {
    private CudaInfo() {
    }

    /** Prints the report; no arguments. */
    public static void main(String[] args) {
        System.exit(report() ? 0 : 1);
    }

    private static boolean report() {
        System.out.println("java: " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")");
        Optional<PtxIndex> index = PtxIndex.load(CudaInfo.class.getClassLoader());
        System.out.println("PTX in the jar: " + index.map(i -> i.modules().size() + " module(s) " + i.modules()
                + ", " + i.arch() + ", nvcc " + i.nvccVersion()).orElse("none (built without nvcc)"));
        Cuda.Status status = Cuda.status();
        System.out.println("driver: " + (status.driverVersion() == 0 ? "not loaded"
                : "CUDA " + Cuda.cudaVersion(status.driverVersion()) + " (cuDriverGetVersion "
                        + status.driverVersion() + "; the PTX needs " + Cuda.cudaVersion(Cuda.REQUIRED_DRIVER_VERSION)
                        + ", driver ≥ 580)"));
        for (CudaDevice d : status.devices()) {
            System.out.println(d.name() + ": " + d.gpuName() + ", compute " + d.computeCapabilityMajor() + "."
                    + d.computeCapabilityMinor() + ", " + d.totalMemory() / (1L << 20) + " MiB, "
                    + d.freeMemory() / (1L << 20) + " MiB free");
        }
        status.notes().forEach(n -> System.out.println("note: " + n));
        System.out.println(CudaLibraries.describe());
        if (!status.available()) {
            System.out.println("CUDA: unavailable: " + status.unavailableReason());
            return false;
        }
        boolean ok = true;
        for (CudaDevice d : status.devices()) {
            ok &= fillCheck(d);
        }
        System.out.println("Devices.available(): " + Devices.available());
        System.out.println("CUDA: " + (ok ? "works" : "FAILED"));
        return ok;
    }

    private static boolean fillCheck(CudaDevice device) {
        int n = 1 << 20;
        try (CudaStorage x = device.allocate(n)) {
            long start = System.nanoTime();
            device.modules().launch(device.modules().function("selftest", "evonas_fill"), Dim3.blocksFor(n, 256),
                    Dim3.of(256), 0, x, 2.5f, n);
            device.synchronize();
            long micros = (System.nanoTime() - start) / 1000;
            float[] back = new float[n];
            x.copyToHost(0, back, 0, n);
            for (int i = 0; i < n; i++) {
                if (back[i] != 2.5f) {
                    System.out.println(device.name() + ": evonas_fill wrote " + back[i] + " at " + i + ", not 2.5");
                    return false;
                }
            }
            System.out.println(device.name() + ": evonas_fill of " + n + " floats checked (" + micros
                    + " µs with the module load)");
            return true;
        } catch (RuntimeException e) {
            System.out.println(device.name() + ": fill check failed: " + e);
            return false;
        }
    }
}
