package io.evonas.tensor.cpu;

/**
 * Large arrays an op hands back once it is done with them, for the next call of the same shape to reuse: the saved
 * state of the pooled batch norm ({@link BatchNormMaxPool.Saved}'s winners and their indices) after its backward
 * pass. A fresh array costs its zeroing, about 0.27 ms for the 2.8 MB of the reference CNN's first block at batch 128
 * (memory bound: the young generation is far larger than the caches), on the calling thread while the workers wait.
 * A taken array holds whatever its last user left: callers overwrite every element. A few arrays are kept, the
 * oldest given up first, and none longer than {@link #MAX_LENGTH}, so a search whose shapes keep changing holds no
 * more than 128 MB here.
 */
final class Recycler {
    /** Arrays kept at most. */
    static final int SLOTS = 8;
    /** The longest array kept (16 MB of floats): at most {@code SLOTS · MAX_LENGTH} elements are held. */
    static final int MAX_LENGTH = 1 << 22;
    private static final Object[] KEPT = new Object[SLOTS];
    private static int next;
    private static long reused;

    private Recycler() {
    }

    /** An {@code int[n]}, handed back earlier or new; its contents are undefined. */
    static int[] ints(int n) {
        return take(int[].class, n) instanceof int[] a ? a : new int[n];
    }

    /** A {@code float[n]}, handed back earlier or new; its contents are undefined. */
    static float[] floats(int n) {
        return take(float[].class, n) instanceof float[] a ? a : new float[n];
    }

    /** A kept array of {@code type} and length {@code n}, no longer kept; null when there is none. */
    private static synchronized Object take(Class<?> type, int n) {
        for (int i = 0; i < SLOTS; i++) {
            Object a = KEPT[i];
            if (a != null && a.getClass() == type && java.lang.reflect.Array.getLength(a) == n) {
                KEPT[i] = null;
                reused++;
                return a;
            }
        }
        return null;
    }

    /** Hands back an array (null is ignored) that its owner will not read or write again. */
    static synchronized void give(Object array) {
        if (array == null || java.lang.reflect.Array.getLength(array) > MAX_LENGTH) {
            return;
        }
        for (int i = 0; i < SLOTS; i++) {
            if (KEPT[i] == array) {
                throw new IllegalStateException("Recycler: an array was handed back twice");
            }
        }
        KEPT[next] = array;
        next = (next + 1) % SLOTS;
    }

    /** How many arrays have been taken again so far. */
    static synchronized long reused() {
        return reused;
    }
}
