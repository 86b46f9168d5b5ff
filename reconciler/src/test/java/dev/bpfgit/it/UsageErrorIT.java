package dev.bpfgit.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A command line the packaged tool cannot parse, on every verb: exit 2 where the verb's contract (design §4)
 * has "invalid input" (validate, plan, apply, explain), 3 where it has 0 and 3 only (run, status, state
 * export, destroy, demo); the message, the synopsis and where the help is on stderr, nothing on stdout, and
 * nothing done (a parse error comes before any kernel access; no root needed).
 */
class UsageErrorIT {

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "validate --bogus examples/edge-filter | 2 | bpfgit validate | Unknown option: '--bogus'",
            "plan --bogus                          | 2 | bpfgit plan     | Unknown option: '--bogus'",
            "plan --state                          | 2 | bpfgit plan     | Missing required parameter for option '--state'",
            "apply --bogus                         | 2 | bpfgit apply    | Unknown option: '--bogus'",
            "apply --plan                          | 2 | bpfgit apply    | Missing required parameter for option '--plan'",
            "explain --bogus 10.0.0.1              | 2 | bpfgit explain  | Unknown option: '--bogus'",
            "explain --interface                   | 2 | bpfgit explain  | Missing required parameter for option '--interface'",
            "run --bogus                           | 3 | bpfgit run      | Unknown option: '--bogus'",
            "run --config                          | 3 | bpfgit run      | Missing required parameter for option '--config'",
            "status --bogus                        | 3 | bpfgit status   | Unknown option: '--bogus'",
            "status -o                             | 3 | bpfgit status   | Missing required parameter for option '--output'",
            "state export --bogus                  | 3 | bpfgit state export | Unknown option: '--bogus'",
            "state export --root                   | 3 | bpfgit state export | Missing required parameter for option '--root'",
            "destroy --bogus                       | 3 | bpfgit destroy  | Unknown option: '--bogus'",
            "destroy --root                        | 3 | bpfgit destroy  | Missing required parameter for option '--root'",
            "demo --bogus                          | 3 | bpfgit demo     | Unknown option: '--bogus'",
            "demo --root                           | 3 | bpfgit demo     | Missing required parameter for option '--root'",
    })
    void aUsageErrorExitsWithTheVerbsCode(String line, int code, String verb, String message) {
        Bpfgit.Cli cli = Bpfgit.cli(null, line.split(" "));
        assertEquals(code, cli.exit(), cli.toString());
        assertEquals("", cli.out(), cli.toString());
        String err = cli.err();
        assertTrue(err.startsWith("error: " + message), cli.toString());
        assertTrue(err.contains("\nUsage: " + verb + " "), cli.toString());
        assertTrue(err.endsWith("Run '" + verb + " --help' for its options.\n"), cli.toString());
    }
}
