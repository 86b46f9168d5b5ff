package dev.bpfgit.fuzz;

import dev.bpfgit.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * 10,000 malformed and adversarial files through {@code validate}, in this JVM: every one ends with exit 0
 * or 2, within a time bound, in bounded memory, with no stack trace and nothing but located errors on
 * stderr, in a JVM whose heap is limited to 512 MiB (reconciler/pom.xml). The seed is fixed, so a failure reproduces; {@code -Dbpfgit.fuzz.seed=N -Dbpfgit.fuzz.count=N}
 * explore further. The figures go to target/fuzz-figures.txt (README "Reliability").
 */
public class ValidateFuzzTest {
    public static final long SEED = Long.getLong("bpfgit.fuzz.seed", 20261126L);
    private static final int COUNT = Integer.getInteger("bpfgit.fuzz.count", 10_000);
    /** Per input; the slowest legitimate input (10,000 documents) takes well under a second. */
    private static final long MAX_MILLIS = 10_000;
    /** Surefire runs unit tests with -Xmx512m (reconciler/pom.xml); an OutOfMemoryError fails this test anyway. */
    private static final long MAX_HEAP_BYTES = 512L * 1024 * 1024;
    /** What validate may print on stderr: located errors and the count. */
    static final Pattern ERR_LINE = Pattern.compile(".+:\\d+:\\d+: error: .*|\\d+ errors?; nothing was changed\\.");

    @Test
    void everyHostileInputEndsInExitZeroOrTwoWithoutATrace(@TempDir Path dir) throws Exception {
        List<HostileInputs.Input> inputs = new HostileInputs(SEED, HostileInputs.validPolicies(Path.of("..")))
                .generate(COUNT);
        Path file = dir.resolve("input.yaml");
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        System.gc();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        long[] nanos = new long[inputs.size()];
        int[] exits = new int[3];
        String slowest = "";
        long start = System.nanoTime();
        ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz");
            t.setDaemon(true);   // a hung input must not keep the test JVM alive
            return t;
        });
        try {
            for (int i = 0; i < inputs.size(); i++) {
                HostileInputs.Input in = inputs.get(i);
                Files.write(file, in.bytes());
                StringWriter out = new StringWriter(), err = new StringWriter();
                long t0 = System.nanoTime();
                Future<Integer> run = runner.submit(() -> Main.execute(new PrintWriter(out), new PrintWriter(err),
                        "validate", file.toString()));
                int code;
                try {
                    code = run.get(MAX_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    fail(in.name() + ": validate did not finish within " + MAX_MILLIS + " ms");
                    return;
                }
                nanos[i] = System.nanoTime() - t0;
                if (nanos[i] == Arrays.stream(nanos).max().orElse(0)) {
                    slowest = in.name();
                }
                try {
                    check(in.name(), code, out.toString(), err.toString());
                } catch (AssertionError e) {
                    Files.write(Path.of("target/fuzz-failure.yaml"), in.bytes());   // to reproduce by hand
                    throw e;
                }
                exits[code]++;
            }
        } finally {
            runner.shutdownNow();
        }
        long total = System.nanoTime() - start;
        // an upper bound: each pool's peak, summed, though they need not peak together
        long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        String figures = String.format("validate fuzz (in-process): %d inputs, seed %d: %d exit 0, %d exit 2;"
                        + " total %.1f s, median %.2f ms, p99 %.1f ms, max %.1f ms (%s); heap limited to %d MiB (pool peaks summed: %d MiB)%n",
                inputs.size(), SEED, exits[0], exits[2], total / 1e9, sorted[sorted.length / 2] / 1e6,
                sorted[sorted.length * 99 / 100] / 1e6, sorted[sorted.length - 1] / 1e6, slowest,
                Runtime.getRuntime().maxMemory() >> 20, peak >> 20);
        System.out.print(figures);
        Integer[] order = new Integer[nanos.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (a, b) -> Long.compare(nanos[b], nanos[a]));
        for (int i = 0; i < Math.min(15, order.length); i++) {
            System.out.printf("  slow: %.1f ms %s (%d bytes)%n", nanos[order[i]] / 1e6, inputs.get(order[i]).name(),
                    inputs.get(order[i]).bytes().length);
        }
        Files.writeString(Path.of("target/fuzz-figures.txt"), figures);
        assertEquals(inputs.size(), exits[0] + exits[2]);
        assertTrue(exits[2] > inputs.size() / 2, "most inputs are invalid: " + figures);
        assertTrue(exits[0] > 0, "some mutations leave a valid policy: " + figures);
        assertTrue(Runtime.getRuntime().maxMemory() <= MAX_HEAP_BYTES + (64 << 20),
                "run with -Xmx512m (as surefire does) for the memory bound to mean something: " + figures);
    }

    /** What every run must look like, valid or not. */
    public static void check(String name, int code, String out, String err) {
        String both = out + err;
        if (code != 0 && code != 2) {
            fail(name + ": exit " + code + "\n" + both);
        }
        if (both.contains("Exception") || both.contains("\tat ") || both.contains("Error:")
                || both.contains("the parser failed") || both.contains("in the memory available")
                || both.contains("nested too deeply to read")) {
            // PolicyLoader's last resort (a parser failure, a stack overflow, out of memory): reaching it is a bug
            fail(name + ": a trace, an exception or a last-resort error in the output:\n" + both);
        }
        for (String line : both.split("\n")) {
            if (line.length() > 1000) {
                fail(name + ": an output line of " + line.length() + " characters");
            }
        }
        if (code == 0) {
            if (!out.startsWith("valid: ") || !err.isEmpty()) {
                fail(name + ": exit 0 without 'valid:'\n" + both);
            }
            return;
        }
        if (err.isEmpty()) {
            fail(name + ": exit 2 with nothing on stderr");
        }
        List<String> stray = new ArrayList<>();
        for (String line : err.split("\n")) {
            if (!ERR_LINE.matcher(line).matches()) {
                stray.add(line);
            }
        }
        if (!stray.isEmpty()) {
            fail(name + ": stderr lines that are not located errors: " + stray);
        }
    }
}
