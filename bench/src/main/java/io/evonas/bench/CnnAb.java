package io.evonas.bench;

import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.IntToLongFunction;

/**
 * {@code bench/run ab --a=DIR --b=DIR [--threads=1,2] [--seconds=40] [--batch=128]}: the reference CNN's training
 * and inference throughput of two builds of evonas (two checkouts, each built with
 * {@code mvn -pl bench -am package}), paired in one JVM. Each build is loaded by its own class loader from its
 * {@code bench/target/classpath.txt}; after warm-up, rounds of 10 training steps (40 inference passes) alternate
 * between the two, the order swapped every pair, for the given seconds per line. Separate processes on a shared
 * host scatter by 20–50%; pairs taken a second apart see the same load, so the median of their ratios resolves a
 * few percent. Prints, per thread count and mode:
 * <pre>
 * ab threads=1 train pairs=31 a 1830 img/s b 1924 img/s b/a median 1.074 quartiles 0.983 1.147
 * </pre>
 * Builds from before this class existed lack {@link CnnStepper} and are refused with a message.
 */
public final class CnnAb {
    private static final int TRAIN_ROUND = 10;
    private static final int INFER_ROUND = 40;
    private static final int WARM_ROUNDS = 8;

    private CnnAb() {
    }

    public static void main(String[] args) throws Exception {
        Path a = null;
        Path b = null;
        int[] threads = {1, 2};
        int seconds = 40;
        int batch = 128;
        for (String arg : args) {
            if (arg.startsWith("--a=")) {
                a = Path.of(arg.substring(4));
            } else if (arg.startsWith("--b=")) {
                b = Path.of(arg.substring(4));
            } else if (arg.startsWith("--threads=")) {
                threads = Arrays.stream(arg.substring(10).split(",")).mapToInt(Integer::parseInt).toArray();
            } else if (arg.startsWith("--seconds=")) {
                seconds = Integer.parseInt(arg.substring(10));
            } else if (arg.startsWith("--batch=")) {
                batch = Integer.parseInt(arg.substring(8));
            } else {
                usage("unknown argument " + arg);
            }
        }
        if (a == null || b == null) {
            usage("both --a and --b are needed");
        }
        for (int t : threads) {
            IntToLongFunction sa;
            IntToLongFunction sb;
            try {
                sa = load(a, t, batch);
                sb = load(b, t, batch);
            } catch (IllegalArgumentException e) {
                System.err.println(e.getMessage());
                System.exit(2);
                return;
            }
            for (boolean infer : new boolean[] {false, true}) {
                System.out.println(pair(sa, sb, t, infer, seconds, batch));
            }
        }
        System.exit(0); // the two builds' worker pools are not daemon threads
    }

    private static void usage(String problem) {
        System.err.println("bench/run ab: " + problem + "; use --a=DIR --b=DIR [--threads=1,2] [--seconds=40] "
                + "[--batch=128], DIR a checkout built with mvn -pl bench -am package");
        System.exit(2);
    }

    /** Build {@code root}'s {@link CnnStepper}, in a class loader of its own. */
    private static IntToLongFunction load(Path root, int threads, int batch) throws Exception {
        Path cp = root.resolve("bench/target/classpath.txt");
        Path classes = root.resolve("bench/target/classes");
        if (!Files.isRegularFile(cp) || !Files.isDirectory(classes)) {
            throw new IllegalArgumentException("bench/run ab: " + root + " is not built (no " + cp + "); run mvn -pl "
                    + "bench -am package -DskipTests there");
        }
        List<URL> urls = new ArrayList<>();
        urls.add(url(classes));
        for (String p : Files.readString(cp).trim().split(java.io.File.pathSeparator)) {
            urls.add(url(Path.of(p)));
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        Class<?> c;
        try {
            c = loader.loadClass(CnnStepper.class.getName());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("bench/run ab: " + root + " has no " + CnnStepper.class.getName()
                    + " (a build from before it existed)", e);
        }
        return (IntToLongFunction) c.getConstructor(int.class, int.class).newInstance(threads, batch);
    }

    private static URL url(Path p) throws MalformedURLException {
        return p.toUri().toURL();
    }

    private static String pair(IntToLongFunction a, IntToLongFunction b, int threads, boolean infer, int seconds,
                               int batch) {
        int count = infer ? INFER_ROUND : TRAIN_ROUND;
        int code = count << 1 | (infer ? 1 : 0);
        for (int i = 0; i < WARM_ROUNDS; i++) {
            a.applyAsLong(code);
            b.applyAsLong(code);
        }
        List<Double> ra = new ArrayList<>();
        List<Double> rb = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        for (int i = 0; System.nanoTime() < end; i++) {
            long ta;
            long tb;
            if (i % 2 == 0) {
                ta = a.applyAsLong(code);
                tb = b.applyAsLong(code);
            } else {
                tb = b.applyAsLong(code);
                ta = a.applyAsLong(code);
            }
            double ia = count * (double) batch / (ta / 1e9);
            double ib = count * (double) batch / (tb / 1e9);
            ra.add(ia);
            rb.add(ib);
            ratio.add(ib / ia);
        }
        Collections.sort(ra);
        Collections.sort(rb);
        Collections.sort(ratio);
        int n = ratio.size();
        return String.format(Locale.ROOT, "ab threads=%d %s pairs=%d a %.0f img/s b %.0f img/s b/a median %.3f "
                + "quartiles %.3f %.3f", threads, infer ? "infer" : "train", n, ra.get(n / 2), rb.get(n / 2),
                ratio.get(n / 2), ratio.get(n / 4), ratio.get(3 * n / 4));
    }
}
