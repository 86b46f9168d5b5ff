package dev.bpfgit.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sidecar restarted while the branch head is invalid: it enforces the revision the pins record as applied,
 * read again from its git clone (drift is corrected), reports the bad head as invalid, and takes the fix.
 * The packaged tool as a process, in a test namespace, against a git repository made with the git CLI.
 */
@KernelTest
class LastGoodIT {
    private static final String UNIT = "traffic/eth0/xdp";
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}");
    private static final String FIXED = POLICY.replace("{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 198.51.100.0/24, action: drop}");
    private static final String BROKEN = traffic("broken", "eth0", "xdp", "source", "pass",
            "{prefix: 192.0.2.0/24, action: dorp}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void aRestartOnAnInvalidHeadEnforcesTheLastAppliedCommit(@TempDir Path dir) throws Exception {
        Path repo = dir.resolve("repo");
        Path home = Files.createDirectories(dir.resolve("home"));
        write(repo.resolve("hosts/edge"), "edge.yaml", POLICY);
        git(repo, home, "init", "-q", "-b", "main");
        String good = commit(repo, home, "edge filter");
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  git:\n"
                    + "    url: file://" + repo + "\n    branch: main\n    path: hosts/edge\n    interval: 1s\n"
                    + "    cache: " + dir.resolve("cache") + "\nreconcile: {interval: 2s, jitter: 0, drift: correct}\n"
                    + "metrics: {listen: 127.0.0.1:" + port + "}\n");
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run1.log"))) {
                d.awaitReady();
                assertEquals(good, edge.cli("status", "-o", "json").json().get("revision").asText());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }

            // while no sidecar runs, an invalid commit lands on the branch
            write(repo.resolve("hosts/edge"), "broken.yaml", BROKEN);
            String bad = commit(repo, home, "a typo");
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run2.log"))) {
                assertTrue(Topology.waitFor(Duration.ofSeconds(90), Duration.ofMillis(200), () -> !d.process.isAlive()
                        || Bpfgit.unchecked(() -> d.get("/readyz").code()) == 200), d.toString());
                // the bad head is reported: status (text and json), metrics and the log
                JsonNode status = edge.cli("status", "-o", "json").json();
                assertEquals("invalid", status.at("/sidecar/state").asText(), status.toString());
                assertEquals(good, status.get("revision").asText(), status.toString());
                Bpfgit.Cli text = edge.cli("status");
                assertTrue(Pattern.compile("(?m)revision " + bad + " is invalid since .*broken\\.yaml:\\d+:\\d+: error: ")
                        .matcher(text.out()).find(), text.out());
                String m = d.get("/metrics").body();
                assertTrue(Pattern.compile("(?m)^bpfgit_source_info\\{revision=\"" + bad + "\",source=\"[^\"]*\",state=\"invalid\"} 1")
                        .matcher(m).find(), m);
                assertTrue(m.contains("bpfgit_revision_info{revision=\"" + good + "\""), m);
                assertTrue(d.log().contains("enforcing revision " + good + " again"), d.toString());
                assertTrue(d.log().contains("revision " + bad + " is invalid"), d.toString());

                // a foreign write to the rule map is corrected from the last good commit
                String key = hex(TrafficLayout.key(Prefix.parse("203.0.113.0/24")).toArray());
                List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                delete.addAll(List.of(key.split(" ")));
                Commands.run(delete.toArray(String[]::new));
                assertEquals("absent", action(edge, "203.0.113.0/24"));
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> action(edge, "203.0.113.0/24")).equals("drop")),
                        "drift not corrected while the head is invalid:\n" + d);
                assertTrue(sample(d.get("/metrics").body(), "bpfgit_drift_corrected_total") >= 1, d.toString());
                assertEquals("invalid", edge.cli("status", "-o", "json").json().at("/sidecar/state").asText());

                // the fix commit is taken
                Files.delete(repo.resolve("hosts/edge/broken.yaml"));
                write(repo.resolve("hosts/edge"), "edge.yaml", FIXED);
                String fix = commit(repo, home, "fix the typo, drop 198.51.100.0/24");
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        edge.cli("status", "-o", "json").json().at("/sidecar/state").asText().equals("ok")),
                        d.toString());
                assertEquals(fix, edge.cli("status", "-o", "json").json().get("revision").asText());
                assertEquals("drop", action(edge, "203.0.113.0/24"));
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
        }
    }

    private static String action(Bpfgit.Host edge, String prefix) throws Exception {
        Bytes key = TrafficLayout.key(Prefix.parse(prefix));
        for (Entry e : edge.entries(UNIT + "/rules_v4")) {
            if (e.key().equals(key)) {
                return TrafficLayout.rule(e.value()).action().yaml;
            }
        }
        return "absent";
    }

    private static double sample(String metrics, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), "no sample matching " + regex + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(sb.isEmpty() ? "" : " ").append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }

    private static String git(Path repo, Path home, String... args) {
        List<String> c = new ArrayList<>(List.of("env", "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
                "GIT_AUTHOR_NAME=Ada Operator", "GIT_AUTHOR_EMAIL=ada@example.com",
                "GIT_COMMITTER_NAME=Ada Operator", "GIT_COMMITTER_EMAIL=ada@example.com", "git", "-C", repo.toString()));
        c.addAll(List.of(args));
        return Commands.run(c.toArray(String[]::new)).strip();
    }

    private static String commit(Path repo, Path home, String message) {
        git(repo, home, "add", "-A");
        git(repo, home, "commit", "-q", "-m", message);
        return git(repo, home, "rev-parse", "HEAD");
    }
}
