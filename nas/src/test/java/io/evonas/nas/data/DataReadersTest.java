package io.evonas.nas.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.evonas.tensor.Shape;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataReadersTest {
    @TempDir
    Path dir;

    private static byte[] idx(int[] dims, byte[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + values.length);
        b.put((byte) 0).put((byte) 0).put((byte) 0x08).put((byte) dims.length);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(values);
        return b.array();
    }

    private static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(raw);
        }
        return out.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void idxImagesAndLabelsRawAndGzipped() throws IOException {
        byte[] pixels = new byte[2 * 3 * 2];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 20);
        }
        pixels[11] = (byte) 255;
        Path images = write("img.gz", gzip(idx(new int[] {2, 3, 2}, pixels)));
        Path labels = write("lab", idx(new int[] {2}, new byte[] {7, 3}));
        LabelledData d = Idx.readImagesAndLabels(images, labels, 10);
        assertEquals(Shape.of(2, 1, 3, 2), d.features().shape());
        assertArrayEquals(new int[] {7, 3}, d.labels());
        assertEquals(20 / 255f, d.features().get(0, 0, 0, 1), 1e-7);
        assertEquals(1f, d.features().get(1, 0, 2, 1));
    }

    @Test
    void corruptIdxFilesNameTheFileAndTheProblem() throws IOException {
        Path truncated = write("short.idx", Arrays.copyOf(idx(new int[] {4, 2, 2}, new byte[16]), 20));
        var e = assertThrows(DataFormatException.class, () -> Idx.readImages(truncated));
        assertTrue(e.getMessage().contains("short.idx") && e.getMessage().contains("truncated"), e.getMessage());

        byte[] bad = idx(new int[] {2}, new byte[2]);
        bad[0] = 0x50;
        Path magic = write("magic.idx", bad);
        e = assertThrows(DataFormatException.class, () -> Idx.read(magic));
        assertTrue(e.getMessage().contains("not an IDX file"), e.getMessage());

        byte[] gz = gzip(idx(new int[] {100}, new byte[100]));
        Path cut = write("cut.gz", Arrays.copyOf(gz, gz.length / 2));
        e = assertThrows(DataFormatException.class, () -> Idx.read(cut));
        assertTrue(e.getMessage().contains("cut.gz"), e.getMessage());

        Path labels = write("labels.idx", idx(new int[] {3}, new byte[] {1, 12, 2}));
        e = assertThrows(DataFormatException.class, () -> Idx.readLabels(labels, 10));
        assertTrue(e.getMessage().contains("label 12 of sample 1"), e.getMessage());

        Path images = write("images.idx", idx(new int[] {2, 1, 1}, new byte[2]));
        Path three = write("three.idx", idx(new int[] {3}, new byte[3]));
        e = assertThrows(DataFormatException.class, () -> Idx.readImagesAndLabels(images, three, 10));
        assertTrue(e.getMessage().contains("2 images") && e.getMessage().contains("3 labels"), e.getMessage());
    }

    @Test
    void cifar10RecordsArePlanarRgb() throws IOException {
        byte[] file = new byte[2 * Cifar10.RECORD];
        file[0] = 4;
        file[1] = (byte) 255;
        file[1 + 1024] = (byte) 51;
        file[Cifar10.RECORD] = 9;
        file[Cifar10.RECORD + 1 + 2048 + 1023] = (byte) 102;
        LabelledData d = Cifar10.read(write("data_batch_1.bin", file));
        assertEquals(Shape.of(2, 3, 32, 32), d.features().shape());
        assertArrayEquals(new int[] {4, 9}, d.labels());
        assertEquals(1f, d.features().get(0, 0, 0, 0));
        assertEquals(0.2f, d.features().get(0, 1, 0, 0), 1e-7);
        assertEquals(0.4f, d.features().get(1, 2, 31, 31), 1e-7);

        Path cut = write("cut.bin", Arrays.copyOf(file, file.length - 5));
        var e = assertThrows(DataFormatException.class, () -> Cifar10.read(cut));
        assertTrue(e.getMessage().contains("cut.bin") && e.getMessage().contains("3073"), e.getMessage());
        file[0] = 10;
        Path badLabel = write("bad.bin", file);
        e = assertThrows(DataFormatException.class, () -> Cifar10.read(badLabel));
        assertTrue(e.getMessage().contains("record 0 has label 10"), e.getMessage());
    }

    @Test
    void csvWithNamedStringLabels() {
        String text = "a,species,b\n1.5,virginica,2\n\n-3,setosa,4e-1\n0,virginica,1\n";
        Csv.Table t = Csv.parse(text, "iris.csv", Csv.Options.labelColumn("species"));
        assertEquals(List.of("setosa", "virginica"), t.classNames());
        assertEquals(List.of("a", "b"), t.featureNames());
        assertEquals(Shape.of(3, 2), t.data().features().shape());
        assertArrayEquals(new float[] {1.5f, 2, -3, 0.4f, 0, 1}, t.data().features().toArray());
        assertArrayEquals(new int[] {1, 0, 1}, t.data().labels());
    }

    @Test
    void csvWithIntegerLabelsInTheLastColumn() {
        Csv.Table t = Csv.parse("1,2,3\n4,5,0\n", "x.csv", Csv.Options.labelIndex(-1));
        assertArrayEquals(new int[] {3, 0}, t.data().labels());
        assertEquals(4, t.data().classes());
        assertArrayEquals(new float[] {1, 2, 4, 5}, t.data().features().toArray());
    }

    @Test
    void badCsvNamesLineAndColumn() {
        var e = assertThrows(DataFormatException.class,
                () -> Csv.parse("1,2,0\n1,x,1\n", "f.csv", Csv.Options.labelIndex(-1)));
        assertTrue(e.getMessage().contains("f.csv: line 2, column 2") && e.getMessage().contains("'x'"),
                e.getMessage());
        e = assertThrows(DataFormatException.class,
                () -> Csv.parse("1,2,0\n1,NaN,1\n", "f.csv", Csv.Options.labelIndex(-1)));
        assertTrue(e.getMessage().contains("not finite"), e.getMessage());
        e = assertThrows(DataFormatException.class,
                () -> Csv.parse("1,2,0\n1,1\n", "f.csv", Csv.Options.labelIndex(-1)));
        assertTrue(e.getMessage().contains("line 2 has 2 columns, expected 3"), e.getMessage());
        e = assertThrows(DataFormatException.class,
                () -> Csv.parse("a,b\n1,2\n", "f.csv", Csv.Options.labelColumn("label")));
        assertTrue(e.getMessage().contains("no column named 'label'"), e.getMessage());
        e = assertThrows(DataFormatException.class, () -> Csv.parse("\n", "f.csv", Csv.Options.labelIndex(0)));
        assertTrue(e.getMessage().contains("no data rows"), e.getMessage());
    }

    @Test
    void embeddedDigitsAreTheUciSet() {
        LabelledData d = Digits.load();
        assertEquals(Shape.of(1797, 1, 8, 8), d.features().shape());
        assertEquals(10, d.classes());
        int[] counts = d.classCounts();
        assertEquals(1797, Arrays.stream(counts).sum());
        for (int c : counts) {
            assertTrue(c >= 170 && c <= 185, "class count " + c);
        }
        // First row of the file: 0,0,5,13,9,1,0,0,... label 0.
        assertEquals(0, d.labels()[0]);
        assertEquals(5 / 16f, d.features().get(0, 0, 0, 2), 1e-7);
        assertEquals(13 / 16f, d.features().get(0, 0, 0, 3), 1e-7);
        for (float v : d.features().toArray()) {
            assertTrue(v >= 0 && v <= 1, "pixel " + v);
        }
    }

    @Test
    void selectCopiesSamplesInOrder() {
        LabelledData d = Digits.load();
        LabelledData s = d.select(new int[] {5, 0});
        assertEquals(Shape.of(2, 1, 8, 8), s.features().shape());
        assertArrayEquals(new int[] {d.labels()[5], d.labels()[0]}, s.labels());
        assertEquals(d.features().get(5, 0, 3, 4), s.features().get(0, 0, 3, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> d.select(new int[] {1797}));
    }
}
