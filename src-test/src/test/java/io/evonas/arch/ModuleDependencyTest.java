package io.evonas.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dependency direction of ARCHITECTURE.md, checked on the sources: app -> nas -> layers -> autodiff -> tensor,
 * kernels -> tensor, and nothing depends on kernels at compile time.
 */
class ModuleDependencyTest {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();

    /** Which evonas packages each library module's main sources may import. */
    private static final Map<String, Set<String>> ALLOWED = Map.of(
            "tensor", Set.of("tensor"),
            "autodiff", Set.of("tensor", "autodiff"),
            "layers", Set.of("tensor", "autodiff", "layers"),
            "nas", Set.of("tensor", "autodiff", "layers", "nas"),
            "kernels", Set.of("tensor", "kernels"),
            "app", Set.of("tensor", "autodiff", "layers", "nas", "app"));

    private static final Pattern EVONAS_REF = Pattern.compile("\\bio\\.evonas\\.([a-z]+)\\b");

    @Test
    void moduleSourcesOnlyReferToModulesBelowThem() throws IOException {
        List<String> violations = new ArrayList<>();
        int files = 0;
        for (var entry : ALLOWED.entrySet()) {
            Path src = ROOT.resolve(entry.getKey()).resolve("src/main/java");
            assertTrue(Files.isDirectory(src), "missing module sources " + src);
            try (Stream<Path> paths = Files.walk(src)) {
                for (Path p : paths.filter(f -> f.toString().endsWith(".java")).toList()) {
                    files++;
                    Matcher m = EVONAS_REF.matcher(Files.readString(p));
                    while (m.find()) {
                        if (!entry.getValue().contains(m.group(1))) {
                            violations.add(ROOT.relativize(p) + " refers to io.evonas." + m.group(1));
                        }
                    }
                }
            }
        }
        assertTrue(files > 0, "no sources found under " + ROOT);
        assertEquals(List.of(), violations);
    }

    /** Library modules use no third-party code at compile time, except kernels' JCuda and nas's one solver, ojAlgo. */
    @Test
    void libraryModulesDeclareNoThirdPartyCompileDependencies() throws IOException {
        Pattern dependency = Pattern.compile(
                "<dependency>\\s*<groupId>([^<]+)</groupId>\\s*<artifactId>([^<]+)</artifactId>(.*?)</dependency>",
                Pattern.DOTALL);
        List<String> violations = new ArrayList<>();
        for (String module : List.of("tensor", "autodiff", "layers", "nas", "kernels")) {
            String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
            Matcher m = dependency.matcher(pom);
            while (m.find()) {
                boolean ours = m.group(1).equals("io.evonas");
                boolean testOnly = m.group(3).contains("<scope>test</scope>");
                boolean allowedNative = module.equals("kernels") && m.group(1).equals("org.jcuda");
                boolean allowedSolver = module.equals("nas")
                        && (m.group(1) + ":" + m.group(2)).equals("org.ojalgo:ojalgo");
                if (!ours && !testOnly && !allowedNative && !allowedSolver) {
                    violations.add(module + " depends on " + m.group(1) + ":" + m.group(2));
                }
                if (ours && m.group(2).equals("evonas-kernels")) {
                    violations.add(module + " depends on evonas-kernels at compile time");
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
