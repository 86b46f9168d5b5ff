package dev.bpfgit.run;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Work started now on a thread of its own, for the second core while the caller parses (the host's facts of a
 * cold {@code plan}/{@code apply}, the sidecar's observation of a new revision's live state). A new platform
 * thread, not a pool's: setns(2) applies to the thread that calls it, so the work runs in the network namespace
 * of the thread that started it (a test's setns thread included), and an attach point's namespace entered
 * by the work stays on its own thread.
 */
public final class Ahead<T> implements java.util.function.Supplier<T> {

    private final FutureTask<T> task;

    private Ahead(FutureTask<T> task) {
        this.task = task;
    }

    public static <T> Ahead<T> start(String name, Callable<T> work) {
        FutureTask<T> task = new FutureTask<>(work);
        Thread.ofPlatform().name(name).daemon().start(task);
        return new Ahead<>(task);
    }

    /**
     * Waits until the work has finished, successfully or not, also when interrupted (the interrupt is kept):
     * a caller that must not write to the kernel while the work reads it relies on this.
     */
    public Ahead<T> await() {
        boolean interrupted = false;
        while (true) {
            try {
                task.get();
                break;
            } catch (InterruptedException x) {
                interrupted = true;
            } catch (ExecutionException x) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return this;
    }

    /** The result, once finished; or what the work threw, as it threw it. */
    @Override
    public T get() {
        try {
            return await().task.get();
        } catch (InterruptedException x) {
            throw new IllegalStateException(x);   // not reached: await has finished it
        } catch (ExecutionException x) {
            if (x.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (x.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(x.getCause());
        }
    }
}
