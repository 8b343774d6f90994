package io.evonas.tensor;

import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * The fixed pool of worker threads the CPU kernels split their work over. {@link #forRange} partitions statically:
 * a region of {@code n} items is cut into {@code threads()} contiguous parts, the calling thread runs part 0 and each
 * worker one other part. {@link #forChunks} hands out chunks of a region as threads become free, for the kernels
 * whose threads would otherwise wait for the slowest (a core shared with another process, unequal items); the
 * kernels that add into per-thread partial sums keep one partial per chunk, so their results do not depend on which
 * thread ran what. Workers spin for up to 1 ms for the next region before parking (and the caller as long for the
 * workers before it parks), so the kernels of a training step, with the bookkeeping between them, hand off in
 * microseconds: with 50 µs the reference CNN trained 5–9% and inferred 8–12% slower on two threads (paired runs,
 * bench/README.md), waking parked threads between kernels. The system property {@code evonas.parallel.spin}
 * (microseconds, 0 to 10,000,000; anything else is ignored with a warning) overrides it; a pool with more threads
 * than processors waits at most 50 µs.
 * ({@link java.util.concurrent.ForkJoinPool#commonPool()} has a single worker on a 2-core machine, hence a pool of
 * our own.)
 *
 * <p>The thread count defaults to the system property {@code evonas.threads}, else the number of processors.
 * A region started while another runs (from a kernel inside a region, or from a second application thread) runs
 * on its caller alone, so nesting is safe.
 */
public final class Parallel {
    /** Work on items {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /** How long a worker waits for the next region, and the caller for the workers, before parking. */
    private static final long SPIN_NANOS = 1000L * wholeProperty("evonas.parallel.spin", 0, 10_000_000,
            "a whole number of microseconds from 0 to 10000000", "1000").orElse(1000);
    /**
     * The wait before parking when the pool has more threads than the machine has processors: spinning threads
     * would then take the processors the working ones need.
     */
    private static final long OVERSUBSCRIBED_SPIN_NANOS = Math.min(SPIN_NANOS, 50_000);
    /**
     * Whether {@link #forChunks} hands out chunks as threads become free (the default) or splits its range into
     * {@link #forRange}'s equal parts: the system property {@code evonas.parallel.chunks}, for comparing the two.
     */
    private static final boolean CHUNKS = Boolean.parseBoolean(System.getProperty("evonas.parallel.chunks", "true"));
    private static final ReentrantLock REGION = new ReentrantLock();
    private static volatile Pool pool = new Pool(defaultThreads());

    private Parallel() {
    }

    /** The number of threads regions use, the caller included. */
    public static int threads() {
        return pool.size();
    }

    /**
     * Sets the number of threads (at least 1); replaces the worker pool, waiting for a running region to end.
     *
     * @throws IllegalStateException when called from inside a region, which would wait for itself
     */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("setThreads: thread count " + threads + " must be at least 1");
        }
        if (REGION.isHeldByCurrentThread() || Thread.currentThread() instanceof Worker) {
            throw new IllegalStateException("setThreads(" + threads + "): called from inside a parallel region");
        }
        REGION.lock();
        try {
            if (threads != pool.size()) {
                pool.shutdown();
                pool = new Pool(threads);
            }
        } finally {
            REGION.unlock();
        }
    }

    /** Runs {@code task} over {@code [0, n)} split into at most {@code threads()} contiguous parts. */
    public static void forRange(int n, RangeTask task) {
        forRange(n, 1, task);
    }

    /**
     * Runs {@code task} over {@code [0, n)} in at most {@code threads()} contiguous parts of at least {@code grain}
     * items each (fewer parts when {@code n} is small), so tiny regions stay on the calling thread.
     */
    public static void forRange(int n, int grain, RangeTask task) {
        if (n <= 0) {
            return;
        }
        int maxParts = Math.max(1, n / Math.max(1, grain));
        region(n, maxParts, task, (p, parts) -> p.run(n, parts, task));
    }

    /** What a region runs on the pool, in {@code parts} parts (at least two). */
    private interface OnPool {
        void run(Pool p, int parts);
    }

    /**
     * Runs {@code onPool} on the pool in at most {@code maxParts} parts, or {@code task.run(0, n)} on the calling
     * thread when there is one part, one thread, or the region would nest or meet another caller's.
     */
    private static void region(int n, int maxParts, RangeTask task, OnPool onPool) {
        // the region lock is re-entrant: a nested region on the caller's thread must also run inline
        if (maxParts == 1 || pool.size() == 1 || REGION.isHeldByCurrentThread() || !REGION.tryLock()) {
            task.run(0, n);
            return;
        }
        try {
            Pool p = pool;
            int parts = Math.min(p.size(), maxParts);
            if (parts == 1) {
                task.run(0, n);
            } else {
                onPool.run(p, parts);
            }
        } finally {
            REGION.unlock();
        }
    }

    /**
     * Runs {@code task} over {@code [0, n)} cut into chunks of {@code chunk} items (the last may be shorter), which
     * the threads claim in order as they become free: {@code task} runs once per chunk, never twice at once on one
     * thread. Where the items take unequal time, or one thread runs slower than the others (another process on its
     * core), the threads still finish together, within one chunk; with {@link #forRange}'s equal parts the others
     * wait for the slowest. Which thread runs a chunk varies from run to run, so a task that adds into per-thread
     * state must keep it per chunk instead to stay reproducible. On one thread (or inside a region) the whole
     * range is one call, {@code task.run(0, n)}.
     *
     * @throws IllegalArgumentException when {@code chunk < 1}
     */
    public static void forChunks(int n, int chunk, RangeTask task) {
        if (chunk < 1) {
            throw new IllegalArgumentException("forChunks: chunk " + chunk + " must be at least 1");
        }
        if (n <= 0) {
            return;
        }
        int chunks = (int) (((long) n + chunk - 1) / chunk);
        if (!CHUNKS) {
            forRange(n, chunk, task);
            return;
        }
        region(n, chunks, task, (p, parts) -> {
            AtomicInteger next = new AtomicInteger();
            p.run(chunks, parts, (from, to) -> {
                for (int c; (c = next.getAndIncrement()) < chunks; ) {
                    task.run(c * chunk, (int) Math.min(n, (long) (c + 1) * chunk));
                }
            });
        });
    }

    /**
     * Chunks a thread that the kernels' {@link #forChunks} regions aim for: enough that a slower thread leaves the
     * others at most an eighth of its share to wait for, few enough that a chunk's setup does not count.
     */
    public static final int CHUNKS_A_THREAD = 8;

    /** {@link #chunkFor(int, int, int)} with {@link #CHUNKS_A_THREAD} chunks a thread. */
    public static int chunkFor(int n, int least) {
        return chunkFor(n, CHUNKS_A_THREAD, least);
    }

    /**
     * The chunk size for {@link #forChunks} that cuts {@code n} items into about {@code perThread} chunks a thread,
     * of at least {@code least} items each.
     */
    public static int chunkFor(int n, int perThread, int least) {
        int chunks = Math.max(1, threads() * Math.max(1, perThread));
        return Math.max(Math.max(1, least), (n + chunks - 1) / chunks);
    }

    /** Runs {@code body.accept(i)} for every {@code i} in {@code [0, n)}, parts as in {@link #forRange}. */
    public static void forEach(int n, IntConsumer body) {
        forRange(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
        });
    }

    private static int defaultThreads() {
        return (int) wholeProperty("evonas.threads", 1, 1 << 16, "a positive integer", "the processor count")
                .orElse(Runtime.getRuntime().availableProcessors());
    }

    /**
     * The system property {@code name} as a whole number in {@code [least, most]}; empty when it is not set, and
     * empty with a warning naming it when it is set to anything else ({@code wanted} says what it must be,
     * {@code fallback} what is used instead): a setting read once at start-up that must not stop the program.
     */
    static OptionalLong wholeProperty(String name, long least, long most, String wanted, String fallback) {
        String p = System.getProperty(name);
        if (p == null) {
            return OptionalLong.empty();
        }
        try {
            long v = Long.parseLong(p.trim());
            if (v >= least && v <= most) {
                return OptionalLong.of(v);
            }
        } catch (NumberFormatException e) {
            // warned below
        }
        System.getLogger(Parallel.class.getName()).log(System.Logger.Level.WARNING,
                name + "=" + p + " is not " + wanted + "; using " + fallback);
        return OptionalLong.empty();
    }

    /** One region: immutable once published through {@link Pool#job}. */
    private static final class Job {
        final int n;
        final int parts;
        final RangeTask task;
        final Thread waiter;
        final AtomicInteger remaining;
        volatile Throwable failure;

        Job(int n, int parts, RangeTask task, Thread waiter) {
            this.n = n;
            this.parts = parts;
            this.task = task;
            this.waiter = waiter;
            this.remaining = new AtomicInteger(parts - 1);
        }

        void work(int index) {
            try {
                task.run((int) ((long) n * index / parts), (int) ((long) n * (index + 1) / parts));
            } catch (Throwable t) {
                failure = t;
            } finally {
                if (remaining.decrementAndGet() == 0) {
                    LockSupport.unpark(waiter);
                }
            }
        }
    }

    /** Worker threads 1..size-1; the caller is thread 0. */
    private static final class Pool {
        private final Worker[] workers;
        private final long spinNanos;
        private volatile Job job;
        private volatile boolean stopped;

        Pool(int size) {
            spinNanos = size <= Runtime.getRuntime().availableProcessors() ? SPIN_NANOS : OVERSUBSCRIBED_SPIN_NANOS;
            workers = new Worker[size - 1];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(this, i + 1);
                workers[i].start();
            }
        }

        int size() {
            return workers.length + 1;
        }

        void run(int n, int parts, RangeTask task) {
            Job j = new Job(n, parts, task, Thread.currentThread());
            job = j;
            for (int i = 0; i < parts - 1; i++) {
                LockSupport.unpark(workers[i]);
            }
            Throwable failure = null;
            try {
                task.run(0, (int) ((long) n / parts));
            } catch (Throwable t) {
                failure = t;
            }
            long start = System.nanoTime();
            while (j.remaining.get() != 0) {
                if (System.nanoTime() - start < spinNanos) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, 100_000);
                }
            }
            if (failure == null) {
                failure = j.failure;
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
        }

        void shutdown() {
            stopped = true;
            for (Worker w : workers) {
                LockSupport.unpark(w);
            }
        }
    }

    private static final class Worker extends Thread {
        private final Pool pool;
        private final int index;

        Worker(Pool pool, int index) {
            super("evonas-worker-" + index);
            this.pool = pool;
            this.index = index;
            setDaemon(true);
        }

        @Override
        public void run() {
            Job seen = null; // not pool.job: a region may have been published before this thread started
            while (true) {
                long start = System.nanoTime();
                Job j;
                while ((j = pool.job) == seen && !pool.stopped) {
                    if (System.nanoTime() - start < pool.spinNanos) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.park(pool);
                    }
                }
                if (pool.stopped) {
                    return;
                }
                seen = j;
                if (index < j.parts) {
                    j.work(index);
                }
            }
        }
    }
}
