package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.evonas.tensor.Tensor;
import io.evonas.tensor.cpu.Activation;
import io.evonas.tensor.cpu.Dropout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What of {@link CudaBackend} can be checked without a GPU: every kernel it names exists in the PTX, and the host
 * side of dropout draws the CPU's random bits.
 */
class CudaBackendNamesTest {
    private static final Pattern LITERAL = Pattern.compile("\"(evonas_[a-z0-9_]*[a-z0-9])\"");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(evonas_[a-z0-9_]+)\\s*\\(");

    /**
     * The kernels CudaBackend names by a literal (its source under {@code evonas.kernels.dir}, default the working
     * directory), plus those it puts together from parts.
     */
    static List<String> kernelsUsed() throws IOException {
        Path source = Path.of(System.getProperty("evonas.kernels.dir", "."))
                .resolve("src/main/java/io/evonas/kernels/CudaBackend.java");
        assumeTrue(Files.isRegularFile(source), "CudaBackend.java not found at " + source.toAbsolutePath()
                + "; set -Devonas.kernels.dir to the kernels module");
        List<String> names = new ArrayList<>();
        Matcher m = LITERAL.matcher(Files.readString(source));
        while (m.find()) {
            names.add(m.group(1));
        }
        for (String op : List.of("add", "sub", "mul", "div")) {
            names.add("evonas_elementwise_" + op);
            names.add("evonas_elementwise_" + op + "_bcast");
        }
        for (Activation f : Activation.values()) {
            if (f != Activation.IDENTITY) {
                names.add("evonas_elementwise_" + CudaBackend.kernelName(f) + "_forward");
                names.add("evonas_elementwise_" + CudaBackend.kernelName(f) + "_backward");
            }
        }
        for (String layout : List.of("rows", "cols")) {
            for (String k : List.of("sum", "mean", "softmax", "log_softmax", "softmax_backward",
                    "log_softmax_backward")) {
                names.add("evonas_reduce_" + k + "_" + layout);
            }
        }
        for (String t : List.of("nn", "nt", "tn", "tt")) {
            names.add("evonas_gemm_sgemm_" + t);
        }
        for (String kind : List.of("labels", "targets")) {
            names.add("evonas_loss_cross_entropy_" + kind + "_forward");
            names.add("evonas_loss_cross_entropy_" + kind + "_backward");
        }
        return names;
    }

    @Test
    void everyKernelTheBackendLaunchesIsInThePtx() throws IOException {
        List<String> modules = CudaModules.available();
        assumeTrue(!modules.isEmpty(), "no PTX on the class path (built without nvcc)");
        TreeSet<String> entries = new TreeSet<>();
        for (String module : modules) {
            Matcher m = ENTRY.matcher(PtxIndex.read(CudaBackendNamesTest.class.getClassLoader(), module));
            while (m.find()) {
                entries.add(m.group(1));
            }
        }
        List<String> used = kernelsUsed();
        assertTrue(used.size() > 60, "found only " + used.size() + " kernel names");
        List<String> missing = used.stream().filter(k -> !entries.contains(k)).distinct().toList();
        assertEquals(List.of(), missing, "kernels named by CudaBackend but not in the PTX");
        for (String k : used) {
            String module = k.split("_")[1];
            assertTrue(modules.contains(module), k + " is not in a module named " + module);
        }
    }

    @Test
    void theTestsCudaTestMainSelectsOutsideThisPackageAreOnTheClassPath() throws ClassNotFoundException {
        for (String name : CudaTestMain.OTHER_TEST_CLASSES) {
            assertEquals(name, Class.forName(name).getName());
        }
    }

    @Test
    void dropoutBitsGiveTheCpuMaskAndLeaveTheGeneratorWhereTheCpuDoes() {
        for (int n : new int[] {1, 2, 7, 64, 101}) {
            for (double p : new double[] {0.1, 0.5, 0.9}) {
                Tensor x = Tensor.full(1f, n);
                Tensor out = Tensor.zeros(n);
                Tensor mask = Tensor.zeros(n);
                SplittableRandom cpu = new SplittableRandom(n * 31L);
                Dropout.forward(x, p, cpu, out, mask);
                SplittableRandom gpu = new SplittableRandom(n * 31L);
                int[] bits = CudaBackend.dropoutBits(gpu, n);
                long threshold = (long) Math.ceil(p * 0x1p32);
                float scale = (float) (1 / (1 - p));
                float[] expected = new float[n];
                for (int i = 0; i < n; i++) {
                    // the kernel's rule: bits[i] (unsigned) >= threshold keeps the element
                    expected[i] = Integer.toUnsignedLong(bits[i]) >= threshold ? scale : 0f;
                }
                assertArrayEquals(mask.toArray(), expected, "n = " + n + ", p = " + p);
                assertEquals(cpu.nextLong(), gpu.nextLong(), "generator state after n = " + n);
            }
        }
    }
}
