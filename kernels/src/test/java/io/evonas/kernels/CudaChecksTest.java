package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import jcuda.driver.CUresult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reasons CUDA cannot work, decided by pure functions, so checked on machines without a GPU. */
class CudaChecksTest {
    @Test
    void driverForCuda13OrNewerIsAccepted() {
        assertEquals(Optional.empty(), Cuda.checkDriver(13000));
        assertEquals(Optional.empty(), Cuda.checkDriver(13020));
    }

    @Test
    void olderDriverIsRejectedNamingBothVersions() {
        String reason = Cuda.checkDriver(12060).orElseThrow();
        assertTrue(reason.contains("driver supports CUDA 12.6, the PTX needs 13.0 (driver ≥ 580)"), reason);
        assertTrue(Cuda.checkDriver(12090).orElseThrow().contains("CUDA 12.9"));
        assertTrue(Cuda.checkDriver(0).orElseThrow().contains("no CUDA version"));
    }

    @Test
    void computeCapabilityBelow9IsRejected() {
        assertEquals(Optional.empty(), Cuda.checkComputeCapability(9, 0));
        assertEquals(Optional.empty(), Cuda.checkComputeCapability(12, 0));
        String reason = Cuda.checkComputeCapability(8, 6).orElseThrow();
        assertTrue(reason.contains("compute capability 8.6") && reason.contains("compute_90"), reason);
    }

    @Test
    void missingLibcudaIsNamedFromJCudasNestedMessage() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.6.0"
                + "-linux-x86_64\"\n---(start of nested stack traces)---\njava.lang.UnsatisfiedLinkError: /tmp/"
                + "libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file: No such file"
                + " or directory\n\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)");
        String reason = Cuda.describeLoadFailure(e);
        assertTrue(reason.startsWith("the NVIDIA driver's CUDA library libcuda.so.1 cannot be loaded"), reason);
        assertTrue(reason.contains("no NVIDIA driver"), reason);
    }

    @Test
    void otherLoadFailuresSayWhatFailed() {
        String other = Cuda.describeLoadFailure(new UnsatisfiedLinkError("x: libstdc++.so.6: cannot open shared"
                + " object file"));
        assertTrue(other.contains("libstdc++.so.6"), other);
        String earlier = Cuda.describeLoadFailure(new NoClassDefFoundError("Could not initialize class"
                + " jcuda.driver.JCudaDriver"));
        assertTrue(earlier.contains("failed to load earlier"), earlier);
        String unknown = Cuda.describeLoadFailure(new UnsatisfiedLinkError("Error while loading native library"
                + " \"JCudaDriver-12.6.0-linux-aarch64\"\nmore"));
        assertTrue(unknown.contains("JCudaDriver-12.6.0-linux-aarch64") && !unknown.contains("more"), unknown);
    }

    @Test
    void cuInitFailuresAreSentences() {
        String noDevice = Cuda.describeInitFailure(CUresult.CUDA_ERROR_NO_DEVICE);
        assertTrue(noDevice.contains("finds no CUDA GPU") && noDevice.contains("CUDA_ERROR_NO_DEVICE"), noDevice);
        assertTrue(Cuda.describeInitFailure(CUresult.CUDA_ERROR_STUB_LIBRARY).contains("stub"));
        assertTrue(Cuda.describeInitFailure(CUresult.CUDA_ERROR_SYSTEM_DRIVER_MISMATCH).contains("different driver"));
        String unknown = Cuda.describeInitFailure(CUresult.CUDA_ERROR_UNKNOWN);
        assertTrue(unknown.contains("CUDA_ERROR_UNKNOWN") && unknown.contains("999"), unknown);
    }

    @Test
    void checkThrowsNamingTheOperation() {
        Cuda.check(CUresult.CUDA_SUCCESS, "fine");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Cuda.check(CUresult.CUDA_ERROR_OUT_OF_MEMORY, "cuda:0: cuMemAlloc(8 bytes)"));
        assertEquals("cuda:0: cuMemAlloc(8 bytes): CUDA_ERROR_OUT_OF_MEMORY (CUDA error 2)", e.getMessage());
    }

    @Test
    void ptxMissingFromTheJarIsReported(@TempDir Path dir) throws IOException {
        try (URLClassLoader empty = loader(dir)) {
            String reason = Cuda.checkPtx(empty).orElseThrow();
            assertTrue(reason.startsWith("no PTX in the jar") && reason.contains("without nvcc"), reason);
        }
    }

    @Test
    void ptxIndexWithItsModulesIsAccepted(@TempDir Path dir) throws IOException {
        Path ptx = Files.createDirectories(dir.resolve(PtxIndex.DIRECTORY));
        Files.writeString(ptx.resolve("index.txt"), "# made by a test\nnvcc 13.0.88\narch compute_90\nmodule a\n"
                + "module b\n");
        Files.writeString(ptx.resolve("a.ptx"), ".version 9.0\n");
        try (URLClassLoader l = loader(dir)) {
            String reason = Cuda.checkPtx(l).orElseThrow();
            assertTrue(reason.contains("lists 'b'") && reason.contains("b.ptx is missing"), reason);
            Files.writeString(ptx.resolve("b.ptx"), ".version 9.0\n");
            assertEquals(Optional.empty(), Cuda.checkPtx(l));
            assertEquals(new PtxIndex("13.0.88", "compute_90", List.of("a", "b")), PtxIndex.load(l).orElseThrow());
            assertEquals(".version 9.0\n", PtxIndex.read(l, "a"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PtxIndex.read(l, "c"));
            assertTrue(e.getMessage().contains("no PTX module 'c'"), e.getMessage());
        }
    }

    @Test
    void emptyOrMalformedIndexIsRejected(@TempDir Path dir) throws IOException {
        Path ptx = Files.createDirectories(dir.resolve(PtxIndex.DIRECTORY));
        Files.writeString(ptx.resolve("index.txt"), "nvcc 13.0.88\n");
        try (URLClassLoader l = loader(dir)) {
            assertTrue(Cuda.checkPtx(l).orElseThrow().contains("lists no modules"));
        }
        assertThrows(IllegalArgumentException.class, () -> PtxIndex.parse("modules a b\n"));
    }

    @Test
    void cudaVersionsPrintAsMajorDotMinor() {
        assertEquals("13.0", Cuda.cudaVersion(13000));
        assertEquals("12.6", Cuda.cudaVersion(12060));
    }

    private static URLClassLoader loader(Path dir) throws IOException {
        return new URLClassLoader(new URL[] {dir.toUri().toURL()}, null);
    }
}
