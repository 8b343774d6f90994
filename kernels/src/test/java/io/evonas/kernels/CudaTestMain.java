package io.evonas.kernels;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs this module's tests without Maven, for the GPU machine's {@code kernels/device-check}: one line per test
 * (PASS, SKIP with the reason, FAIL with the error), a summary, exit status 0 when nothing failed.
 * {@code --require-cuda} also fails when CUDA is unavailable, so that a GPU machine cannot pass by skipping.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp 'lib/*' \
 *     -Devonas.kernels.dir=kernels io.evonas.kernels.CudaTestMain --require-cuda
 * </pre>
 */
public final class CudaTestMain {
    private CudaTestMain() {
    }

    /**
     * The CUDA backend's checks that live in other modules' packages (they extend those modules' test classes) and
     * so are not found by scanning {@code io.evonas.kernels}.
     */
    static final List<String> OTHER_TEST_CLASSES = List.of("io.evonas.autodiff.CudaOpsTest",
            "io.evonas.layers.CudaLayerContractTest");

    /** Runs every test of package {@code io.evonas.kernels} and {@link #OTHER_TEST_CLASSES}. */
    public static void main(String[] args) {
        boolean requireCuda = List.of(args).contains("--require-cuda");
        AtomicInteger passed = new AtomicInteger();
        AtomicInteger skipped = new AtomicInteger();
        List<String> failures = new ArrayList<>();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier test, String reason) {
                skipped.incrementAndGet();
                System.out.println("SKIP " + name(test) + ": " + reason);
            }

            @Override
            public void executionFinished(TestIdentifier test, TestExecutionResult result) {
                String name = name(test);
                switch (result.getStatus()) {
                    case SUCCESSFUL -> {
                        if (test.isTest()) {
                            passed.incrementAndGet();
                            System.out.println("PASS " + name);
                        }
                    }
                    case ABORTED -> {
                        skipped.incrementAndGet();
                        System.out.println("SKIP " + name + ": " + result.getThrowable().map(Throwable::getMessage)
                                .orElse("aborted"));
                    }
                    case FAILED -> {
                        Throwable t = result.getThrowable().orElse(null);
                        failures.add(name + ": " + t);
                        System.out.println("FAIL " + name + ": " + t);
                        if (t != null) {
                            t.printStackTrace(System.out);
                        }
                    }
                }
            }
        };
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectPackage("io.evonas.kernels"))
                .selectors(OTHER_TEST_CLASSES.stream().map(c -> selectClass(c)).toList()).build();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(request, listener);
        if (passed.get() + skipped.get() + failures.size() == 0) {
            failures.add("no tests found in package io.evonas.kernels on the class path");
        }
        if (requireCuda && !Cuda.isAvailable()) {
            failures.add("--require-cuda: CUDA is unavailable: " + Cuda.unavailableReason());
        }
        System.out.println("tests: " + passed + " passed, " + skipped + " skipped, " + failures.size() + " failed");
        failures.forEach(f -> System.out.println("  failed: " + f));
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    /** {@code Class.method} for a test method, else the display name. */
    private static String name(TestIdentifier test) {
        if (test.getSource().orElse(null) instanceof MethodSource m) {
            String cls = m.getClassName();
            return cls.substring(cls.lastIndexOf('.') + 1) + "." + m.getMethodName();
        }
        return test.getDisplayName();
    }
}
