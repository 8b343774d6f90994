package io.evonas.kernels;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * cuBLAS and cuDNN on this machine, found once per JVM, and the two system properties that say what the backend
 * uses. Neither library is needed: without them every operation runs on evonas's own kernels.
 *
 * <ul>
 *   <li>{@value #LIBRARIES_PROPERTY}: {@code auto} (the default) uses cuBLAS for matrix products and cuDNN for
 *       convolutions wherever they load; {@code none} uses only evonas's kernels; {@code cublas} or {@code cudnn}
 *       (or both, comma-separated) use only those named.</li>
 *   <li>{@value #TF32_PROPERTY}: {@code true} lets matrix products and convolutions round their inputs to TF32 for
 *       the tensor cores (about 1e-3 relative error, several times faster); the default {@code false} keeps FP32
 *       arithmetic, which agrees with the CPU to float rounding.</li>
 *   <li>{@value #PATH_PROPERTY}: directories to look in first; then the dynamic linker's search
 *       ({@code LD_LIBRARY_PATH}, {@code /etc/ld.so.conf}), then {@value #TOOLKIT}.</li>
 * </ul>
 */
public final class CudaLibraries {
    /** The property naming the libraries to use. */
    public static final String LIBRARIES_PROPERTY = "evonas.cuda.libraries";
    /** The property listing directories (separated by {@code :}) to look for the libraries in first. */
    public static final String PATH_PROPERTY = "evonas.cuda.library.path";
    /** Where the CUDA toolkit's installers put the libraries, looked at after the dynamic linker's own search. */
    static final String TOOLKIT = "/usr/local/cuda/lib64";
    /** The property allowing TF32 tensor-core arithmetic. */
    public static final String TF32_PROPERTY = "evonas.cuda.tf32";

    private static volatile Found found;

    private CudaLibraries() {
    }

    /**
     * What was looked for and found.
     *
     * @param cublas cuBLAS, or null
     * @param cublasNote the library used, or why none is
     * @param cudnn cuDNN, or null
     * @param cudnnNote the library used, or why none is
     * @param tf32 whether TF32 arithmetic is allowed
     */
    record Found(Cublas cublas, String cublasNote, Cudnn cudnn, String cudnnNote, boolean tf32) {
    }

    /** The libraries the backend uses, looked for on the first call. */
    static Found found() {
        Found f = found;
        if (f == null) {
            synchronized (CudaLibraries.class) {
                f = found;
                if (f == null) {
                    f = find(System.getProperty(LIBRARIES_PROPERTY, "auto"),
                            Boolean.parseBoolean(System.getProperty(TF32_PROPERTY, "false")),
                            System.getProperty(PATH_PROPERTY, ""));
                    found = f;
                }
            }
        }
        return f;
    }

    /** Whether the device's default backend multiplies matrices with cuBLAS. */
    public static boolean usesCublas() {
        return found().cublas() != null;
    }

    /** Whether the device's default backend convolves with cuDNN (where the padding is symmetric). */
    public static boolean usesCudnn() {
        return found().cudnn() != null;
    }

    /** Whether TF32 tensor-core arithmetic is allowed ({@value #TF32_PROPERTY}). */
    public static boolean tf32() {
        return found().tf32();
    }

    /** One line per library: which file is used, or why none is; and whether TF32 is allowed. */
    public static String describe() {
        Found f = found();
        String cublasVersion = f.cublas() == null ? "" : " (version " + f.cublas().version() + ")";
        String cudnnVersion = f.cudnn() == null ? "" : " (cudnnGetVersion " + f.cudnn().version() + ")";
        return "cuBLAS: " + f.cublasNote() + cublasVersion + "\ncuDNN: " + f.cudnnNote() + cudnnVersion + "\nTF32: "
                + (f.tf32() ? "allowed" : "off") + " (-D" + TF32_PROPERTY + "=true allows it)";
    }

    /** Parses {@value #LIBRARIES_PROPERTY}'s value into the names it asks for. */
    static Set<String> wanted(String value) {
        Set<String> names = new LinkedHashSet<>();
        for (String part : value.toLowerCase(Locale.ROOT).split(",")) {
            String name = part.strip();
            switch (name) {
                case "auto" -> {
                    names.add("cublas");
                    names.add("cudnn");
                }
                case "none", "" -> {
                }
                case "cublas", "cudnn" -> names.add(name);
                default -> throw new IllegalArgumentException(LIBRARIES_PROPERTY + "=" + value + ": unknown library '"
                        + name + "'; use auto, none, cublas, cudnn or cublas,cudnn");
            }
        }
        return names;
    }

    /** The files to try for {@code names}, in order: in each of {@code path}'s directories, by name, in the toolkit. */
    static List<String> candidates(List<String> names, String path) {
        List<String> files = new ArrayList<>();
        for (String name : names) {
            for (String dir : path.split(":")) {
                if (!dir.isBlank()) {
                    files.add(Path.of(dir.strip(), name).toString());
                }
            }
            files.add(name);
            files.add(TOOLKIT + "/" + name);
        }
        return files;
    }

    static Found find(String property, boolean tf32, String path) {
        Set<String> wanted = wanted(property);
        Loaded<Cublas> cublas = load(wanted.contains("cublas"), property, candidates(Cublas.LIBRARIES, path),
                Cublas::open, "matrix products");
        Loaded<Cudnn> cudnn = load(wanted.contains("cudnn"), property, candidates(Cudnn.LIBRARIES, path),
                Cudnn::open, "convolutions");
        return new Found(cublas.binding(), cublas.note(), cudnn.binding(), cudnn.note(), tf32);
    }

    /** A binding, or null, and the library file it uses or why there is none. */
    private record Loaded<T>(T binding, String note) {
    }

    private static <T> Loaded<T> load(boolean wanted, String property, List<String> files,
                                      Function<NativeLibrary, T> bind, String work) {
        if (!wanted) {
            return new Loaded<>(null, "not used (" + LIBRARIES_PROPERTY + "=" + property + ")");
        }
        NativeLibrary.Opened opened = NativeLibrary.open(files);
        if (opened.library() == null) {
            return new Loaded<>(null, "not found: " + opened.reason() + "; " + work + " use evonas's kernels");
        }
        try {
            return new Loaded<>(bind.apply(opened.library()), opened.library().name());
        } catch (IllegalStateException e) {
            return new Loaded<>(null, "not used: " + e.getMessage() + "; " + work + " use evonas's kernels");
        }
    }
}
