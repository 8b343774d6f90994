package io.evonas.nas.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The UCI optical handwritten digits, embedded: 1,797 images of 8×8 pixels, 10 classes (E. Alpaydin and
 * C. Kaynak, UCI Machine Learning Repository, CC BY 4.0; the copy scikit-learn distributes). The default data
 * set of the main job, so that a run needs no download.
 */
public final class Digits {
    private static final String RESOURCE = "digits.csv.gz";

    private Digits() {
    }

    /** All 1,797 samples: features {@code [1797, 1, 8, 8]} scaled from 0..16 to [0, 1], labels 0..9. */
    public static LabelledData load() {
        try (InputStream in = Digits.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the embedded digits data set " + RESOURCE + " is missing from "
                        + "the class path");
            }
            LabelledData flat = Csv.read(in, RESOURCE, Csv.Options.labelIndex(-1)).data();
            float[] x = flat.features().toArray();
            for (int i = 0; i < x.length; i++) {
                x[i] /= 16f;
            }
            return new LabelledData(io.evonas.tensor.Tensor.wrap(x, flat.size(), 1, 8, 8), flat.labels(),
                    flat.classes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the embedded digits data set: " + e.getMessage(), e);
        }
    }
}
