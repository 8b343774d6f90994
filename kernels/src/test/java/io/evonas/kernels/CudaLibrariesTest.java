package io.evonas.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The {@code evonas.cuda.libraries} property and what {@link CudaLibraries} reports, on any machine. */
class CudaLibrariesTest {
    @Test
    void thePropertyNamesTheLibrariesToUse() {
        assertEquals(Set.of("cublas", "cudnn"), CudaLibraries.wanted("auto"));
        assertEquals(Set.of(), CudaLibraries.wanted("none"));
        assertEquals(Set.of("cudnn"), CudaLibraries.wanted(" cuDNN "));
        assertEquals(Set.of("cublas", "cudnn"), CudaLibraries.wanted("cublas,cudnn"));
        var e = assertThrows(IllegalArgumentException.class, () -> CudaLibraries.wanted("cublas,mkl"));
        assertEquals("evonas.cuda.libraries=cublas,mkl: unknown library 'mkl'; use auto, none, cublas, cudnn or "
                + "cublas,cudnn", e.getMessage());
    }

    @Test
    void theListedDirectoriesComeFirstThenTheLinkersSearchThenTheToolkit() {
        assertEquals(List.of("/opt/a/libx.so.2", "/b/libx.so.2", "libx.so.2", "/usr/local/cuda/lib64/libx.so.2",
                "/opt/a/libx.so.1", "/b/libx.so.1", "libx.so.1", "/usr/local/cuda/lib64/libx.so.1"),
                CudaLibraries.candidates(List.of("libx.so.2", "libx.so.1"), "/opt/a: /b/ ::"));
        assertEquals(List.of("libx.so.2", "/usr/local/cuda/lib64/libx.so.2"),
                CudaLibraries.candidates(List.of("libx.so.2"), ""));
    }

    @Test
    void noneUsesNeitherAndSaysWhy() {
        CudaLibraries.Found f = CudaLibraries.find("none", true, "");
        assertNull(f.cublas());
        assertNull(f.cudnn());
        assertEquals("not used (evonas.cuda.libraries=none)", f.cublasNote());
        assertEquals("not used (evonas.cuda.libraries=none)", f.cudnnNote());
        assertTrue(f.tf32());
    }

    @Test
    void autoUsesWhatLoadsAndOtherwiseNamesTheFilesTried() {
        CudaLibraries.Found f = CudaLibraries.find("auto", false, "/nonexistent/evonas");
        List<String> blas = CudaLibraries.candidates(Cublas.LIBRARIES, "/nonexistent/evonas");
        if (f.cublas() == null) {
            assertTrue(f.cublasNote().startsWith("not found: none of " + String.join(", ", blas) + " loads"),
                    f.cublasNote());
        } else {
            assertTrue(blas.contains(f.cublasNote()), f.cublasNote());
        }
        List<String> dnn = CudaLibraries.candidates(Cudnn.LIBRARIES, "/nonexistent/evonas");
        if (f.cudnn() == null) {
            assertTrue(f.cudnnNote().startsWith("not found: none of " + String.join(", ", dnn) + " loads"),
                    f.cudnnNote());
        } else {
            assertTrue(dnn.contains(f.cudnnNote()), f.cudnnNote());
        }
    }
}
