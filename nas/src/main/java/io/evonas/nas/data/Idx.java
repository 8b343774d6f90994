package io.evonas.nas.data;

import io.evonas.tensor.Tensor;
import java.nio.file.Path;

/**
 * Reader for the IDX format of MNIST and Fashion-MNIST, gzipped or raw: a 4-byte magic ({@code 0, 0, type,
 * rank}), {@code rank} big-endian 32-bit dimensions, then the values row-major. Only unsigned bytes
 * ({@code type 0x08}) are used by these data sets and supported here.
 *
 * <pre>{@code
 * Path dir = Path.of("/usr/share/datasets/fashion-mnist");
 * LabelledData train = Idx.readImagesAndLabels(dir.resolve("train-images-idx3-ubyte.gz"),
 *         dir.resolve("train-labels-idx1-ubyte.gz"), 10);   // features [60000, 1, 28, 28] in [0, 1]
 * }</pre>
 */
public final class Idx {
    private static final int UNSIGNED_BYTE = 0x08;

    private Idx() {
    }

    /** The dimensions and the raw unsigned bytes of an IDX file. */
    public record Contents(int[] dims, byte[] data, int dataOffset) {
        /** Value {@code i} (row-major) as an int in 0..255. */
        public int value(int i) {
            return data[dataOffset + i] & 0xff;
        }

        /** Number of values. */
        public int size() {
            long n = 1;
            for (int d : dims) {
                n *= d;
            }
            return (int) n;
        }
    }

    /** Reads and validates an IDX file of unsigned bytes. */
    public static Contents read(Path file) {
        byte[] bytes = DataFiles.readAll(file);
        String name = file.toString();
        if (bytes.length < 4) {
            throw new DataFormatException(name + ": " + bytes.length + " bytes is too short for an IDX header");
        }
        if (bytes[0] != 0 || bytes[1] != 0) {
            throw new DataFormatException(name + ": not an IDX file (magic bytes " + hex(bytes[0]) + " "
                    + hex(bytes[1]) + ", expected 00 00)");
        }
        int type = bytes[2] & 0xff;
        if (type != UNSIGNED_BYTE) {
            throw new DataFormatException(name + ": IDX value type 0x" + Integer.toHexString(type)
                    + " is not supported (only unsigned bytes, 0x08)");
        }
        int rank = bytes[3] & 0xff;
        int header = 4 + 4 * rank;
        if (rank == 0 || bytes.length < header) {
            throw new DataFormatException(name + ": truncated IDX header (rank " + rank + ", " + bytes.length
                    + " bytes)");
        }
        int[] dims = new int[rank];
        long expected = 1;
        for (int i = 0; i < rank; i++) {
            int p = 4 + 4 * i;
            dims[i] = ((bytes[p] & 0xff) << 24) | ((bytes[p + 1] & 0xff) << 16) | ((bytes[p + 2] & 0xff) << 8)
                    | (bytes[p + 3] & 0xff);
            if (dims[i] < 0) {
                throw new DataFormatException(name + ": IDX dimension " + i + " is negative");
            }
            expected *= dims[i];
        }
        long actual = bytes.length - (long) header;
        if (actual != expected) {
            throw new DataFormatException(name + ": IDX dimensions " + java.util.Arrays.toString(dims) + " need "
                    + expected + " values but the file holds " + actual
                    + (actual < expected ? " (truncated)" : " (trailing bytes)"));
        }
        return new Contents(dims, bytes, header);
    }

    /** Images {@code [N, rows, cols]} as a tensor {@code [N, 1, rows, cols]} scaled to [0, 1]. */
    public static Tensor readImages(Path file) {
        Contents c = read(file);
        if (c.dims().length != 3) {
            throw new DataFormatException(file + ": image file must have 3 dimensions [N, rows, cols], has "
                    + java.util.Arrays.toString(c.dims()));
        }
        float[] x = new float[c.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = c.value(i) / 255f;
        }
        return Tensor.wrap(x, c.dims()[0], 1, c.dims()[1], c.dims()[2]);
    }

    /** Labels {@code [N]}, each checked to be in {@code [0, classes)}. */
    public static int[] readLabels(Path file, int classes) {
        Contents c = read(file);
        if (c.dims().length != 1) {
            throw new DataFormatException(file + ": label file must have 1 dimension, has "
                    + java.util.Arrays.toString(c.dims()));
        }
        int[] labels = new int[c.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = c.value(i);
            if (labels[i] >= classes) {
                throw new DataFormatException(file + ": label " + labels[i] + " of sample " + i
                        + " is not below the class count " + classes);
            }
        }
        return labels;
    }

    /** An image file and its label file as one data set; their sample counts must agree. */
    public static LabelledData readImagesAndLabels(Path images, Path labels, int classes) {
        Tensor x = readImages(images);
        int[] y = readLabels(labels, classes);
        if (x.dim(0) != y.length) {
            throw new DataFormatException(images + " holds " + x.dim(0) + " images but " + labels + " holds "
                    + y.length + " labels");
        }
        return new LabelledData(x, y, classes);
    }

    private static String hex(byte b) {
        return String.format("%02x", b & 0xff);
    }
}
