package dev.bpfgit.cli;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A command line that does not parse exits with the verb's own code for it (design §4): 2 where the verb's
 * exit codes include "invalid input", 3 where they are 0 and 3 only; the message, the synopsis and where the
 * help is go to stderr, nothing to stdout. In process: UsageErrorIT runs the packaged tool.
 */
class UsageErrorTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "validate --bogus x             | 2 | bpfgit validate",
            "plan --bogus                   | 2 | bpfgit plan",
            "plan --state                   | 2 | bpfgit plan",
            "apply --plan                   | 2 | bpfgit apply",
            "explain --bogus 10.0.0.1       | 2 | bpfgit explain",
            "run --bogus                    | 3 | bpfgit run",
            "run --config                   | 3 | bpfgit run",
            "status --bogus                 | 3 | bpfgit status",
            "status -o                      | 3 | bpfgit status",
            "state export --bogus           | 3 | bpfgit state export",
            "state bogus                    | 3 | bpfgit state",
            "destroy --bogus                | 3 | bpfgit destroy",
            "destroy --root                 | 3 | bpfgit destroy",
            "demo --bogus                   | 3 | bpfgit demo",
            "bogus                          | 2 | bpfgit",
    })
    void aUsageErrorExitsWithTheVerbsCode(String line, int code, String verb) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.execute(new PrintWriter(out), new PrintWriter(err), line.split(" "));
        assertEquals(code, exit, line + "\n" + err);
        assertEquals("", out.toString(), line);
        String e = err.toString();
        assertTrue(e.startsWith("error: "), e);
        assertTrue(e.contains("\nUsage: " + verb + " "), e);
        assertTrue(e.endsWith("Run '" + verb + " --help' for its options.\n"), e);
    }
}
