package io.evonas.tensor.cpu;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Software prefetch of C tiles for the SGEMM kernel, which Java cannot express: a 23-byte x86-64 routine
 * ({@code prefetcht1} of the lines of {@code rows} rows) placed in an executable page of its own through libc's
 * {@code mmap} and {@code mprotect}, and called as a critical downcall, which may read the Java heap and costs a
 * few nanoseconds. Prefetch changes no value, only when lines arrive; a kernel tile takes microseconds, so one call
 * per tile is cheap.
 *
 * <p>Available on Linux x86-64 when the tensor module may use native access ({@code --enable-native-access}); it
 * is checked first, so without it nothing is tried and no warning is printed. {@code -Devonas.sgemm.prefetch=false}
 * turns it off. Anything that fails while setting it up (a system that refuses executable mappings, say) leaves it
 * off: {@link #rows} is then a no-op.
 */
final class Prefetch {
    /**
     * {@code void prefetch(const void *p, long stride, int rows)} (System V): for each of {@code rows} rows, the
     * lines holding bytes 0, 64 and 127 of {@code p}, then {@code p += stride}. Into L2 ({@code prefetcht1}), not
     * L1: at a stride of a multiple of 4 KB (n = 1024, 2048) a tile's fourteen rows fall in the same two L1 sets
     * and would evict one another and the kernel's panels. Paired against {@code prefetcht0}, n = 2048: 1.021 and
     * 1.030 on one thread, 1.037 on two (bench/README.md, ninth sitting).
     */
    private static final byte[] CODE = {
        (byte) 0x85, (byte) 0xD2,               // test edx, edx
        0x7E, 0x12,                             // jle done
        0x0F, 0x18, 0x17,                       // loop: prefetcht1 [rdi]
        0x0F, 0x18, 0x57, 0x40,                 // prefetcht1 [rdi + 64]
        0x0F, 0x18, 0x57, 0x7F,                 // prefetcht1 [rdi + 127]
        0x48, 0x01, (byte) 0xF7,                // add rdi, rsi
        (byte) 0xFF, (byte) 0xCA,               // dec edx
        0x75, (byte) 0xEE,                      // jnz loop
        (byte) 0xC3                             // done: ret
    };
    private static final MethodHandle ROWS = bind();

    private Prefetch() {
    }

    /** Whether {@link #rows} prefetches (else it does nothing). */
    static boolean enabled() {
        return ROWS != null;
    }

    /**
     * Asks for the first 128 bytes of each of {@code rows} rows of {@code c}, from {@code c[at]} with a row stride of
     * {@code ld} floats, to be brought into the cache.
     */
    static void rows(float[] c, int at, int ld, int rows) {
        if (ROWS == null) {
            return;
        }
        try {
            ROWS.invokeExact(MemorySegment.ofArray(c).asSlice(4L * at), 4L * ld, rows);
        } catch (Throwable e) {
            throw new IllegalStateException("SGEMM prefetch failed", e);
        }
    }

    /**
     * Whether to try: asked for ({@code evonas.sgemm.prefetch}, default true), on Linux x86-64, with native access
     * enabled for this module.
     */
    static boolean wanted(String property, String os, String arch, boolean nativeAccess) {
        String a = arch.toLowerCase(Locale.ROOT);
        return Boolean.parseBoolean(property == null ? "true" : property)
                && os.toLowerCase(Locale.ROOT).startsWith("linux") && (a.equals("amd64") || a.equals("x86_64"))
                && nativeAccess;
    }

    @SuppressWarnings("restricted") // only reached when native access is enabled for this module
    private static MethodHandle bind() {
        if (!wanted(System.getProperty("evonas.sgemm.prefetch"), System.getProperty("os.name", ""),
                System.getProperty("os.arch", ""), Prefetch.class.getModule().isNativeAccessEnabled())) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            MethodHandle mprotect = linker.downcallHandle(libc.find("mprotect").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT));
            long page = 4096;
            int protReadWrite = 0x3;
            int protReadExec = 0x5;
            int mapPrivateAnonymous = 0x22;
            MemorySegment code = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, page, protReadWrite,
                    mapPrivateAnonymous, -1, 0L);
            if (code.address() == -1L || code.address() == 0L) {
                return null;
            }
            code = code.reinterpret(page);
            MemorySegment.copy(MemorySegment.ofArray(CODE), 0, code, 0, CODE.length);
            if ((int) mprotect.invokeExact(code, page, protReadExec) != 0) {
                return null;
            }
            return linker.downcallHandle(code, FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT), Linker.Option.critical(true));
        } catch (Throwable e) {
            return null;
        }
    }
}
