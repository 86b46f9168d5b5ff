package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BesideTest {
    private final ThreadPoolExecutor worker = Beside.worker(200, TimeUnit.MILLISECONDS);

    @AfterEach
    void stop() throws InterruptedException {
        worker.shutdownNow();
        assertTrue(worker.awaitTermination(5, TimeUnit.SECONDS));
    }

    @Test
    void resultsInOrderEachTaskRunOnce() {
        AtomicInteger runs = new AtomicInteger();
        Beside.Group<Integer> g = new Beside.Group<>(worker);
        for (int i = 0; i < 50; i++) {
            int n = i;
            assertEquals(i, g.submit(() -> {
                runs.incrementAndGet();
                return n * n;
            }));
        }
        List<Integer> out = g.await();
        for (int i = 0; i < 50; i++) {
            assertEquals(i * i, out.get(i));
        }
        assertEquals(50, runs.get());
    }

    /** A worker busy with another caller's task: the caller runs its own tasks itself and does not wait. */
    @Test
    void theCallerRunsWhatTheWorkerHasNotStarted() throws Exception {
        CountDownLatch hold = new CountDownLatch(1);
        CountDownLatch held = new CountDownLatch(1);
        Beside.Group<String> other = new Beside.Group<>(worker);
        other.submit(() -> {
            held.countDown();
            hold.await();
            return "other";
        });
        held.await();
        Beside.Group<String> mine = new Beside.Group<>(worker);
        mine.submit(() -> Thread.currentThread().getName());
        mine.submit(() -> Thread.currentThread().getName());
        String me = Thread.currentThread().getName();
        assertEquals(List.of(me, me), mine.await());
        hold.countDown();
        assertEquals(List.of("other"), other.await());
    }

    @Test
    void tasksRunOnTheWorkerWhileTheCallerIsBusy() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        Beside.Group<String> g = new Beside.Group<>(worker);
        g.submit(() -> {
            done.countDown();
            return Thread.currentThread().getName();
        });
        assertTrue(done.await(5, TimeUnit.SECONDS));   // the caller has not waited yet
        assertEquals(List.of(Beside.THREAD), g.await());
    }

    /** Kept tasks run on the caller, in await, in their place among the handed-over ones; none runs before. */
    @Test
    void keptTasksRunOnTheCallerInAwaitInTheirPlace() throws Exception {
        AtomicInteger keptRuns = new AtomicInteger();
        CountDownLatch workerDone = new CountDownLatch(1);
        Beside.Group<String> g = new Beside.Group<>(worker);
        assertEquals(0, g.keep(() -> {
            keptRuns.incrementAndGet();
            return "kept " + Thread.currentThread().getName();
        }));
        assertEquals(1, g.submit(() -> {
            workerDone.countDown();
            return "handed " + Thread.currentThread().getName();
        }));
        assertEquals(2, g.keep(() -> {
            keptRuns.incrementAndGet();
            return "kept " + Thread.currentThread().getName();
        }));
        assertTrue(workerDone.await(5, TimeUnit.SECONDS));
        Thread.sleep(50);
        assertEquals(0, keptRuns.get(), "a kept task runs only when the caller waits");
        String me = Thread.currentThread().getName();
        assertEquals(List.of("kept " + me, "handed " + Beside.THREAD, "kept " + me), g.await());
        assertEquals(2, keptRuns.get());
    }

    /** A kept task's failure is reported in its place in the order, and a failing caller still runs kept tasks. */
    @Test
    void aKeptTasksFailureIsReportedInOrderAndRunsOnAFailure() {
        IllegalStateException kept = new IllegalStateException("kept");
        Beside.Group<String> g = new Beside.Group<>(worker);
        g.keep(() -> {
            throw kept;
        });
        g.submit(() -> {
            throw new IllegalArgumentException("later, on the worker");
        });
        assertSame(kept, assertThrows(IllegalStateException.class, g::await));

        AtomicBoolean ran = new AtomicBoolean();
        Beside.Group<String> h = new Beside.Group<>(worker);
        h.keep(() -> {
            ran.set(true);   // a task owns its fd: it must run (and close it) even when the caller failed
            return "ok";
        });
        RuntimeException mine = new IllegalStateException("caller");
        assertSame(mine, h.failed(mine));
        assertTrue(ran.get());
    }

    /** The first failure in order is thrown, as it was thrown, once every task has finished. */
    @Test
    void aFailingTaskIsThrownAfterAllHaveFinished() {
        AtomicBoolean lastFinished = new AtomicBoolean();
        IllegalStateException first = new IllegalStateException("first");
        Beside.Group<String> g = new Beside.Group<>(worker);
        g.submit(() -> "ok");
        g.submit(() -> {
            throw first;
        });
        g.submit(() -> {
            throw new IllegalArgumentException("second");
        });
        g.submit(() -> {
            Thread.sleep(50);
            lastFinished.set(true);
            return "late";
        });
        assertSame(first, assertThrows(IllegalStateException.class, g::await));
        assertTrue(lastFinished.get());
    }

    /** The caller failed after handing over tasks: an earlier task's failure wins, else the caller's. */
    @Test
    void theCallersFailureComesAfterEarlierTasks() {
        RuntimeException mine = new IllegalStateException("caller");
        Beside.Group<String> clean = new Beside.Group<>(worker);
        AtomicBoolean finished = new AtomicBoolean();
        clean.submit(() -> {
            Thread.sleep(50);
            finished.set(true);
            return "ok";
        });
        assertSame(mine, clean.failed(mine));
        assertTrue(finished.get());

        RuntimeException earlier = new IllegalArgumentException("task");
        Beside.Group<String> failing = new Beside.Group<>(worker);
        failing.submit(() -> {
            throw earlier;
        });
        assertSame(earlier, failing.failed(mine));
    }

    /** An interrupted caller still waits for every task (nothing runs after await) and keeps the interrupt. */
    @Test
    void anInterruptedCallerWaitsAndKeepsTheInterrupt() {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        Beside.Group<String> g = new Beside.Group<>(worker);
        g.submit(() -> {
            Thread.sleep(100);
            log.add("done");
            return "slow";
        });
        Thread.currentThread().interrupt();
        try {
            assertEquals(List.of("slow"), g.await());
            assertEquals(List.of("done"), log);
            assertTrue(Thread.currentThread().isInterrupted());
        } finally {
            Thread.interrupted();
        }
    }

    /** The worker thread ends when idle: nothing is left running between reconciles far apart. */
    @Test
    void theWorkerEndsWhenIdle() throws Exception {
        Beside.Group<Integer> g = new Beside.Group<>(worker);
        CountDownLatch onWorker = new CountDownLatch(1);
        g.submit(() -> {
            onWorker.countDown();
            return 1;
        });
        assertTrue(onWorker.await(5, TimeUnit.SECONDS));
        g.await();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (worker.getPoolSize() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, worker.getPoolSize());
        assertFalse(worker.isShutdown());
        assertEquals(List.of(7), submitAndAwait(new Beside.Group<>(worker)));   // and starts again
    }

    private static List<Integer> submitAndAwait(Beside.Group<Integer> g) {
        g.submit(() -> 7);
        return g.await();
    }

    /** A worker that refuses work (shut down): the caller runs every task itself. */
    @Test
    void aRefusingWorkerCostsNoResult() {
        worker.shutdown();
        Beside.Group<String> g = new Beside.Group<>(worker);
        g.submit(() -> Thread.currentThread().getName());
        assertEquals(List.of(Thread.currentThread().getName()), g.await());
    }

    /**
     * A task handed over ahead of its place runs at once; once placed, its failure is reported where it was
     * placed (after an earlier task's); never placed, it is waited for but neither its result nor its failure
     * is reported.
     */
    @Test
    void anAheadTaskIsReportedInThePlaceItIsPutIn() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        IllegalStateException ahead = new IllegalStateException("ahead");
        IllegalArgumentException before = new IllegalArgumentException("before it in the order");
        Beside.Group<String> g = new Beside.Group<>(worker);
        int a = g.submitAhead(() -> {
            started.countDown();
            throw ahead;
        });
        assertTrue(started.await(5, TimeUnit.SECONDS), "an ahead task is handed to the worker at once");
        g.keep(() -> {
            throw before;
        });
        g.place(a);
        assertSame(before, assertThrows(IllegalArgumentException.class, g::await));

        Beside.Group<String> h = new Beside.Group<>(worker);
        int b = h.submitAhead(() -> {
            throw ahead;
        });
        h.submit(() -> "first");
        h.place(b);
        h.submit(() -> "last");
        assertSame(ahead, assertThrows(IllegalStateException.class, h::await));
        assertThrows(IllegalStateException.class, () -> h.place(b));

        AtomicBoolean ran = new AtomicBoolean();
        Beside.Group<String> dropped = new Beside.Group<>(worker);
        dropped.submitAhead(() -> {
            Thread.sleep(50);
            ran.set(true);   // it owns an fd: it must have run when await returns
            throw ahead;
        });
        dropped.submit(() -> "listed");
        List<String> out = dropped.await();
        assertTrue(ran.get());
        assertEquals(java.util.Arrays.asList(null, "listed"), out);
        RuntimeException mine = new IllegalStateException("caller");
        Beside.Group<String> failing = new Beside.Group<>(worker);
        failing.submitAhead(() -> {
            throw ahead;
        });
        assertSame(mine, failing.failed(mine), "an ahead task not placed is not reported before the caller's failure");
    }
}
