package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The build's PTX: where nvcc exists, every {@code kernels/src/main/cuda/NAME.cu} has {@code NAME.ptx} on the class
 * path (target/classes, or the jar) and in the index; where the build ran without nvcc, there is no PTX at all.
 * The sources are looked for under {@code evonas.kernels.dir} (default: the working directory, which is
 * {@code kernels/} under Maven).
 */
class PtxResourcesTest {
    private static final ClassLoader LOADER = PtxResourcesTest.class.getClassLoader();

    @Test
    void everyKernelSourceHasItsPtx() throws IOException {
        Path cuda = Path.of(System.getProperty("evonas.kernels.dir", ".")).resolve("src/main/cuda");
        assumeTrue(Files.isDirectory(cuda), "kernel sources not found at " + cuda.toAbsolutePath()
                + "; set -Devonas.kernels.dir to the kernels module");
        Optional<PtxIndex> index = PtxIndex.load(LOADER);
        assumeTrue(index.isPresent() || nvccAvailable(), "PTX not built: " + noNvccReason());
        assertTrue(index.isPresent(), "nvcc is available but " + PtxIndex.RESOURCE + " is not on the class path");
        List<String> sources;
        try (Stream<Path> files = Files.list(cuda)) {
            sources = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu"))
                    .map(n -> n.substring(0, n.length() - 3)).sorted().toList();
        }
        assertTrue(sources.contains("selftest"), "selftest.cu is missing from " + cuda);
        for (String module : sources) {
            assertNotNull(LOADER.getResource(PtxIndex.DIRECTORY + module + ".ptx"), module + ".cu has no PTX");
        }
        assertEquals(sources, index.get().modules().stream().sorted().toList(), "index.txt lists the modules");
        assertEquals("compute_90", index.get().arch());
    }

    @Test
    void ptxTargetsSm90WithIsa9OrNewer() {
        Optional<PtxIndex> index = PtxIndex.load(LOADER);
        assumeTrue(index.isPresent(), "PTX not built: " + noNvccReason());
        for (String module : index.get().modules()) {
            String ptx = PtxIndex.read(LOADER, module);
            assertTrue(ptx.contains("\n.target sm_90"), module + ".ptx does not target sm_90");
            assertTrue(ptx.contains("\n.address_size 64"), module + ".ptx is not 64-bit");
            String version = ptx.lines().filter(l -> l.startsWith(".version ")).findFirst().orElse(".version 0.0");
            String[] v = version.substring(".version ".length()).strip().split("\\.");
            assertTrue(Integer.parseInt(v[0]) >= 9, module + ".ptx has PTX ISA " + version + ", nvcc 13 writes 9.0");
        }
    }

    @Test
    void aBuildWithoutNvccCarriesNoPtx() {
        assumeTrue(System.getProperty("evonas.nvcc", "").equals("none"), "this build used nvcc");
        assertTrue(PtxIndex.load(LOADER).isEmpty(), "a stale " + PtxIndex.RESOURCE + " is on the class path");
        assertTrue(Cuda.checkPtx(LOADER).orElseThrow().startsWith("no PTX in the jar"));
    }

    /** Whether build-ptx would have found an nvcc, by its rules (EVONAS_NVCC, PATH, /usr/local/cuda/bin). */
    static boolean nvccAvailable() {
        String forced = System.getProperty("evonas.nvcc", "");
        if (forced.equals("none")) {
            return false;
        }
        if (!forced.isEmpty()) {
            return Files.isExecutable(Path.of(forced));
        }
        String path = System.getenv().getOrDefault("PATH", "");
        return Stream.concat(Stream.of(path.split(":")), Stream.of("/usr/local/cuda/bin"))
                .filter(d -> !d.isEmpty()).anyMatch(d -> Files.isExecutable(Path.of(d, "nvcc")));
    }

    private static String noNvccReason() {
        return System.getProperty("evonas.nvcc", "").equals("none")
                ? "the build ran with -Devonas.nvcc=none"
                : "no nvcc on PATH or in /usr/local/cuda/bin when the kernels were built";
    }
}
