package dev.bpfgit.it;

import dev.bpfgit.kernel.testing.Commands;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an operator at a terminal gets beyond the results: progress on stderr only when it is a terminal
 * (a pseudo-terminal from script(1) here), completion scripts that load in bash, man pages that render,
 * and --help with examples and exit codes for every verb. No kernel needed.
 */
class UxIT {
    private static final Path SHARE = Bpfgit.REPO.resolve("reconciler/target/share");
    private static final List<String> VERBS = List.of("validate", "plan", "apply", "run", "status", "state",
            "destroy", "demo", "explain");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    /**
     * One policy of {@code n} /32 rules. 200,000 took about 9 s to validate once; with the fast reader a cold
     * validate of them can end before the first progress line (1 s), so the test uses a million (3-4 s).
     */
    private static Path bigPolicy(Path dir, int n) throws Exception {
        StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: big\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  capacity: " + n + "\n  rules:\n");
        for (int i = 0; i < n; i++) {
            sb.append("    - {prefix: 10.").append(i >> 16 & 0xff).append('.').append(i >> 8 & 0xff).append('.')
                    .append(i & 0xff).append("/32, action: drop}\n");
        }
        return Bpfgit.write(dir, "big.yaml", sb.toString());
    }

    @Test
    void progressIsShownOnATerminalAndNeverWhenPiped(@TempDir Path dir) throws Exception {
        Path big = bigPolicy(dir, 1_000_000);
        String command = Bpfgit.REPO.resolve("bpfgit") + " validate " + big;
        // script gives the command a pseudo-terminal for stdin, stdout and stderr; its output is the terminal's
        Commands.Result tty = Commands.exec("script", "-qec", command, "/dev/null");
        assertEquals(0, tty.exitCode(), tty.toString());
        String screen = tty.stdout();
        assertTrue(screen.contains("\r\033[Kparsing policies: 0/1 files ("), "progress on the terminal: " + screen);
        // the "checking them together" phase shows only when it outlasts a progress tick: parsing got fast
        // enough that it sometimes does not, so it is not required here
        assertTrue(screen.contains("\r\033[Kvalid: 1 policy in 1 file"), "the line is erased before the result: "
                + screen);

        Bpfgit.Cli piped = Bpfgit.cli(null, "validate", big.toString());
        assertEquals(0, piped.exit(), piped.toString());
        assertEquals("", piped.err(), "no progress when stderr is a pipe");
        assertFalse(piped.out().contains("\033"), piped.out());

        // stdout a terminal but stderr not: still nothing, stderr is what counts
        Path err = dir.resolve("err.txt");
        Commands.Result split = Commands.exec("script", "-qec", command + " 2>" + err, "/dev/null");
        assertEquals(0, split.exitCode(), split.toString());
        assertEquals("", Files.readString(err));
        assertFalse(split.stdout().contains("parsing policies"), split.stdout());
    }

    @Test
    void completionScriptsLoadInBashAndComplete() throws Exception {
        Path bash = SHARE.resolve("bash-completion/completions/bpfgit");
        Commands.Result loaded = Commands.exec("bash", "-c", "source " + bash + " && complete -p bpfgit");
        assertEquals(0, loaded.exitCode(), loaded.toString());
        assertEquals("", loaded.stderr());
        assertEquals("complete -o default -F _complete_bpfgit bpfgit", loaded.stdout().strip());

        assertEquals("explain", complete(bash, "bpfgit", "exp"));
        assertTrue(List.of(complete(bash, "bpfgit", "explain", "--int").split(" ")).contains("--interface"),
                "explain's options complete");

        String zsh = Files.readString(SHARE.resolve("zsh/site-functions/_bpfgit"));
        assertTrue(zsh.startsWith("#compdef bpfgit\n"), zsh.lines().findFirst().orElse(""));
        assertTrue(zsh.contains("function _complete_bpfgit()"), "the same completion as bash");
    }

    /** What bash completion offers for the last word of {@code words}. */
    private static String complete(Path script, String... words) {
        String array = String.join(" ", words);
        Commands.Result r = Commands.exec("bash", "-c", "source " + script + "; COMP_WORDS=(" + array + "); "
                + "COMP_CWORD=" + (words.length - 1) + "; COMP_LINE='" + array + "'; COMP_POINT=${#COMP_LINE}; "
                + "_complete_bpfgit; echo \"${COMPREPLY[*]}\"");
        assertEquals(0, r.exitCode(), r.toString());
        return r.stdout().strip();
    }

    @Test
    void aManPagePerVerbRendersWithItsExamplesAndExitCodes() throws Exception {
        List<String> pages = new ArrayList<>(List.of("bpfgit"));
        VERBS.forEach(v -> pages.add("bpfgit-" + v));
        pages.add("bpfgit-state-export");
        for (String page : pages) {
            Path file = SHARE.resolve("man/man1/" + page + ".1");
            assertTrue(Files.isRegularFile(file), file.toString());
            Commands.Result man = Commands.exec("env", "MANWIDTH=80", "man", "-l", file.toString());
            assertEquals(0, man.exitCode(), man.toString());
            String text = man.stdout().replaceAll(".\b", "");
            assertTrue(text.contains("NAME\n       " + page + " - "), page + ": " + text);
            assertTrue(text.contains("EXAMPLES"), page + ": " + text);
            assertTrue(text.contains("EXIT CODES"), page + ": " + text);
            Commands.Result warnings = Commands.exec("groff", "-man", "-Tutf8", "-z", "-ww", file.toString());
            assertEquals("", warnings.stderr(), page + " renders without groff warnings");
        }
        String explain = Commands.exec("env", "MANWIDTH=80", "man", "-l",
                SHARE.resolve("man/man1/bpfgit-explain.1").toString()).stdout().replaceAll(".\b", "");
        assertTrue(explain.contains("bpfgit explain 198.51.100.7"), explain);
        assertTrue(explain.contains("--interface=IF"), explain);
    }

    /** explain --against: the committed revision as if applied, against the working tree's files. */
    @Test
    void explainAgainstARevisionNeedsNoKernel(@TempDir Path repo) throws Exception {
        Path file = Bpfgit.write(repo.resolve("policies"), "edge.yaml", Bpfgit.traffic("edge-filter", "eth0", "xdp",
                "source", "pass", "{prefix: 198.51.100.0/24, action: drop}",
                "{prefix: 198.51.100.7/32, action: redirect, to: eth1}"));
        Commands.run("git", "-C", repo.toString(), "init", "-q", "-b", "main");
        Commands.run("git", "-C", repo.toString(), "add", ".");
        Commands.run("git", "-C", repo.toString(), "-c", "user.name=t", "-c", "user.email=t@example.com", "commit",
                "-qm", "edge");
        Files.writeString(file, Files.readString(file).replace("action: drop}", "action: pass}"));
        Path policies = file.getParent();

        Bpfgit.Cli redirect = Bpfgit.cli(null, "explain", "198.51.100.7", policies.toString(), "--against", "HEAD",
                "-o", "json");
        assertEquals(0, redirect.exit(), redirect.toString());
        var u = redirect.json().at("/units/0");
        assertEquals("revision HEAD", redirect.json().get("source").asString());
        assertEquals("redirect eth1", u.get("verdict").asString());
        assertEquals("eth1", u.get("target").asString());
        assertEquals(file + ":12:16", u.get("declared").asString());
        assertEquals("in sync", u.get("files").asString());

        Bpfgit.Cli changed = Bpfgit.cli(null, "explain", "198.51.100.8", policies.toString(), "--against", "HEAD");
        assertEquals(0, changed.exit(), changed.toString());
        assertTrue(changed.out().startsWith("198.51.100.8 (from the revision HEAD)\nTrafficPolicy eth0, xdp: drop\n"),
                changed.out());
        assertTrue(changed.out().contains("  files     drifted: kernel 198.51.100.0/24 drop (TrafficPolicy/edge-filter);"
                + " files 198.51.100.0/24 pass (TrafficPolicy/edge-filter)\n"), changed.out());
    }

    @Test
    void everyVerbsHelpHasAnExampleAndItsExitCodes() {
        for (String verb : VERBS) {
            Bpfgit.Cli help = Bpfgit.cli(null, verb, "--help");
            assertEquals(0, help.exit(), help.toString());
            String out = help.out();
            assertTrue(out.contains("\nExit codes:\n  0   "), verb + ": " + out);
            assertTrue(out.contains("\nExamples:\n  bpfgit ") || out.contains("\nExamples:\n  sudo bpfgit "),
                    verb + ": " + out);
            out.lines().forEach(l -> assertTrue(l.length() <= 80, verb + " --help line over 80 columns: " + l));
        }
    }
}
