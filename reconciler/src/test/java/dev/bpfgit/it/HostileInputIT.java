package dev.bpfgit.it;

import dev.bpfgit.cli.Main;
import dev.bpfgit.fuzz.HostileInputs;
import dev.bpfgit.fuzz.ValidateFuzzTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile input through the packaged tool ({@code ./bpfgit validate} as a process, heap limited to 256 MiB):
 * a sample of the fuzz inputs of {@link ValidateFuzzTest} ends as it ends in-process, the bombs of issue 5
 * are refused in well under a second of work, a link to a secret does not print it, and a FIFO does not hang.
 * Needs no root.
 */
class HostileInputIT {
    private static final Map<String, String> SMALL_HEAP = Map.of("JAVA_TOOL_OPTIONS", "-Xmx256m");
    private static final String SECRET = "hunter2-SECRET-do-not-print";

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    private static Bpfgit.Cli validate(Path path) {
        Bpfgit.Cli c = Bpfgit.cli(SMALL_HEAP, null, "validate", path.toString());
        // the JVM announces the variable on stderr; it is the test's, not bpfgit's
        String err = c.err().replaceAll("(?m)^Picked up JAVA_TOOL_OPTIONS: .*\n", "");
        return new Bpfgit.Cli(c.command(), c.exit(), c.out(), err);
    }

    @Test
    void aSampleOfTheFuzzInputsEndsAsItDoesInProcess(@TempDir Path dir) throws Exception {
        List<HostileInputs.Input> all = new HostileInputs(ValidateFuzzTest.SEED,
                HostileInputs.validPolicies(Bpfgit.REPO)).generate(10_000);
        List<HostileInputs.Input> sample = new ArrayList<>();
        for (int i = 0; i < all.size(); i += 200) {
            sample.add(all.get(i));
        }
        all.stream().filter(in -> in.name().contains("bomb")).limit(10).forEach(sample::add);
        long max = 0;
        long start = System.nanoTime();
        for (HostileInputs.Input in : sample) {
            Path file = dir.resolve("input.yaml");
            Files.write(file, in.bytes());
            long t0 = System.nanoTime();
            Bpfgit.Cli c = validate(file);
            max = Math.max(max, System.nanoTime() - t0);
            ValidateFuzzTest.check(in.name(), c.exit(), c.out(), c.err());
            StringWriter out = new StringWriter(), err = new StringWriter();
            int code = Main.execute(new PrintWriter(out), new PrintWriter(err), "validate", file.toString());
            assertEquals(code, c.exit(), in.name());
            assertEquals(err.toString(), c.err(), in.name());
        }
        System.out.printf("validate fuzz (process): %d inputs: total %.1f s, max %.0f ms per process%n", sample.size(),
                (System.nanoTime() - start) / 1e9, max / 1e6);
    }

    @Test
    void theBombsOfIssue5AreRefusedQuicklyWithALocatedError(@TempDir Path dir) throws Exception {
        Path laughs = Files.writeString(dir.resolve("laughs.yaml"), laughs(20, 2));
        Path brackets = Files.writeString(dir.resolve("brackets.yaml"), "[".repeat(20_000) + "]".repeat(20_000));
        for (Path p : List.of(laughs, brackets)) {
            long t0 = System.nanoTime();
            Bpfgit.Cli c = validate(p);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(2, c.exit(), c.toString());
            assertTrue(c.err().matches("(?s)" + p + ":\\d+:\\d+: error: (aliases expand|nested more than).*"), c.toString());
            // the process, JVM start included: the issue measured 34 s and 2.2 GB for the first one
            assertTrue(ms < 10_000, ms + " ms: " + c);
        }
    }

    @Test
    void aLinkToASecretOutsideTheDirectoryDoesNotPrintIt(@TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("secret.txt"), "token: " + SECRET + "\n: [\n");
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Files.createSymbolicLink(policies.resolve("leak.yaml"), secret);
        Bpfgit.Cli c = validate(policies);
        assertEquals(2, c.exit(), c.toString());
        assertEquals(policies + "/leak.yaml:1:1: error: symbolic link to a file outside the source directory; not read\n"
                + "1 error; nothing was changed.\n", c.err());
        assertFalse((c.out() + c.err()).contains(SECRET) || (c.out() + c.err()).contains(secret.toString()), c.toString());
    }

    @Test
    void aFifoWithAPolicyNameIsRefusedPromptly(@TempDir Path dir) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        Path fifo = policies.resolve("x.yaml");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        long t0 = System.nanoTime();
        Bpfgit.Cli c = validate(policies);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(2, c.exit(), c.toString());
        assertEquals(fifo + ":1:1: error: not a regular file (a FIFO); not read\n1 error; nothing was changed.\n", c.err());
        assertTrue(ms < 10_000, ms + " ms");
    }

    private static String laughs(int levels, int width) {
        StringBuilder b = new StringBuilder("l0: &l0 [lol]\n");
        for (int i = 1; i <= levels; i++) {
            b.append('l').append(i).append(": &l").append(i).append(" [");
            for (int j = 0; j < width; j++) {
                b.append(j == 0 ? "" : ", ").append("*l").append(i - 1);
            }
            b.append("]\n");
        }
        return b.toString();
    }
}
