package io.evonas.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    private static final Duration LIMIT = Duration.ofSeconds(20);
    private final int savedThreads = Parallel.threads();

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(savedThreads);
    }

    private static void assertEachOnce(String what, AtomicIntegerArray hits) {
        for (int i = 0; i < hits.length(); i++) {
            assertEquals(1, hits.get(i), what + ": item " + i + " ran " + hits.get(i) + " times");
        }
    }

    @Test
    void everyItemRunsExactlyOnce() {
        assertTimeoutPreemptively(LIMIT, () -> {
            for (int threads : new int[] {1, 2, 3, 5}) {
                Parallel.setThreads(threads);
                assertEquals(threads, Parallel.threads());
                for (int n : new int[] {0, 1, 2, 3, 7, 100, 1001}) {
                    for (int grain : new int[] {1, 4, 1000}) {
                        for (int rep = 0; rep < 20; rep++) {
                            AtomicIntegerArray hits = new AtomicIntegerArray(n);
                            Parallel.forRange(n, grain, (from, to) -> {
                                assertTrue(0 <= from && from < to && to <= n, from + ".." + to + " of " + n);
                                for (int i = from; i < to; i++) {
                                    hits.incrementAndGet(i);
                                }
                            });
                            assertEachOnce("forRange threads=" + threads + " n=" + n + " grain=" + grain, hits);
                        }
                    }
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    Parallel.forEach(n, hits::incrementAndGet);
                    assertEachOnce("forEach threads=" + threads + " n=" + n, hits);
                }
            }
        });
    }

    @Test
    void chunksCoverTheRangeOnceEachOfTheirSize() {
        assertTimeoutPreemptively(LIMIT, () -> {
            for (int threads : new int[] {1, 2, 3}) {
                Parallel.setThreads(threads);
                for (int n : new int[] {0, 1, 5, 64, 1001}) {
                    for (int chunk : new int[] {1, 3, 64, 5000}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        AtomicInteger calls = new AtomicInteger();
                        Parallel.forChunks(n, chunk, (from, to) -> {
                            calls.incrementAndGet();
                            assertTrue(0 <= from && from < to && to <= n, from + ".." + to + " of " + n);
                            if (threads > 1) {
                                // on several threads each call is one chunk: it starts on a chunk boundary and is
                                // chunk long unless it ends the range
                                assertEquals(0, from % chunk, "chunk start " + from);
                                assertTrue(to - from == chunk || to == n, from + ".." + to + " chunk " + chunk);
                            }
                            for (int i = from; i < to; i++) {
                                hits.incrementAndGet(i);
                            }
                        });
                        String what = "forChunks threads=" + threads + " n=" + n + " chunk=" + chunk;
                        assertEachOnce(what, hits);
                        int expected = n == 0 ? 0 : threads == 1 ? 1 : (n + chunk - 1) / chunk;
                        assertEquals(expected, calls.get(), what + ": calls");
                    }
                }
            }
            var e = assertThrows(IllegalArgumentException.class, () -> Parallel.forChunks(10, 0, (f, t) -> { }));
            assertTrue(e.getMessage().contains("forChunks") && e.getMessage().contains("chunk 0"), e.getMessage());
        });
    }

    @Test
    void aFreeThreadTakesTheChunksASlowOneWouldHaveHad() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            // whichever thread claims chunk 0 stalls on it: the other claims the rest meanwhile
            Map<Thread, AtomicInteger> perThread = new ConcurrentHashMap<>();
            Thread[] stalled = new Thread[1];
            Parallel.forChunks(20, 1, (from, to) -> {
                perThread.computeIfAbsent(Thread.currentThread(), t -> new AtomicInteger()).incrementAndGet();
                if (from == 0) {
                    stalled[0] = Thread.currentThread();
                    LockSupport.parkNanos(200_000_000L);
                }
            });
            int byStalled = perThread.get(stalled[0]).get();
            assertTrue(byStalled < 10, "the stalled thread ran " + byStalled + " of 20 chunks: " + perThread);
            assertEquals(20, perThread.values().stream().mapToInt(AtomicInteger::get).sum());
        });
    }

    @Test
    void chunkForCutsAboutSoManyChunksAThread() {
        Parallel.setThreads(2);
        assertEquals(8, Parallel.chunkFor(128, 8, 1));
        assertEquals(16, Parallel.chunkFor(128, 4, 1));
        assertEquals(100, Parallel.chunkFor(128, 8, 100), "at least the least size");
        assertEquals(1, Parallel.chunkFor(3, 8, 1));
        assertEquals(1, Parallel.chunkFor(0, 8, 0));
    }

    @Test
    void chunksPropagateFailuresAndRunInlineWhenNested() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            var e = assertThrows(IllegalStateException.class, () -> Parallel.forChunks(40, 2, (from, to) -> {
                if (from == 20) {
                    throw new IllegalStateException("chunk 20");
                }
            }));
            assertEquals("chunk 20", e.getMessage());
            AtomicIntegerArray hits = new AtomicIntegerArray(64);
            Parallel.forChunks(8, 1, (from, to) -> {
                Thread outer = Thread.currentThread();
                Parallel.forChunks(8, 1, (f, t) -> {
                    assertSame(outer, Thread.currentThread(), "nested chunks left their caller");
                    assertEquals(0, f);
                    assertEquals(8, t);
                    for (int i = f; i < t; i++) {
                        hits.incrementAndGet(from * 8 + i);
                    }
                });
            });
            assertEachOnce("nested chunks", hits);
        });
    }

    @Test
    void workIsSharedWithWorkers() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            for (int rep = 0; rep < 50 && seen.size() < 2; rep++) {
                Parallel.forRange(2, (from, to) -> seen.add(Thread.currentThread()));
            }
            assertEquals(2, seen.size(), "two parts should run on two threads");
        });
    }

    @Test
    void exceptionsPropagateAndThePoolSurvives() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            for (int failing : new int[] {0, 1}) {
                var e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(2, (from, to) -> {
                    if (from == failing) {
                        throw new IllegalStateException("part " + failing);
                    }
                }));
                assertEquals("part " + failing, e.getMessage());
            }
            AssertionError err = new AssertionError("boom");
            assertSame(err, assertThrows(AssertionError.class, () -> Parallel.forRange(10, (from, to) -> {
                throw err;
            })));
            AtomicIntegerArray hits = new AtomicIntegerArray(50);
            Parallel.forEach(50, hits::incrementAndGet);
            assertEachOnce("after failures", hits);
        });
    }

    @Test
    void nestedRegionsRunOnTheirCaller() {
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            for (int rep = 0; rep < 100; rep++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(64);
                Parallel.forRange(8, (from, to) -> {
                    for (int outer = from; outer < to; outer++) {
                        int base = outer * 8;
                        Thread caller = Thread.currentThread();
                        Parallel.forRange(8, (f, t) -> {
                            assertSame(caller, Thread.currentThread(), "nested region left its caller");
                            for (int i = f; i < t; i++) {
                                hits.incrementAndGet(base + i);
                            }
                        });
                    }
                });
                assertEachOnce("nested", hits);
            }
        });
    }

    @Test
    void regionsFromSeveralApplicationThreads() throws Exception {
        Parallel.setThreads(2);
        ExecutorService callers = Executors.newFixedThreadPool(3);
        try {
            List<Future<AtomicIntegerArray>> results = new ArrayList<>();
            for (int c = 0; c < 30; c++) {
                int n = 100 + c;
                results.add(callers.submit(() -> {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    Parallel.forEach(n, hits::incrementAndGet);
                    return hits;
                }));
            }
            for (Future<AtomicIntegerArray> f : results) {
                assertEachOnce("concurrent", f.get(LIMIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS));
            }
        } finally {
            callers.shutdownNow();
        }
    }

    @Test
    void setThreadsValidates() {
        var e = assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertTrue(e.getMessage().contains("setThreads") && e.getMessage().contains("0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(-3));
        assertTimeoutPreemptively(LIMIT, () -> {
            Parallel.setThreads(2);
            for (int part : new int[] {0, 1}) {
                var inside = assertThrows(IllegalStateException.class, () -> Parallel.forRange(2, (from, to) -> {
                    if (from == part) {
                        Parallel.setThreads(3);
                    }
                }));
                assertTrue(inside.getMessage().contains("inside a parallel region"), inside.getMessage());
            }
            assertEquals(2, Parallel.threads());
        });
    }
    @Test
    void aStartUpPropertyOutOfRangeOrNotANumberIsIgnoredWithAWarningNamingIt() {
        String name = "evonas.test.parallel";
        List<String> warnings = new ArrayList<>();
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(Parallel.class.getName());
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord r) {
                warnings.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(handler);
        try {
            assertTrue(Parallel.wholeProperty(name, 0, 100, "a number", "10").isEmpty(), "unset");
            System.setProperty(name, " 25 ");
            assertEquals(25, Parallel.wholeProperty(name, 0, 100, "a number", "10").getAsLong());
            assertTrue(warnings.isEmpty(), warnings.toString());
            for (String bad : new String[] {"-1", "101", "fast"}) {
                System.setProperty(name, bad);
                assertTrue(Parallel.wholeProperty(name, 0, 100, "from 0 to 100", "10").isEmpty(), bad);
            }
            assertEquals(List.of(name + "=-1 is not from 0 to 100; using 10",
                    name + "=101 is not from 0 to 100; using 10",
                    name + "=fast is not from 0 to 100; using 10"), warnings);
        } finally {
            log.removeHandler(handler);
            System.clearProperty(name);
        }
    }
}
