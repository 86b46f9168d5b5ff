package dev.bpfgit.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Which verbs picocli is given: the one a command line starts with, or all of them where others are used. */
class MainTest {

    private static List<String> verbs(String... args) {
        return List.copyOf(Main.commandLine(args).getSubcommands().keySet());
    }

    @Test
    void aVerbGetsItselfOnly() {
        for (String verb : Main.VERBS) {
            if (!verb.equals("help") && !verb.equals("demo")) {
                assertEquals(List.of(verb), verbs(verb, "--some", "args"), verb);
            }
        }
        assertEquals(List.of("state"), verbs("state", "export"));
    }

    @Test
    void helpDemoUnknownAndNothingGetEveryVerbInHelpOrder() {
        List<String> all = List.of("validate", "plan", "apply", "run", "status", "state", "destroy", "demo",
                "explain", "help");
        for (String[] args : new String[][]{{}, {"--help"}, {"-V"}, {"help", "plan"}, {"demo"}, {"valdate"},
                {"--root", "x", "plan"}}) {
            assertEquals(all, verbs(args), String.join(" ", args));
        }
        // help lists them all, as before
        String usage = Main.commandLine("--help").getUsageMessage();
        for (String verb : all) {
            assertEquals(true, usage.contains("  " + verb + " "), verb + " in\n" + usage);
        }
    }
}
