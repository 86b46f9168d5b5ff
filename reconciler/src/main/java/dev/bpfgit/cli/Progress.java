package dev.bpfgit.cli;

import dev.bpfgit.kernel.linux.Libc;

import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One line on stderr telling what a long verb is doing, e.g. {@code applying: 40000/200000 entries
 * written, 3/9 steps (2.4s)}, redrawn in place. It appears only once the work has taken {@value #DELAY_MS} ms and
 * only when stderr itself is a terminal: scripts, pipes and CI logs never see it. The line is erased when
 * the work ends, before the verb prints its result.
 *
 * <p>Hand-written rather than a progress-bar library: what is needed is one redrawn line and an isatty
 * on fd 2 (which System.console() does not answer: it looks at stdin and stdout), and the libraries
 * (progressbar with JLine) bring a terminal stack for it.
 */
final class Progress implements AutoCloseable {
    static final long DELAY_MS = 1000;
    private static final long EVERY_MS = 200;
    private static volatile Boolean stderrIsTerminal;

    private final PrintWriter err;
    private final long start = System.nanoTime();
    private final ScheduledExecutorService ticker;
    private volatile Supplier<String> text;
    private boolean shown;
    private boolean closed;

    private Progress(PrintWriter err, String text) {
        this.err = err;
        this.text = () -> text;
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bpfgit-progress");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(this::draw, DELAY_MS, EVERY_MS, TimeUnit.MILLISECONDS);
    }

    /** Starts telling {@code text} on {@code err} (picocli's stderr writer). */
    static Progress start(PrintWriter err, String text) {
        return new Progress(err, text);
    }

    /** What the work is doing now; the supplier is read at each redraw, so counters can be read live. */
    void show(Supplier<String> now) {
        this.text = now;
    }

    void show(String now) {
        show(() -> now);
    }

    /** Counts as "done/total noun", e.g. "3/9 files". */
    static String count(long done, long total, String noun) {
        return done + "/" + total + " " + noun;
    }

    /** A loader's per-file callback that shows "parsing policies: 2/9 files". */
    java.util.function.IntConsumer files(int total) {
        show("parsing policies: " + count(0, total, "files"));
        return n -> show("parsing policies: " + count(n, total, "files")
                + (n == total ? ", checking them together" : ""));
    }

    /** An applier's callback that shows "applying: 40000/200000 entries, 3/9 steps". */
    dev.bpfgit.apply.Applier.Progress applying(dev.bpfgit.diff.Plan plan) {
        int changes = 0;
        for (dev.bpfgit.diff.UnitPlan u : plan.units()) {   // a loop: a lambda here was spun at every apply
            changes += u.changes().size();
        }
        int steps = changes;
        dev.bpfgit.diff.Summary s = plan.summary();
        long entries = (long) s.added() + s.changed() + s.removed();
        show("applying: " + count(0, entries, "entries") + ", " + count(0, steps, "steps"));
        return (done, written) -> show("applying: " + count(written, entries, "entries") + ", "
                + count(done, steps, "steps"));
    }

    private synchronized void draw() {
        if (closed || !terminal()) {
            return;
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        err.print("\r\033[K" + text.get() + String.format(" (%d.%ds)", ms / 1000, ms % 1000 / 100));
        err.flush();
        shown = true;
    }

    /** isatty(2), asked once, and only when the work has lasted long enough to want a line. */
    private static boolean terminal() {
        Boolean t = stderrIsTerminal;
        if (t == null) {
            try {
                t = Libc.isatty(2);
            } catch (RuntimeException | LinkageError e) {
                t = false;   // no libc to ask: stay quiet
            }
            stderrIsTerminal = t;
        }
        return t;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        ticker.shutdownNow();
        if (shown) {
            err.print("\r\033[K");
            err.flush();
        }
    }
}
