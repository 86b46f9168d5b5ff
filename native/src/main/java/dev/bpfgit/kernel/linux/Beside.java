package dev.bpfgit.kernel.linux;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Work a caller hands to a second thread while it does something else, and then takes back (issue 10: a warm
 * observe at 10k spent ~1.2 ms listing pins, reading the small maps and the attach points, one after the large
 * trie's ~5.9 ms dump, on one thread). One worker thread for the process, a daemon, started when first needed and
 * ended after {@link #IDLE_SECONDS} without work. The caller runs itself, in order, every task of its group the
 * worker has not started by the time it waits: two callers never wait for each other's work, and a busy or
 * refused worker costs at most the overlap, never a result.
 *
 * <p>Only what needs no per-thread state goes here: a map's dump through an fd the task owns (an fd names its
 * object in every thread; a network namespace entered by setns(2) is the calling thread's alone, so interface
 * and netlink reads stay with the caller).
 */
final class Beside {
    static final int IDLE_SECONDS = 30;
    static final String THREAD = "bpfgit-dump";

    private static final ThreadPoolExecutor WORKER = worker(IDLE_SECONDS, TimeUnit.SECONDS);

    private Beside() {
    }

    static ThreadPoolExecutor worker(long idle, TimeUnit unit) {
        ThreadPoolExecutor e = new ThreadPoolExecutor(1, 1, idle, unit, new LinkedBlockingQueue<>(),
                r -> Thread.ofPlatform().name(THREAD).daemon().unstarted(r));
        e.allowCoreThreadTimeOut(true);
        return e;
    }

    static <T> Group<T> group() {
        return new Group<>(WORKER);
    }

    /** Threads for the extra cursors of one map's dump ({@link SplitDump}), beside whichever thread runs it. */
    static final String CURSOR_THREAD = "bpfgit-dump-cursor";
    private static final ThreadPoolExecutor CURSORS = cursors(SplitDump.MAX_CURSORS - 1, IDLE_SECONDS, TimeUnit.SECONDS);

    static ThreadPoolExecutor cursors(int threads, long idle, TimeUnit unit) {
        ThreadPoolExecutor e = new ThreadPoolExecutor(threads, threads, idle, unit, new LinkedBlockingQueue<>(),
                r -> Thread.ofPlatform().name(CURSOR_THREAD).daemon().unstarted(r));
        e.allowCoreThreadTimeOut(true);
        return e;
    }

    /**
     * Runs {@code tasks} at once: the first on the calling thread, the others on the cursor threads; those not
     * started when the caller is done with the first it runs itself, in order. Their results in order, once all
     * have finished; else the first failure in order, thrown after all have finished (they may share an fd the
     * caller closes after this returns).
     */
    static <T> List<T> all(List<Callable<T>> tasks) {
        return all(CURSORS, tasks);
    }

    static <T> List<T> all(ThreadPoolExecutor pool, List<Callable<T>> tasks) {
        Group<T> g = new Group<>(pool);
        g.keep(tasks.get(0));
        for (int i = 1; i < tasks.size(); i++) {
            g.submit(tasks.get(i));
        }
        return g.await();
    }

    /** One caller's tasks, in its order. Used by the caller's thread only. */
    static final class Group<T> {
        private final ThreadPoolExecutor worker;
        private final List<FutureTask<T>> tasks = new ArrayList<>();
        /** The tasks' numbers in the caller's order: what failures are reported by (an ahead task once placed). */
        private final List<Integer> order = new ArrayList<>();

        Group(ThreadPoolExecutor worker) {
            this.worker = worker;
        }

        /**
         * Keeps {@code work} for the caller: it runs in {@link #await} (or {@link #failed}), in its place in the
         * order, on the calling thread; its number, for {@link #await}'s list. For small work that would only
         * delay the worker's large tasks queued after it (the caller waits for those anyway).
         */
        int keep(Callable<T> work) {
            tasks.add(new FutureTask<>(work));
            order.add(tasks.size() - 1);
            return tasks.size() - 1;
        }

        /** Hands {@code work} to the worker; its number, for {@link #await}'s list. */
        int submit(Callable<T> work) {
            int n = submitAhead(work);
            order.add(n);
            return n;
        }

        /**
         * Hands {@code work} to the worker before its place in the order is known (a dump started before the
         * listing reaches its pin); {@link #place} puts it there. Until placed it is awaited like every task but
         * neither its result nor its failure is reported: its pin may not be listed at all.
         */
        int submitAhead(Callable<T> work) {
            FutureTask<T> t = new FutureTask<>(work);
            tasks.add(t);
            try {
                worker.execute(t);
            } catch (RejectedExecutionException x) {
                // run by the caller when it waits
            }
            return tasks.size() - 1;
        }

        /** Puts the ahead task {@code task} in the order here, after every task kept, submitted or placed so far. */
        void place(int task) {
            if (order.contains(task)) {
                throw new IllegalStateException("task " + task + " already in the order");
            }
            order.add(task);
        }

        /**
         * Every task's result, by its number, once all have finished: those the worker has not started run here
         * first. The first failure in the order is thrown as it was thrown, after all have finished. Waits through
         * an interrupt (kept): no task runs after this returns.
         */
        List<T> await() {
            finish();
            List<T> out = new ArrayList<>(java.util.Collections.<T>nCopies(tasks.size(), null));
            for (int n : order) {
                out.set(n, result(tasks.get(n)));   // an ahead task never placed: null
            }
            return out;
        }

        /**
         * The caller failed with {@code failure} after handing over every task so far (each at a pin before
         * the one that failed): waits for them all, then throws the first that failed, as one thread reading in
         * order would have, else {@code failure}.
         */
        RuntimeException failed(RuntimeException failure) {
            finish();
            for (int n : order) {
                try {
                    result(tasks.get(n));
                } catch (RuntimeException earlier) {
                    return earlier;
                }
            }
            return failure;
        }

        private void finish() {
            // the tasks run here as on the worker, without the caller's interrupt (restored after)
            boolean interrupted = Thread.interrupted();
            for (FutureTask<T> t : tasks) {
                t.run();   // a no-op when the worker has started or finished it
            }
            for (FutureTask<T> t : tasks) {
                while (true) {
                    try {
                        t.get();
                        break;
                    } catch (InterruptedException x) {
                        interrupted = true;
                    } catch (ExecutionException x) {
                        break;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        /** A finished task's result, or what it threw. */
        private static <T> T result(FutureTask<T> t) {
            try {
                return t.resultNow();
            } catch (IllegalStateException notSuccess) {
                Throwable cause = t.exceptionNow();
                if (cause instanceof RuntimeException r) {
                    throw r;
                }
                if (cause instanceof Error e) {
                    throw e;
                }
                throw new IllegalStateException(cause);
            }
        }
    }
}
