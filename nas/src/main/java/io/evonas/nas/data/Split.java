package io.evonas.nas.data;

import java.util.Arrays;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * A data set divided into a training and a validation part. The validation part has
 * {@code ceil(fraction * N)} samples (as NaiveGAflux's {@code TrainSplitAccuracy}); both parts must be non-empty.
 * Within each part the samples keep their order in the data set.
 *
 * <pre>{@code
 * Split s = Split.trainValidation(data, 0.1, rng);   // stratified: each class split 90/10
 * Iterable<Batch> train = BatchIterator.of(s.train(), 64).withShuffle(rng);
 * }</pre>
 */
public record Split(LabelledData train, LabelledData validation) {
    public Split {
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(validation, "validation");
    }

    /**
     * A stratified random split: each class gives the validation part its share of the
     * {@code ceil(fraction * N)} validation samples ({@code validation * count_c / N}, rounded by largest remainder,
     * ties to the lower class), chosen at random within the class.
     *
     * @throws IllegalArgumentException if {@code fraction} is not in (0, 1) or a part would be empty
     */
    public static Split trainValidation(LabelledData data, double fraction, RandomGenerator rng) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(rng, "rng");
        int n = data.size();
        int validation = validationCount(n, fraction);
        int[] counts = data.classCounts();
        int[] quota = quotas(counts, n, validation);
        int[][] members = new int[counts.length][];
        int[] filled = new int[counts.length];
        for (int c = 0; c < counts.length; c++) {
            members[c] = new int[counts[c]];
        }
        int[] labels = data.labels();
        for (int i = 0; i < n; i++) {
            members[labels[i]][filled[labels[i]]++] = i;
        }
        boolean[] chosen = new boolean[n];
        for (int c = 0; c < counts.length; c++) {
            choose(members[c], quota[c], rng, chosen);
        }
        return parts(data, chosen, validation);
    }

    /**
     * A plain random split, ignoring the classes: {@code ceil(fraction * N)} samples chosen uniformly at random.
     *
     * @throws IllegalArgumentException if {@code fraction} is not in (0, 1) or a part would be empty
     */
    public static Split trainValidationUnstratified(LabelledData data, double fraction, RandomGenerator rng) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(rng, "rng");
        int n = data.size();
        int validation = validationCount(n, fraction);
        int[] all = new int[n];
        for (int i = 0; i < n; i++) {
            all[i] = i;
        }
        boolean[] chosen = new boolean[n];
        choose(all, validation, rng, chosen);
        return parts(data, chosen, validation);
    }

    /**
     * The last {@code ceil(fraction * N)} samples for validation, the rest for training, without shuffling
     * (NaiveGAflux's {@code TrainSplitAccuracy}); both parts are views of the data set's features.
     *
     * @throws IllegalArgumentException if {@code fraction} is not in (0, 1) or a part would be empty
     */
    public static Split tail(LabelledData data, double fraction) {
        Objects.requireNonNull(data, "data");
        int n = data.size();
        int cut = n - validationCount(n, fraction);
        int[] labels = data.labels();
        return new Split(
                new LabelledData(data.features().slice(0, cut), Arrays.copyOfRange(labels, 0, cut), data.classes()),
                new LabelledData(data.features().slice(cut, n), Arrays.copyOfRange(labels, cut, n), data.classes()));
    }

    /** {@code ceil(fraction * n)}, forgiving the rounding error of the product, checked to leave both parts. */
    static int validationCount(int n, double fraction) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new IllegalArgumentException("split: validation fraction " + fraction + " must be in (0, 1)");
        }
        double exact = fraction * n;
        int validation = (int) Math.ceil(exact - Math.ulp(exact) * 4);
        if (validation < 1 || validation >= n) {
            throw new IllegalArgumentException("split: validation fraction " + fraction + " of " + n
                    + " samples gives " + validation + " validation and " + (n - validation)
                    + " training samples; both must be at least 1");
        }
        return validation;
    }

    /** Largest-remainder apportionment of {@code total} over classes in proportion to {@code counts}. */
    private static int[] quotas(int[] counts, int n, int total) {
        int k = counts.length;
        int[] quota = new int[k];
        long[] remainder = new long[k];
        int given = 0;
        for (int c = 0; c < k; c++) {
            long share = (long) total * counts[c];
            quota[c] = (int) (share / n);
            remainder[c] = share % n;
            given += quota[c];
        }
        for (; given < total; given++) {
            int best = -1;
            for (int c = 0; c < k; c++) {
                if (remainder[c] > 0 && (best < 0 || remainder[c] > remainder[best])) {
                    best = c;
                }
            }
            quota[best]++;
            remainder[best] = 0;
        }
        return quota;
    }

    /** Marks {@code count} of {@code candidates} at random: the head of a partial Fisher–Yates shuffle. */
    private static void choose(int[] candidates, int count, RandomGenerator rng, boolean[] chosen) {
        int[] c = candidates.clone();
        for (int i = 0; i < count; i++) {
            int j = i + rng.nextInt(c.length - i);
            int t = c[i];
            c[i] = c[j];
            c[j] = t;
            chosen[c[i]] = true;
        }
    }

    private static Split parts(LabelledData data, boolean[] chosen, int validation) {
        int n = chosen.length;
        int[] train = new int[n - validation];
        int[] valid = new int[validation];
        int t = 0;
        int v = 0;
        for (int i = 0; i < n; i++) {
            if (chosen[i]) {
                valid[v++] = i;
            } else {
                train[t++] = i;
            }
        }
        return new Split(data.select(train), data.select(valid));
    }
}
