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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntToLongFunction;

/**
 * {@code bench/run ab --a=DIR [--b=DIR] [--a-props=K=V,...] [--b-props=K=V,...] [--threads=1,2] [--seconds=40]
 * [--batch=128] [--sgemm=N] [--settle=5]}: the reference CNN's training and inference throughput of two builds of
 * evonas (two checkouts, each built with {@code mvn -pl bench -am package}), or of one build under two sets of system
 * properties ({@code --b} defaults to {@code --a}), paired in one JVM. Each side is loaded by its own class loader
 * from its {@code bench/target/classpath.txt}, with its properties set while its classes initialise (the tuning
 * properties, such as {@code evonas.sgemm.kc} or {@code evonas.parallel.spin}, are read then); after warm-up,
 * rounds of 10 training steps (40 inference passes) alternate between the two, the order swapped every pair, for
 * the given seconds per line. Separate processes on a shared host scatter by 20–50%; pairs taken a second apart see
 * the same load, so the median of their ratios resolves a few percent. Prints, per thread count and mode:
 * <pre>
 * ab threads=1 train pairs=31 a 1830 img/s b 1924 img/s b/a median 1.074 quartiles 0.983 1.147
 * </pre>
 * With {@code --sgemm=N} the pairs are rounds of {@code n × n × n} products instead ({@link SgemmStepper}), in
 * GFLOP/s. Builds from before these classes existed lack {@link CnnStepper} (or {@link SgemmStepper}) and are
 * refused with a message.
 */
public final class CnnAb {
    private static final int TRAIN_ROUND = 10;
    private static final int INFER_ROUND = 40;
    private static final int WARM_ROUNDS = 8;
    /** Milliseconds between rounds ({@code --settle=MS}, 5 by default): see {@link #settle}. */
    private static int settleMs = 5;

    private CnnAb() {
    }

    public static void main(String[] args) throws Exception {
        Path a = null;
        Path b = null;
        int[] threads = {1, 2};
        int seconds = 40;
        int batch = 128;
        int sgemm = 0;
        Map<String, String> aProps = Map.of();
        Map<String, String> bProps = Map.of();
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
            } else if (arg.startsWith("--sgemm=")) {
                sgemm = Integer.parseInt(arg.substring(8));
            } else if (arg.startsWith("--settle=")) {
                settleMs = Integer.parseInt(arg.substring(9));
                if (settleMs < 0) {
                    usage("--settle=" + settleMs + ": the pause must be 0 or more milliseconds");
                }
            } else if (arg.startsWith("--a-props=")) {
                aProps = properties(arg.substring(10));
            } else if (arg.startsWith("--b-props=")) {
                bProps = properties(arg.substring(10));
            } else {
                usage("unknown argument " + arg);
            }
        }
        if (a == null) {
            usage("--a is needed");
        }
        if (b == null) {
            b = a;
        }
        if (a.equals(b) && aProps.equals(bProps)) {
            usage("--a and --b are the same build with the same properties; give another --b or --b-props");
        }
        if (!aProps.isEmpty() || !bProps.isEmpty()) {
            System.out.println("ab: a " + a + " " + aProps + ", b " + b + " " + bProps);
        }
        for (int t : threads) {
            IntToLongFunction sa;
            IntToLongFunction sb;
            try {
                sa = load(a, aProps, t, batch, sgemm);
                sb = load(b, bProps, t, batch, sgemm);
            } catch (IllegalArgumentException e) {
                System.err.println(e.getMessage());
                System.exit(2);
                return;
            }
            if (sgemm > 0) {
                System.out.println(pairSgemm(sa, sb, t, seconds, sgemm));
                continue;
            }
            for (boolean infer : new boolean[] {false, true}) {
                System.out.println(pair(sa, sb, t, infer, seconds, batch));
            }
        }
        System.exit(0); // the two builds' worker pools are not daemon threads
    }

    private static void usage(String problem) {
        System.err.println("bench/run ab: " + problem + "; use --a=DIR [--b=DIR] [--a-props=K=V,...] "
                + "[--b-props=K=V,...] [--threads=1,2] [--seconds=40] [--batch=128] [--sgemm=N] [--settle=5], "
                + "DIR a checkout built with mvn -pl bench -am package");
        System.exit(2);
    }

    /** {@code K=V,K=V} as a map; an empty string gives none. */
    static Map<String, String> properties(String list) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String item : list.split(",")) {
            if (item.isBlank()) {
                continue;
            }
            int eq = item.indexOf('=');
            if (eq <= 0) {
                usage("property '" + item + "' is not K=V");
            }
            m.put(item.substring(0, eq).strip(), item.substring(eq + 1).strip());
        }
        return m;
    }

    /**
     * Build {@code root}'s {@link CnnStepper} (or {@link SgemmStepper} when {@code sgemm > 0}), in a class loader of
     * its own, with {@code props} set while one step (and one inference pass) initialises its classes; the
     * properties are restored afterwards.
     */
    private static IntToLongFunction load(Path root, Map<String, String> props, int threads, int batch, int sgemm)
            throws Exception {
        Map<String, String> saved = new LinkedHashMap<>();
        props.forEach((k, v) -> saved.put(k, System.setProperty(k, v)));
        try {
            IntToLongFunction f = load(root, threads, batch, sgemm);
            if (sgemm > 0) {
                f.applyAsLong(1);
            } else {
                f.applyAsLong(1 << 1);
                f.applyAsLong(1 << 1 | 1);
            }
            return f;
        } finally {
            saved.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    private static IntToLongFunction load(Path root, int threads, int batch, int sgemm) throws Exception {
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
        String name = (sgemm > 0 ? SgemmStepper.class : CnnStepper.class).getName();
        Class<?> c;
        try {
            c = loader.loadClass(name);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("bench/run ab: " + root + " has no " + name
                    + " (a build from before it existed)", e);
        }
        return (IntToLongFunction) c.getConstructor(int.class, int.class).newInstance(threads,
                sgemm > 0 ? sgemm : batch);
    }

    private static URL url(Path p) throws MalformedURLException {
        return p.toUri().toURL();
    }

    /** Rounds of about 0.2 s of products, alternated as {@link #pair} does; rates in GFLOP/s. */
    private static String pairSgemm(IntToLongFunction a, IntToLongFunction b, int threads, int seconds, int n) {
        double once = Math.max(1e-9, Math.min(a.applyAsLong(1), b.applyAsLong(1)) / 1e9);
        int count = (int) Math.max(1, Math.min(1000, Math.round(0.2 / once)));
        Pairs r = alternate(a, b, count, 3, seconds, 2.0 * n * n * n * count);
        return String.format(Locale.ROOT, "ab threads=%d sgemm n=%d pairs=%d a %.1f GFLOP/s b %.1f GFLOP/s b/a median "
                + "%.3f quartiles %.3f %.3f", threads, n, r.size(), r.a(), r.b(), r.ratio(2), r.ratio(1), r.ratio(3));
    }

    private static String pair(IntToLongFunction a, IntToLongFunction b, int threads, boolean infer, int seconds,
                               int batch) {
        int count = infer ? INFER_ROUND : TRAIN_ROUND;
        int code = count << 1 | (infer ? 1 : 0);
        Pairs r = alternate(a, b, code, WARM_ROUNDS, seconds, count * (double) batch * 1e9); // img/s
        return String.format(Locale.ROOT, "ab threads=%d %s pairs=%d a %.0f img/s b %.0f img/s b/a median %.3f "
                + "quartiles %.3f %.3f", threads, infer ? "infer" : "train", r.size(), r.a(), r.b(), r.ratio(2),
                r.ratio(1), r.ratio(3));
    }

    /**
     * Waits between rounds until the side that just ran has let its worker threads park (they spin for up to 1 ms
     * after a region, {@code Parallel}): each build has its own pool, and a worker still spinning took a core from
     * the other side's round. Without the pause two threads' pairs of one build against itself read 1.20. Comparing
     * longer spins ({@code evonas.parallel.spin}) needs a longer pause.
     */
    private static void settle() {
        try {
            Thread.sleep(settleMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The rates of a's and b's rounds, sorted, and the per-pair ratios b/a, sorted. */
    private record Pairs(List<Double> ra, List<Double> rb, List<Double> ratios) {
        int size() {
            return ratios.size();
        }

        double a() {
            return ra.get(ra.size() / 2);
        }

        double b() {
            return rb.get(rb.size() / 2);
        }

        /** The {@code quarter}-th quartile of the ratios (2: the median). */
        double ratio(int quarter) {
            return ratios.get(quarter * ratios.size() / 4);
        }
    }

    /**
     * After {@code warm} rounds of each, rounds of {@code a} and {@code b} alternate for {@code seconds}, the order
     * swapped every pair; a round's rate is {@code work} over its nanoseconds (flops give GFLOP/s; images × 1e9
     * give images per second).
     */
    private static Pairs alternate(IntToLongFunction a, IntToLongFunction b, int code, int warm, int seconds,
                                   double work) {
        for (int i = 0; i < warm; i++) {
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
                settle();
                tb = b.applyAsLong(code);
            } else {
                tb = b.applyAsLong(code);
                settle();
                ta = a.applyAsLong(code);
            }
            settle();
            ra.add(work / ta);
            rb.add(work / tb);
            ratio.add((double) ta / tb);
        }
        Collections.sort(ra);
        Collections.sort(rb);
        Collections.sort(ratio);
        return new Pairs(ra, rb, ratio);
    }
}
