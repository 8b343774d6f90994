package io.evonas.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The PTX modules in the jar, as {@code kernels/build-ptx} listed them in {@code io/evonas/kernels/ptx/index.txt}:
 * lines {@code nvcc VERSION}, {@code arch compute_NN} and {@code module NAME}; {@code #} starts a comment.
 *
 * @param nvccVersion the nvcc that compiled them, e.g. {@code 13.0.88}
 * @param arch the virtual architecture, e.g. {@code compute_90}
 * @param modules the module names, one per {@code src/main/cuda/NAME.cu}
 */
record PtxIndex(String nvccVersion, String arch, List<String> modules) {
    /** Where the PTX lies in the jar. */
    static final String DIRECTORY = "io/evonas/kernels/ptx/";
    /** The index's resource name. */
    static final String RESOURCE = DIRECTORY + "index.txt";

    PtxIndex {
        modules = List.copyOf(modules);
    }

    /** Parses an index file's text. */
    static PtxIndex parse(String text) {
        String nvcc = "unknown";
        String arch = "unknown";
        List<String> modules = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int space = l.indexOf(' ');
            String key = space < 0 ? l : l.substring(0, space);
            String value = space < 0 ? "" : l.substring(space + 1).strip();
            switch (key) {
                case "nvcc" -> nvcc = value;
                case "arch" -> arch = value;
                case "module" -> modules.add(value);
                default -> throw new IllegalArgumentException("PTX index: unknown line '" + l + "'");
            }
        }
        return new PtxIndex(nvcc, arch, modules);
    }

    /** The index on {@code loader}'s class path; empty when the jar was built without nvcc. */
    static Optional<PtxIndex> load(ClassLoader loader) {
        try (InputStream in = loader.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return Optional.empty();
            }
            return Optional.of(parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }

    /** The PTX text of {@code module} on {@code loader}'s class path. */
    static String read(ClassLoader loader, String module) {
        String name = DIRECTORY + module + ".ptx";
        try (InputStream in = loader.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalArgumentException("no PTX module '" + module + "' in the jar (" + name
                        + "); kernels/src/main/cuda has no " + module + ".cu, or the jar was built without nvcc");
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + name, e);
        }
    }
}
