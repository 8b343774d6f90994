package io.evonas.nas.data;

import io.evonas.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Reader for numeric CSV files (gzipped or raw) with one label column: every other column is a float feature,
 * giving features {@code [N, F]}. Labels that are all non-negative integers are the class indices themselves
 * (classes = largest + 1); otherwise the distinct label strings, sorted, are numbered from 0. Empty lines are
 * skipped; a missing, non-numeric or non-finite value is an error naming the line and column.
 *
 * <pre>{@code
 * Csv.Table t = Csv.read(Path.of("iris.csv"), Csv.Options.labelColumn("species"));
 * LabelledData d = t.data();          // features [150, 4], 3 classes
 * List<String> names = t.classNames(); // [setosa, versicolor, virginica]
 * }</pre>
 */
public final class Csv {
    private Csv() {
    }

    /**
     * How to read a file: the label column by index (negative counts from the end) or, with a header, by name.
     */
    public record Options(int labelIndex, String labelName, boolean header, char delimiter) {
        public Options {
            if (labelName != null && !header) {
                throw new IllegalArgumentException("csv: a label column name needs a header line");
            }
        }

        /** Label in column {@code index} (-1: the last), no header, comma-separated. */
        public static Options labelIndex(int index) {
            return new Options(index, null, false, ',');
        }

        /** Label in the column named {@code name} of the header line, comma-separated. */
        public static Options labelColumn(String name) {
            return new Options(0, Objects.requireNonNull(name, "name"), true, ',');
        }

        public Options withHeader(boolean hasHeader) {
            return new Options(labelIndex, labelName, hasHeader, delimiter);
        }

        public Options withDelimiter(char d) {
            return new Options(labelIndex, labelName, header, d);
        }
    }

    /** The data and the name of each class index. */
    public record Table(LabelledData data, List<String> classNames, List<String> featureNames) {
    }

    /** Reads {@code file}. */
    public static Table read(Path file, Options options) {
        return parse(DataFiles.readAll(file), file.toString(), options);
    }

    /** Reads a stream named {@code name} in error messages. */
    public static Table read(InputStream in, String name, Options options) {
        try {
            return parse(DataFiles.readAll(in, name), name, options);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name + ": " + e.getMessage(), e);
        }
    }

    private static Table parse(byte[] bytes, String name, Options options) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        String[] lines = text.split("\r?\n");
        int line = 0;
        List<String> featureNames = new ArrayList<>();
        int columns = -1;
        int labelCol = -1;
        if (options.header()) {
            while (line < lines.length && lines[line].isBlank()) {
                line++;
            }
            if (line == lines.length) {
                throw new DataFormatException(name + ": no header line");
            }
            String[] head = split(lines[line], options.delimiter());
            columns = head.length;
            labelCol = resolveLabel(head, options, name);
            for (int c = 0; c < head.length; c++) {
                if (c != labelCol) {
                    featureNames.add(head[c].trim());
                }
            }
            line++;
        }
        List<float[]> rows = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (; line < lines.length; line++) {
            if (lines[line].isBlank()) {
                continue;
            }
            String[] cells = split(lines[line], options.delimiter());
            if (columns < 0) {
                columns = cells.length;
                labelCol = resolveLabel(null, options, name);
                labelCol = labelCol < 0 ? labelCol + columns : labelCol;
                if (labelCol < 0 || labelCol >= columns) {
                    throw new DataFormatException(name + ": label column " + options.labelIndex()
                            + " is outside the " + columns + " columns");
                }
            }
            if (cells.length != columns) {
                throw new DataFormatException(name + ": line " + (line + 1) + " has " + cells.length
                        + " columns, expected " + columns);
            }
            float[] row = new float[columns - 1];
            for (int c = 0, f = 0; c < columns; c++) {
                if (c == labelCol) {
                    continue;
                }
                row[f++] = parseValue(cells[c].trim(), name, line, c);
            }
            rows.add(row);
            labels.add(cells[labelCol].trim());
        }
        if (rows.isEmpty()) {
            throw new DataFormatException(name + ": no data rows");
        }
        if (featureNames.isEmpty()) {
            for (int c = 0; c < columns - 1; c++) {
                featureNames.add("x" + c);
            }
        }
        return assemble(rows, labels, featureNames);
    }

    private static Table assemble(List<float[]> rows, List<String> labels, List<String> featureNames) {
        int n = rows.size();
        int f = rows.getFirst().length;
        float[] x = new float[n * f];
        for (int i = 0; i < n; i++) {
            System.arraycopy(rows.get(i), 0, x, i * f, f);
        }
        int[] y = new int[n];
        List<String> classNames;
        if (labels.stream().allMatch(s -> s.matches("\\d{1,9}"))) {
            int max = 0;
            for (int i = 0; i < n; i++) {
                y[i] = Integer.parseInt(labels.get(i));
                max = Math.max(max, y[i]);
            }
            classNames = new ArrayList<>();
            for (int c = 0; c <= max; c++) {
                classNames.add(Integer.toString(c));
            }
        } else {
            TreeMap<String, Integer> index = new TreeMap<>();
            for (String s : new TreeSet<>(labels)) {
                index.put(s, index.size());
            }
            for (int i = 0; i < n; i++) {
                y[i] = index.get(labels.get(i));
            }
            classNames = List.copyOf(index.keySet());
        }
        return new Table(new LabelledData(Tensor.wrap(x, n, f), y, classNames.size()), List.copyOf(classNames),
                List.copyOf(featureNames));
    }

    private static int resolveLabel(String[] head, Options options, String name) {
        if (options.labelName() == null) {
            if (head == null) {
                return options.labelIndex();
            }
            int c = options.labelIndex() < 0 ? options.labelIndex() + head.length : options.labelIndex();
            if (c < 0 || c >= head.length) {
                throw new DataFormatException(name + ": label column " + options.labelIndex()
                        + " is outside the " + head.length + " columns");
            }
            return c;
        }
        for (int c = 0; c < head.length; c++) {
            if (head[c].trim().equals(options.labelName())) {
                return c;
            }
        }
        throw new DataFormatException(name + ": no column named '" + options.labelName() + "' in the header "
                + String.join(",", head));
    }

    private static float parseValue(String cell, String name, int line, int column) {
        float v;
        try {
            v = Float.parseFloat(cell);
        } catch (NumberFormatException e) {
            throw new DataFormatException(name + ": line " + (line + 1) + ", column " + (column + 1) + ": '"
                    + cell + "' is not a number");
        }
        if (!Float.isFinite(v)) {
            throw new DataFormatException(name + ": line " + (line + 1) + ", column " + (column + 1) + ": value "
                    + cell + " is not finite");
        }
        return v;
    }

    private static String[] split(String line, char delimiter) {
        return line.split(java.util.regex.Pattern.quote(String.valueOf(delimiter)), -1);
    }

    /** Parses CSV text held in memory (tests, embedded resources). */
    static Table parse(String text, String name, Options options) {
        return read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), name, options);
    }
}
