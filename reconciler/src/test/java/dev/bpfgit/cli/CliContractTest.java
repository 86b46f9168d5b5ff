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
        CommandLine cl = new CommandLine(new Main());
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
        Set<String> verbs = new TreeSet<>(new CommandLine(new Main()).getSubcommands().keySet());
        Set<String> expected = new TreeSet<>(List.of("validate", "plan", "apply", "run", "status", "state", "destroy",
                "demo", "explain", "help"));
        assertTrue(verbs.containsAll(expected), "verbs: " + verbs);
    }

    @Test
    void anUnknownOptionIsInvalidInputOnEveryVerb() {
        for (String path : EXIT_CODES.keySet()) {
            StringWriter err = new StringWriter();
            String[] words = (path + (path.equals("explain") ? " 192.0.2.1" : "") + " --no-such-flag").split(" ");
            int code = Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), words);
            assertEquals(2, code, path + ": " + err);
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
}
