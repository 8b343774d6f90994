package io.evonas.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;

class PrefetchTest {
    @Test
    void triedOnlyOnLinuxX86WithNativeAccessUnlessTurnedOff() {
        assertTrue(Prefetch.wanted(null, "Linux", "amd64", true));
        assertTrue(Prefetch.wanted("true", "Linux", "x86_64", true));
        assertFalse(Prefetch.wanted("false", "Linux", "amd64", true), "the property turns it off");
        assertFalse(Prefetch.wanted(null, "Linux", "amd64", false), "no native access, no attempt (and no warning)");
        assertFalse(Prefetch.wanted(null, "Linux", "aarch64", true));
        assertFalse(Prefetch.wanted(null, "Mac OS X", "x86_64", true));
        assertFalse(Prefetch.wanted(null, "Windows 11", "amd64", true));
    }

    @Test
    void bindsHereAndChangesNothing() {
        // the tests run with native access on; on Linux x86-64 the routine must bind and run
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch");
        boolean here = os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"))
                && !"false".equals(System.getProperty("evonas.sgemm.prefetch"));
        assertEquals(here, Prefetch.enabled(), "prefetch available on " + os + "/" + arch);
        float[] c = new float[64 * 100 + 7];
        for (int i = 0; i < c.length; i++) {
            c[i] = i * 0.5f;
        }
        float[] before = c.clone();
        Prefetch.rows(c, 0, 64, 100);
        Prefetch.rows(c, 7, 64, 1);
        Prefetch.rows(c, c.length - 1, 1, 1);
        Prefetch.rows(c, 5, 64, 0);
        Prefetch.rows(c, 5, 64, -3);
        assertArrayEquals(before, c);
    }
}
