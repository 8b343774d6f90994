package io.evonas.nas.data;

import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/** Seed derivation and shuffling shared by the iterators; pure functions of their arguments. */
final class Seeds {
    private static final RandomGeneratorFactory<RandomGenerator> FACTORY =
            RandomGeneratorFactory.of("L64X128MixRandom");

    private Seeds() {
    }

    /** A fresh generator determined by {@code seed} alone (L64X128MixRandom). */
    static RandomGenerator generator(long seed) {
        return FACTORY.create(seed);
    }

    /** A seed determined by {@code (seed, index)}: distinct indices give unrelated seeds. */
    static long derive(long seed, long index) {
        return mix(mix(seed) + (index + 1) * 0x9E3779B97F4A7C15L);
    }

    /**
     * The next seed of {@code rng}, drawn while holding its lock, so iterables that share one generator draw
     * from it one at a time; which draw each gets follows the order of the calls.
     */
    static long draw(RandomGenerator rng) {
        synchronized (rng) {
            return rng.nextLong();
        }
    }

    /** A random permutation of {@code 0..n-1}: Fisher–Yates from the last position, {@code nextInt(i + 1)}. */
    static int[] permutation(int n, RandomGenerator rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** Stafford's variant 13 of the MurmurHash3 finaliser, as in {@code SplittableRandom}. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
