package io.evonas.tensor.cpu;

import static io.evonas.tensor.cpu.SgemmKernel.MR;
import static io.evonas.tensor.cpu.SgemmKernel.NR;

import io.evonas.tensor.Parallel;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.BooleanSupplier;

/**
 * The blocked SGEMM on one thread (BLIS-style loops around {@link SgemmKernel}). For each block of at most
 * {@code MC} rows and each block of at most {@code KC} steps, all of that A block is packed once; then B is packed
 * {@code NC} columns at a time and every tile against it is computed row panel by row panel: the A micro-panel
 * (14 × kc, 28 KB) stays in L1 while the B micro-panels of the block stream from L2. A large {@code KC} matters
 * most (C is read and written once per step block, and Java has no software prefetch). With row-major B and at
 * most {@code DIRECT_K} steps, B is read in place instead of packed.
 *
 * <p>The block sizes can be overridden for experiments with the system properties {@code evonas.sgemm.kc},
 * {@code .mc}, {@code .nc} and {@code .directk} (see bench/README.md for what was measured).
 */
final class SgemmBlocked {
    static final int KC = Tuning.integer("evonas.sgemm.kc", 512, 1);
    static final int MC = Tuning.integer("evonas.sgemm.mc", 2048, 1);
    static final int NC = Tuning.integer("evonas.sgemm.nc", 256, 1);
    /** Columns of the blocks that {@link #runClaimed} hands out. */
    static final int CLAIM_NC = Tuning.integer("evonas.sgemm.claimnc", 128, 1);
    /** Whether wide products on several threads hand out column blocks ({@link #runClaimed}) or split statically. */
    static final boolean CLAIM = Boolean.parseBoolean(System.getProperty("evonas.sgemm.claim", "true"));
    /** Whether products of one row and step block on several threads pack A once between them ({@link #runSharedA}). */
    static final boolean SHARE_A = Boolean.parseBoolean(System.getProperty("evonas.sgemm.sharea", "true"));
    /** Largest k for which row-major B is read in place rather than packed. */
    static final int DIRECT_K = Tuning.integer("evonas.sgemm.directk", 16, 0);

    private SgemmBlocked() {
    }

    /** {@code C = alpha·op(A)·op(B) + beta·C} for arguments already checked, {@code m, n, k > 0}. */
    static void run(boolean transA, boolean transB, int m, int n, int k, float alpha,
                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                    float beta, float[] c, int cOff, int ldc) {
        SgemmWorkspace ws = SgemmWorkspace.get();
        int kc = split(k, KC, 1);
        int mc = split(m, MC, MR);
        boolean direct = !transB && k <= DIRECT_K;
        int nc = split(n, NC, NR);
        for (int ic = 0; ic < m; ic += mc) {
            int mb = Math.min(mc, m - ic);
            for (int pc = 0; pc < k; pc += kc) {
                int kb = Math.min(kc, k - pc);
                float[] ap = ws.a(roundUp(mb, MR) * kb);
                SgemmPack.packA(transA, a, aOff, lda, ic, mb, pc, kb, alpha, ap);
                float bt = pc == 0 ? beta : 1f;
                int cRow = cOff + ic * ldc;
                if (direct) {
                    direct(ap, mb, kb, b, bOff + pc * ldb, ldb, n, c, cRow, ldc, bt, ws);
                    continue;
                }
                columnBlocks(ap, mb, kb, transB, b, bOff, ldb, pc, n, nc, c, cRow, ldc, bt, ws);
            }
        }
    }

    /**
     * Whether {@link #runClaimed} serves a product on {@code threads} threads: B packed (not read in place), and at
     * least two column blocks a thread.
     */
    static boolean claims(boolean transB, int n, int k, int threads) {
        return CLAIM && threads > 1 && (transB || k > DIRECT_K) && n >= 2 * threads * CLAIM_NC;
    }

    /**
     * The blocked product on all of {@link Parallel}'s threads, for C wider than tall: C's columns cut into blocks
     * of about {@code CLAIM_NC}, handed out as threads become free, level by level (a level being a block of rows
     * and a block of steps). A thread packs a level's A block when it claims its first column block of that level,
     * and a column block's level waits until the level before it is done (C accumulates over the step blocks in
     * order, so the result is the same bit for bit as on one thread). With a static half each, a thread that ran
     * slower (another process, interrupts on its core) left the other idle for up to a fifth of a product (bench
     * README, eighth sitting). Run sequentially (a region inside a region), the first part claims everything.
     */
    static void runClaimed(boolean transA, boolean transB, int m, int n, int k, float alpha,
                           float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                           float beta, float[] c, int cOff, int ldc) {
        Claimed product = new Claimed(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        Parallel.forRange(Parallel.threads(), (from, to) -> product.work());
    }

    /** One {@link #runClaimed} product: its operands, its blocks, and which block each thread may take next. */
    private static final class Claimed {
        private final boolean transA;
        private final boolean transB;
        private final int m;
        private final int n;
        private final int k;
        private final float alpha;
        private final float[] a;
        private final int aOff;
        private final int lda;
        private final float[] b;
        private final int bOff;
        private final int ldb;
        private final float beta;
        private final float[] c;
        private final int cOff;
        private final int ldc;
        private final int kc;
        private final int mc;
        private final int nc;
        private final int blocks;
        private final int steps;
        /** The next unclaimed column block of each level. */
        private final AtomicInteger[] next;
        /** The last level each column block has done (-1: none). */
        private final AtomicIntegerArray done;
        /** The threads of the product, released from waiting when one fails (a block it claimed is never done). */
        private final Parts parts = new Parts();

        Claimed(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.aOff = aOff;
            this.lda = lda;
            this.b = b;
            this.bOff = bOff;
            this.ldb = ldb;
            this.beta = beta;
            this.c = c;
            this.cOff = cOff;
            this.ldc = ldc;
            kc = split(k, KC, 1);
            mc = split(m, MC, MR);
            nc = split(n, CLAIM_NC, NR);
            blocks = (n + nc - 1) / nc;
            steps = (k + kc - 1) / kc;
            next = new AtomicInteger[(m + mc - 1) / mc * steps];
            Arrays.setAll(next, level -> new AtomicInteger());
            done = new AtomicIntegerArray(blocks);
            for (int j = 0; j < blocks; j++) {
                done.set(j, -1);
            }
        }

        /** One thread's share: blocks claimed, level by level, until none is left. */
        void work() {
            parts.run(this::claimAll);
        }

        private void claimAll() {
            SgemmWorkspace ws = SgemmWorkspace.get();
            for (int level = 0; level < next.length; level++) {
                int ic = level / steps * mc;
                int pc = level % steps * kc;
                int mb = Math.min(mc, m - ic);
                int kb = Math.min(kc, k - pc);
                float[] ap = null;
                for (int j; (j = next[level].getAndIncrement()) < blocks; ) {
                    if (ap == null) {
                        ap = ws.a(roundUp(mb, MR) * kb);
                        SgemmPack.packA(transA, a, aOff, lda, ic, mb, pc, kb, alpha, ap);
                    }
                    int jc = j * nc;
                    int nb = Math.min(nc, n - jc);
                    MemorySegment bp = ws.b((long) roundUp(nb, NR) * kb);
                    SgemmPack.packB(transB, b, bOff, ldb, pc, kb, jc, nb, bp);
                    int block = j;
                    int before = level - 1;
                    if (!parts.await(() -> done.get(block) >= before)) {
                        return;
                    }
                    macro(ap, mb, kb, bp, nb, c, cOff + ic * ldc + jc, ldc, pc == 0 ? beta : 1f, ws.tile);
                    done.set(j, level);
                }
            }
        }
    }

    /**
     * Whether {@link #runSharedA} serves a product on several threads: one block of rows and of steps (so A is packed
     * once), and B packed.
     */
    static boolean sharesA(boolean transB, int m, int k) {
        return SHARE_A && m <= MC && k <= KC && (transB || k > DIRECT_K);
    }

    /**
     * The blocked product on all of {@link Parallel}'s threads for one block of rows and steps: each thread packs its
     * share of A's row panels into one buffer (the caller's workspace) and waits until all are packed; then C's
     * columns, cut into blocks of about {@code CLAIM_NC}, are handed out as threads become free, each packing its
     * block's B and multiplying it against the whole of A. Each thread packing all of A cost a fifth of a two-thread
     * n = 256 product (bench/README.md, eighth sitting), and a tenth at n = 512 where the column blocks were claimed
     * with A packed per thread (eleventh sitting). Run inline (a region inside a region), the one call packs every
     * share itself and takes every block.
     */
    static void runSharedA(boolean transA, boolean transB, int m, int n, int k, float alpha,
                           float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                           float beta, float[] c, int cOff, int ldc) {
        int parts = Parallel.threads();
        int[] starts = panelStarts(m);
        int panels = starts.length - 1;
        int nc = split(n, CLAIM_NC, NR);
        int blocks = (n + nc - 1) / nc;
        float[] ap = SgemmWorkspace.get().a(roundUp(m, MR) * k);
        AtomicInteger packed = new AtomicInteger();
        AtomicInteger nextBlock = new AtomicInteger();
        Parts region = new Parts();
        Parallel.forRange(parts, (from, to) -> region.run(() -> {
            int p0 = (int) ((long) panels * from / parts);
            int p1 = (int) ((long) panels * to / parts);
            if (p1 > p0) {
                SgemmPack.packA(transA, a, aOff, lda, starts[p0], starts[p1] - starts[p0], 0, k, alpha, ap,
                        starts[p0] * k);
            }
            packed.addAndGet(to - from);
            if (!region.await(() -> packed.get() == parts)) {
                return;
            }
            SgemmWorkspace ws = SgemmWorkspace.get();
            for (int block; (block = nextBlock.getAndIncrement()) < blocks; ) {
                int j0 = block * nc;
                int nb = Math.min(nc, n - j0);
                columnBlocks(ap, m, k, transB, b, bOff + (transB ? j0 * ldb : j0), ldb, 0, nb, split(nb, NC, NR),
                        c, cOff + j0, ldc, beta, ws);
            }
        }));
    }

    /**
     * The parts of one parallel region that wait for each other: a part that fails marks it, so the others stop
     * waiting for what it will never finish (the failure then reaches the caller through {@link Parallel}).
     */
    private static final class Parts {
        private final AtomicBoolean failed = new AtomicBoolean();

        void run(Runnable part) {
            try {
                part.run();
            } catch (RuntimeException | Error e) {
                failed.set(true);
                throw e;
            }
        }

        /** Spins until {@code ready} holds; false if another part failed first. */
        boolean await(BooleanSupplier ready) {
            while (!ready.getAsBoolean()) {
                if (failed.get()) {
                    return false;
                }
                Thread.onSpinWait();
            }
            return true;
        }
    }

    /** Where each row panel of an {@code m}-row block starts, as {@link SgemmKernel#panelRows} cuts it, then m. */
    static int[] panelStarts(int m) {
        int count = 0;
        for (int ir = 0; ir < m; ir += SgemmKernel.panelRows(m - ir)) {
            count++;
        }
        int[] starts = new int[count + 1];
        for (int ir = 0, i = 0; ir < m; ir += SgemmKernel.panelRows(m - ir)) {
            starts[i++] = ir;
        }
        starts[count] = m;
        return starts;
    }

    /**
     * {@code C = A·B + beta·C} on this thread with A ({@code m × k}, {@code k ≤ KC}) already packed by
     * {@link SgemmPack#packA} as one block, B row-major; what {@link #run} computes for the same operands, without
     * packing A again. For a product repeated with the same A (a convolution's input gradient, group after group).
     */
    static void runPackedA(float[] ap, int m, int k, float[] b, int bOff, int ldb, int n, float beta, float[] c,
                           int cOff, int ldc) {
        if (k > KC || k <= DIRECT_K) {
            throw new IllegalArgumentException("runPackedA: depth " + k + " outside (" + DIRECT_K + ", " + KC + "]");
        }
        columnBlocks(ap, m, k, false, b, bOff, ldb, 0, n, split(n, NC, NR), c, cOff, ldc, beta,
                SgemmWorkspace.get());
    }

    /** The packed A block against steps {@code [pc, pc + kb)} of B, {@code nc} columns of B packed at a time. */
    private static void columnBlocks(float[] ap, int mb, int kb, boolean transB, float[] b, int bOff, int ldb, int pc,
                                     int n, int nc, float[] c, int cRow, int ldc, float beta, SgemmWorkspace ws) {
        for (int jc = 0; jc < n; jc += nc) {
            int nb = Math.min(nc, n - jc);
            MemorySegment bp = ws.b((long) roundUp(nb, NR) * kb);
            SgemmPack.packB(transB, b, bOff, ldb, pc, kb, jc, nb, bp);
            macro(ap, mb, kb, bp, nb, c, cRow + jc, ldc, beta, ws.tile);
        }
    }

    /**
     * All tiles of an {@code mb × nb} block from packed panels, row panels outermost; the next tile's rows of C are
     * prefetched before each tile ({@link Prefetch}: C read at the end of a tile otherwise stalls it when C does not
     * fit the caches, as at n = 2048).
     */
    static void macro(float[] ap, int mb, int kb, MemorySegment bp, int nb, float[] c, int ci, int ldc,
                      float beta, float[] tile) {
        for (int ir = 0, mr; ir < mb; ir += mr) {
            mr = SgemmKernel.panelRows(mb - ir);
            int ai = ir * kb;
            int row = ci + ir * ldc;
            for (int jr = 0; jr < nb; jr += NR) {
                int nr = Math.min(NR, nb - jr);
                long bi = 4L * jr * kb;
                if (jr + NR < nb) {
                    Prefetch.rows(c, row + jr + NR, ldc, mr);
                } else if (ir + mr < mb) {
                    Prefetch.rows(c, row + mr * ldc, ldc, SgemmKernel.panelRows(mb - ir - mr));
                }
                SgemmKernel.tile(kb, ap, ai, bp, bi, c, row + jr, ldc, beta, mr, nr, tile);
            }
        }
    }

    /**
     * All tiles of an {@code mb × n} block with row-major B read in place ({@code b[bi + p·ldb + j]}), column panel
     * by column panel so each B panel stays in L1 across the row panels; only a last, partial column panel is
     * packed.
     */
    private static void direct(float[] ap, int mb, int kb, float[] b, int bi, int ldb, int n, float[] c,
                               int ci, int ldc, float beta, SgemmWorkspace ws) {
        int full = n - n % NR;
        for (int jr = 0; jr < full; jr += NR) {
            for (int ir = 0, mr; ir < mb; ir += mr) {
                mr = SgemmKernel.panelRows(mb - ir);
                int at = ci + ir * ldc + jr;
                SgemmKernel.direct(kb, ap, ir * kb, b, bi + jr, ldb, c, at, ldc, beta, mr, ws.tile);
            }
        }
        if (full < n) {
            MemorySegment bp = ws.b((long) NR * kb);
            SgemmPack.panelBEdge(b, bi + full, ldb, n - full, kb, bp, 0);
            for (int ir = 0, mr; ir < mb; ir += mr) {
                mr = SgemmKernel.panelRows(mb - ir);
                SgemmKernel.tile(kb, ap, ir * kb, bp, 0, c, ci + ir * ldc + full, ldc, beta, mr, n - full, ws.tile);
            }
        }
    }

    /** A block size near {@code max} that splits {@code total} into equal blocks, a multiple of {@code unit}. */
    static int split(int total, int max, int unit) {
        int blocks = (total + max - 1) / max;
        return roundUp((total + blocks - 1) / blocks, unit);
    }

    static int roundUp(int x, int unit) {
        return (x + unit - 1) / unit * unit;
    }
}
