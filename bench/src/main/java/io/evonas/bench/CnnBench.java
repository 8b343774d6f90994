package io.evonas.bench;

import java.util.Arrays;

/**
 * {@code bench/run cnn [batch] [threads...]}: training and inference throughput of the reference CNN
 * (torch_cnn.py's net) on random 1×28×28 input, SGD with momentum 0.9, batch norm in training mode while
 * training; prints {@code evonas threads=<t> batch=<b> train <x> img/s infer <y> img/s} as torch_cnn.py prints
 * its line, plus the heap in use after warm-up and after the timed steps.
 */
public final class CnnBench {
    private static final int STEPS = 30;
    private static final int ROUNDS = 5;

    private CnnBench() {
    }

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 128;
        int[] threads = args.length > 1 ? Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 2};
        for (int t : threads) {
            run(batch, t);
        }
    }

    private static void run(int batch, int threads) {
        CnnStepper net = new CnnStepper(threads, batch);
        int trainCode = 1 << 1;
        int inferCode = 1 << 1 | 1;
        for (int i = 0; i < 40; i++) {
            net.applyAsLong(trainCode);
            net.applyAsLong(inferCode);
        }
        long heapBefore = usedHeapAfterGc();
        double[] train = new double[ROUNDS];
        double[] infer = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            train[r] = (double) STEPS * batch / (net.applyAsLong(STEPS << 1) / 1e9);
            infer[r] = (double) STEPS * batch / (net.applyAsLong(STEPS << 1 | 1) / 1e9);
        }
        long heapAfter = usedHeapAfterGc();
        System.out.printf("evonas threads=%d batch=%d train %.0f img/s infer %.0f img/s%n", threads, batch,
                median(train), median(infer));
        System.out.printf("  heap in use after warm-up %.0f MB, after %d more steps %.0f MB%n", heapBefore / 1e6,
                ROUNDS * STEPS * 2, heapAfter / 1e6);
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
