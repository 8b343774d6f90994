package io.evonas.nas.data;

import io.evonas.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reader for the CIFAR-10 binary batches ({@code data_batch_1.bin} ... {@code test_batch.bin}, gzipped or raw):
 * records of one label byte (0..9) then 3,072 bytes of a 32×32 image, red plane, green plane, blue plane.
 * Images come out NCHW {@code [N, 3, 32, 32]} scaled to [0, 1].
 */
public final class Cifar10 {
    /** Bytes in one record: the label and 3 × 32 × 32 pixels. */
    public static final int RECORD = 1 + 3 * 32 * 32;
    public static final int CLASSES = 10;

    private Cifar10() {
    }

    /** Reads and concatenates the given batch files. */
    public static LabelledData read(Path... batches) {
        if (batches.length == 0) {
            throw new IllegalArgumentException("cifar10: no batch files given");
        }
        List<byte[]> all = new ArrayList<>();
        int n = 0;
        for (Path file : batches) {
            byte[] bytes = DataFiles.readAll(file);
            if (bytes.length == 0 || bytes.length % RECORD != 0) {
                throw new DataFormatException(file + ": " + bytes.length + " bytes is not a whole number of "
                        + RECORD + "-byte CIFAR-10 records" + (bytes.length > RECORD ? " (truncated?)" : ""));
            }
            for (int r = 0; r < bytes.length / RECORD; r++) {
                int label = bytes[r * RECORD] & 0xff;
                if (label >= CLASSES) {
                    throw new DataFormatException(file + ": record " + r + " has label " + label
                            + ", CIFAR-10 labels are 0..9");
                }
            }
            all.add(bytes);
            n += bytes.length / RECORD;
        }
        int pixels = RECORD - 1;
        float[] x = new float[n * pixels];
        int[] y = new int[n];
        int sample = 0;
        for (byte[] bytes : all) {
            for (int r = 0; r < bytes.length / RECORD; r++, sample++) {
                int base = r * RECORD;
                y[sample] = bytes[base] & 0xff;
                int dst = sample * pixels;
                for (int i = 0; i < pixels; i++) {
                    x[dst + i] = (bytes[base + 1 + i] & 0xff) / 255f;
                }
            }
        }
        return new LabelledData(Tensor.wrap(x, n, 3, 32, 32), y, CLASSES);
    }
}
