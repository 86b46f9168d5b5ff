package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The verbs, flags and exit codes of design.md section 4, read from the command line model itself: a verb or
 * flag dropped or renamed, or an exit code missing from a verb's help, fails here before any process test.
 */
class CliContractTest {

    /** verb -> the exit codes design.md section 4 gives it. */
    private static final Map<String, Set<String>> EXIT_CODES = new LinkedHashMap<>();

    static {
        EXIT_CODES.put("validate", Set.of("0", "2"));
        EXIT_CODES.put("plan", Set.of("0", "1", "2", "3"));
        EXIT_CODES.put("apply", Set.of("0", "2", "3"));
        EXIT_CODES.put("run", Set.of("0", "3"));
        EXIT_CODES.put("status", Set.of("0", "3"));
        EXIT_CODES.put("state export", Set.of("0", "3"));
        EXIT_CODES.put("destroy", Set.of("0", "3"));
        EXIT_CODES.put("demo", Set.of("0", "3"));
        EXIT_CODES.put("explain", Set.of("0", "2", "3"));
    }

    /** verb -> the options design.md section 4 names for it (besides --root, which every verb takes). */
    private static final Map<String, List<String>> OPTIONS = Map.of(
            "plan", List.of("--live", "--state", "--against", "--host", "--label", "-o", "--hosts"),
            "apply", List.of("--plan", "--yes"),
            "run", List.of("--config"),
            "status", List.of("-o"),
            "destroy", List.of("--yes"),
            "explain", List.of("--interface", "--hook", "-o"),
            "validate", List.of("-o"));

    private static CommandSpec verb(String path) {
        CommandLine cl = Main.commandLine();
        for (String name : path.split(" ")) {
            cl = cl.getSubcommands().get(name);
            assertNotNull(cl, "no verb '" + path + "'");
        }
        return cl.getCommandSpec();
    }

    static Stream<String> verbs() {
        return EXIT_CODES.keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("verbs")
    void everyVerbTakesRootAndListsItsExitCodes(String path) {
        CommandSpec spec = verb(path);
        assertNotNull(spec.findOption("--root"), path + " has no --root (design section 4: every verb takes it)");
        assertEquals(EXIT_CODES.get(path), new TreeSet<>(spec.usageMessage().exitCodeList().keySet()),
                path + ": exit codes in --help");
        for (String option : OPTIONS.getOrDefault(path, List.of())) {
            assertNotNull(spec.findOption(option), path + " has no " + option);
        }
    }

    @Test
    void theTopLevelVerbsAreExactlyTheContractsPlusHelp() {
        Set<String> verbs = new TreeSet<>(Main.commandLine().getSubcommands().keySet());
        Set<String> expected = new TreeSet<>(List.of("validate", "plan", "apply", "run", "status", "state", "destroy",
                "demo", "explain", "help"));
        assertTrue(verbs.containsAll(expected), "verbs: " + verbs);
    }

    @Test
    void anUnknownOptionExitsWithTheVerbsInvalidInputCodeOrElseItsErrorCode() {
        for (String path : EXIT_CODES.keySet()) {
            StringWriter err = new StringWriter();
            String[] words = (path + (path.equals("explain") ? " 192.0.2.1" : "") + " --no-such-flag").split(" ");
            int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), words);
            // design section 4: 2 where the verb lists it (validate, plan, apply, explain), 3 on 0,3-only verbs
            assertEquals(EXIT_CODES.get(path).contains("2") ? 2 : 3, code, path + ": " + err);
            assertTrue(err.toString().contains("--no-such-flag"), path + ": " + err);
        }
    }

    @Test
    void theDemoRefusesAnExistingRootBeforeTouchingIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // the demo ends by destroying its root: a root that holds anything must never be taken
        java.nio.file.Path kept = java.nio.file.Files.writeString(dir.resolve("keep"), "x");
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "demo", "--root",
                dir.toString());
        assertEquals(3, code, err.toString());
        assertTrue(err.toString().contains("already exists"), err.toString());
        assertTrue(java.nio.file.Files.exists(kept));
    }

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void anOutputFormatAVerbDoesNotHaveIsRefusedNotPrintedAsText(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("p.yaml"), """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: edge}
                spec: {interfaces: [eth0], hook: xdp, rules: [{prefix: 192.0.2.0/24, action: drop}]}
                """);
        Run validate = run("validate", "-o", "json", dir.toString());
        assertEquals(2, validate.code(), validate.toString());
        assertEquals("", validate.out());
        assertTrue(validate.err().contains("-o must be text or github, not json"), validate.err());
        // status exits 0 or 3 (design section 4); checked before the kernel is read
        Run status = run("status", "-o", "yaml", "--root", dir.resolve("root").toString());
        assertEquals(3, status.code(), status.toString());
        assertEquals("", status.out());
        assertTrue(status.err().contains("-o must be text or json, not yaml"), status.err());
    }

    @Test
    void runExitsThreeWithoutAConfigurationOrWithMetricsOffLoopback(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Run none = run("run", "--root", dir.resolve("root").toString());
        assertEquals(3, none.code(), none.toString());
        assertTrue(none.err().contains("--config"), none.err());
        java.nio.file.Files.createDirectories(dir.resolve("policies"));
        java.nio.file.Path config = java.nio.file.Files.writeString(dir.resolve("bpfgit.yaml"),
                "source: {path: policies}\nmetrics: {listen: '0.0.0.0:19754'}\n");
        Run open = run("run", "--config", config.toString(), "--root", dir.resolve("root").toString());
        assertEquals(3, open.code(), open.toString());
        assertTrue(open.err().contains("metrics.listen must be a loopback address"), open.err());
        assertTrue(java.nio.file.Files.notExists(dir.resolve("root")), "nothing created before refusing");
    }

    @Test
    void validateChecksTheConfigurationItIsGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path policies = java.nio.file.Files.createDirectories(dir.resolve("policies"));
        java.nio.file.Files.writeString(policies.resolve("p.yaml"), """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: edge}
                spec: {interfaces: [eth0], hook: xdp, rules: [{prefix: 192.0.2.0/24, action: drop}]}
                """);
        java.nio.file.Path good = java.nio.file.Files.writeString(dir.resolve("good.yaml"),
                "source: {path: policies}\nreconcile: {interval: 30s}\n");
        Run ok = run("validate", "--config", good.toString(), policies.toString());
        assertEquals(0, ok.code(), ok.toString());
        // design section 6: exactly one of path and git; durations are 500ms, 30s, 5m, 1h
        java.nio.file.Path both = java.nio.file.Files.writeString(dir.resolve("both.yaml"),
                "source:\n  path: policies\n  git: {url: 'file:///nowhere'}\n");
        Run bad = run("validate", "--config", both.toString(), policies.toString());
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains(both + ":2:3: error:") && bad.err().contains("exactly one of path"), bad.err());
        java.nio.file.Path duration = java.nio.file.Files.writeString(dir.resolve("duration.yaml"),
                "reconcile: {interval: 1.5s}\n");
        Run slow = run("validate", "--config", duration.toString(), policies.toString());
        assertEquals(2, slow.code(), slow.toString());
        assertTrue(slow.err().contains(duration + ":1:23: error: reconcile.interval: must be a duration"), slow.err());
        Run missing = run("validate", "--config", dir.resolve("none.yaml").toString(), policies.toString());
        assertEquals(2, missing.code(), missing.toString());
        assertTrue(missing.err().contains("none.yaml: no such file"), missing.err());
    }
}
