package io.evonas.nas.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** Reading whole data files, gzipped or raw (told apart by the gzip magic bytes, not the name). */
final class DataFiles {
    private DataFiles() {
    }

    /** All bytes of {@code file}, decompressed when it is gzip. */
    static byte[] readAll(Path file) {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            return readAll(raw, file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** All bytes of a stream named {@code name} in messages, decompressed when it is gzip. */
    static byte[] readAll(InputStream raw, String name) throws IOException {
        InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw);
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        if (b0 == 0x1f && b1 == 0x8b) {
            try (InputStream gz = new GZIPInputStream(in)) {
                return gz.readAllBytes();
            } catch (ZipException | java.io.EOFException e) {
                throw new DataFormatException(name + ": corrupt or truncated gzip data (" + e.getMessage() + ")", e);
            }
        }
        return in.readAllBytes();
    }
}
