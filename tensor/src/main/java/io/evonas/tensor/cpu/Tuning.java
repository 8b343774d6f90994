package io.evonas.tensor.cpu;

/**
 * The kernels' tuning properties (block sizes and thresholds such as {@code -Devonas.sgemm.kc=1024}), read once when
 * their class initialises. A value that is not a whole number, or is below the least the kernels can work with, is
 * refused with an error naming the property, instead of being ignored or failing later as a division by zero.
 */
final class Tuning {
    private Tuning() {
    }

    /** The property {@code name} as an int of at least {@code least}, or {@code fallback} when it is not set. */
    static int integer(String name, int fallback, int least) {
        String value = System.getProperty(name);
        if (value == null) {
            return fallback;
        }
        int parsed;
        try {
            parsed = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + "=" + value + " is not a whole number (default "
                    + fallback + ")", e);
        }
        if (parsed < least) {
            throw new IllegalArgumentException("-D" + name + "=" + value + " must be at least " + least + " (default "
                    + fallback + ")");
        }
        return parsed;
    }
}
