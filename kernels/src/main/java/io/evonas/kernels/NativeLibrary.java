package io.evonas.kernels;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A shared library bound through the Foreign Function and Memory API ({@code java.lang.foreign}): its symbols become
 * downcall handles, and a missing symbol is an error that names the library and the function. Tests give a
 * {@link SymbolLookup} of upcall stubs instead of the real library, so the bindings run without a GPU.
 *
 * @param name the library's file name as it was opened, e.g. {@code libcublas.so.13}
 * @param lookup its symbols
 */
record NativeLibrary(String name, SymbolLookup lookup) {
    /** {@code 1f} and {@code 0f} in native memory, for the {@code alpha} and {@code beta} the libraries take by pointer. */
    static final MemorySegment ONE = Arena.global().allocateFrom(JAVA_FLOAT, 1f);
    static final MemorySegment ZERO = Arena.global().allocateFrom(JAVA_FLOAT, 0f);

    NativeLibrary {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(lookup, "lookup");
    }

    /**
     * The first of {@code candidates} that the dynamic linker opens (by file name, searching as {@code dlopen}
     * does), or the reasons none did.
     */
    static Opened open(List<String> candidates) {
        List<String> failures = new ArrayList<>();
        for (String candidate : candidates) {
            try {
                return new Opened(new NativeLibrary(candidate, SymbolLookup.libraryLookup(candidate, Arena.global())),
                        "");
            } catch (IllegalArgumentException | IllegalCallerException e) {
                failures.add(candidate + ": " + e.getMessage());
            }
        }
        return new Opened(null, "none of " + String.join(", ", candidates) + " loads (" + String.join("; ", failures)
                + ")");
    }

    /**
     * A library that opened, or why none did.
     *
     * @param library the library; null when none opened
     * @param reason why none opened; empty when one did
     */
    record Opened(NativeLibrary library, String reason) {
    }

    /** The downcall handle of {@code symbol}, which must take and return what {@code descriptor} says. */
    MethodHandle function(String symbol, FunctionDescriptor descriptor) {
        MemorySegment address = lookup.find(symbol).orElseThrow(() -> new IllegalStateException(name
                + " has no function " + symbol + "; is it an older or newer major version than evonas binds?"));
        return Linker.nativeLinker().downcallHandle(address, descriptor);
    }

    /**
     * What a downcall's {@code invokeExact} threw, as an unchecked exception to throw: a runtime exception as it
     * is, an error rethrown at once, anything else wrapped with the library and the call named.
     */
    RuntimeException rethrow(Throwable t, String what) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(name + ": " + what, t);
    }

    /**
     * The exception for a call that returned {@code status}: the library, the call, the status's name as
     * {@code name} gives it (a C string; {@code "?"} when that fails too) and its number.
     */
    IllegalStateException failure(String what, int status, MethodHandle name, String kind) {
        String text;
        try {
            text = string((MemorySegment) name.invokeExact(status));
        } catch (Throwable t) {
            text = "?";
        }
        return new IllegalStateException(this.name + ": " + what + " failed: " + text + " (" + kind + " status "
                + status + ")");
    }

    /** A C string returned by the library (static storage), or {@code "?"} for a null pointer. */
    static String string(MemorySegment cString) {
        if (cString.address() == 0) {
            return "?";
        }
        return cString.reinterpret(4096).getString(0);
    }
}
