package io.evonas.nas.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The graph core and its size solver know no tensors, autodiff or layers: only the glue in nas.model does. */
class GraphCoreDependenciesTest {
    private static final Pattern FORBIDDEN = Pattern.compile("\\bio\\.evonas\\.(tensor|autodiff|layers|nas\\.model"
            + "|nas\\.train|nas\\.data)\\b");

    @Test
    void graphPackagesReferToNoTensorCode() throws IOException {
        Path root = Path.of("src/main/java/io/evonas/nas/graph");
        assertTrue(Files.isDirectory(root), "run from the nas module: " + root.toAbsolutePath());
        List<String> violations = new ArrayList<>();
        int files = 0;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.filter(f -> f.toString().endsWith(".java")).toList()) {
                files++;
                Matcher m = FORBIDDEN.matcher(Files.readString(p));
                while (m.find()) {
                    violations.add(root.relativize(p) + " refers to " + m.group());
                }
            }
        }
        assertTrue(files > 10, "found only " + files + " sources");
        assertEquals(List.of(), violations);
    }
}
