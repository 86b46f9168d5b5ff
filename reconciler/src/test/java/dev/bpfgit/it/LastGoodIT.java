package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
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
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sidecar restarted while the branch head is invalid: it enforces the revision the pins record as applied,
 * read again from its git clone (drift is corrected), reports the bad head as invalid, and takes the fix.
 * The packaged tool as a process, in a test namespace, against a git repository made with the git CLI (with
 * RunIT's helpers for the daemon, the rule map, metrics and git).
 */
@KernelTest
class LastGoodIT {
    private static final String UNIT = RunIT.UNIT;
    private static final String POLICY = RunIT.POLICY;
    private static final String FIXED = RunIT.CHANGED;
    private static final String BROKEN = RunIT.BROKEN;

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void aRestartOnAnInvalidHeadEnforcesTheLastAppliedCommit(@TempDir Path dir) throws Exception {
        Path repo = dir.resolve("repo");
        Path home = Files.createDirectories(dir.resolve("home"));
        write(repo.resolve("hosts/edge"), "edge.yaml", POLICY);
        RunIT.git(repo, home, "init", "-q", "-b", "main");
        String good = RunIT.commit(repo, home, "edge filter");
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
                assertEquals(good, edge.cli("status", "-o", "json").json().get("revision").asString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }

            // while no sidecar runs, an invalid commit lands on the branch
            write(repo.resolve("hosts/edge"), "broken.yaml", BROKEN);
            String bad = RunIT.commit(repo, home, "a typo");
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run2.log"))) {
                assertTrue(Topology.waitFor(Duration.ofSeconds(90), Duration.ofMillis(200), () -> !d.process.isAlive()
                        || Bpfgit.unchecked(() -> d.get("/readyz").code()) == 200), d.toString());
                // the bad head is reported: status (text and json), metrics and the log
                JsonNode status = edge.cli("status", "-o", "json").json();
                assertEquals("invalid", status.at("/sidecar/state").asString(), status.toString());
                assertEquals(good, status.get("revision").asString(), status.toString());
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
                String key = RunIT.hexBytes(TrafficLayout.key(Prefix.parse("203.0.113.0/24")).toArray());
                List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                delete.addAll(List.of(key.split(" ")));
                Commands.run(delete.toArray(String[]::new));
                assertEquals("absent", RunIT.action(edge, "203.0.113.0/24"));
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> RunIT.action(edge, "203.0.113.0/24")).equals("drop")),
                        "drift not corrected while the head is invalid:\n" + d);
                assertTrue(RunIT.sample(d.get("/metrics").body(), "bpfgit_drift_corrected_total") >= 1, d.toString());
                assertEquals("invalid", edge.cli("status", "-o", "json").json().at("/sidecar/state").asString());

                // the fix commit is taken
                Files.delete(repo.resolve("hosts/edge/broken.yaml"));
                write(repo.resolve("hosts/edge"), "edge.yaml", FIXED);
                String fix = RunIT.commit(repo, home, "fix the typo, drop 198.51.100.0/24");
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> RunIT.action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        edge.cli("status", "-o", "json").json().at("/sidecar/state").asString().equals("ok")),
                        d.toString());
                assertEquals(fix, edge.cli("status", "-o", "json").json().get("revision").asString());
                assertEquals("drop", RunIT.action(edge, "203.0.113.0/24"));
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
        }
    }

    private static String dirConfig(Path dir, Path root, Path policies, Path lastGood, int port) {
        return "root: " + root + "\nhost: {name: it-host}\nsource:\n  path: " + policies + "\n  lastGood: " + lastGood
                + "\nreconcile: {interval: 2s, jitter: 0, drift: correct}\nmetrics: {listen: 127.0.0.1:" + port + "}\n";
    }

    /** Deletes 203.0.113.0/24 from the rule map with bpftool, as a foreign writer would. */
    private static void deleteRule(PinRoot root) {
        String key = RunIT.hexBytes(TrafficLayout.key(Prefix.parse("203.0.113.0/24")).toArray());
        List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
        delete.addAll(List.of(key.split(" ")));
        Commands.run(delete.toArray(String[]::new));
    }

    /**
     * A directory (a ConfigMap mount) cannot give an earlier revision back: the sidecar keeps a copy of what it
     * applied in source.lastGood, and a restart while the directory is invalid, then empty, enforces it.
     */
    @Test
    void aRestartOnAnInvalidDirectoryEnforcesTheCopyOfTheLastAppliedRevision(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        Path lastGood = dir.resolve("state/lastgood");
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, dirConfig(dir, root.path(), policies, lastGood, port));
            String good;
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run1.log"))) {
                d.awaitReady();
                good = edge.cli("status", "-o", "json").json().get("revision").asString();
                assertTrue(good.startsWith("dir:"), good);
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100),
                        () -> d.log().contains("revision " + good + ": a copy of its 1 file kept in")), d.toString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
            // a hand-run plan of the same files, through a link and typed relative to its working directory,
            // names the revision the sidecar applied and status shows
            Path link = Files.createSymbolicLink(dir.resolve("policies-link"), policies);
            for (String typed : List.of(link.toString(), Bpfgit.REPO.relativize(policies).toString())) {
                Bpfgit.Cli plan = edge.cli("plan", typed);
                assertEquals(0, plan.exit(), plan.toString());
                assertTrue(plan.out().contains("No changes: the host is in sync with revision " + good + "."),
                        plan.toString());
            }
            Path copies = dev.bpfgit.run.LastGoodStore.directory(lastGood, root.path());
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(copies)));
            assertEquals("root", Files.getOwner(copies).getName());

            // while no sidecar runs, an invalid file lands in the directory
            write(policies, "broken.yaml", BROKEN);
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run2.log"))) {
                assertTrue(Topology.waitFor(Duration.ofSeconds(90), Duration.ofMillis(200), () -> !d.process.isAlive()
                        || Bpfgit.unchecked(() -> d.get("/readyz").code()) == 200), d.toString());
                assertEquals("revision " + good + " applied and in sync\n", d.get("/readyz").body());
                JsonNode status = edge.cli("status", "-o", "json").json();
                assertEquals("invalid", status.at("/sidecar/state").asString(), status.toString());
                assertEquals(good, status.get("revision").asString(), status.toString());
                Bpfgit.Cli text = edge.cli("status");
                assertTrue(Pattern.compile("(?m)is invalid since .*broken\\.yaml:\\d+:\\d+: error: ")
                        .matcher(text.out()).find(), text.out());
                String m = d.get("/metrics").body();
                assertTrue(Pattern.compile("(?m)^bpfgit_source_info\\{revision=\"dir:[0-9a-f]{12}\",source=\"directory "
                        + Pattern.quote(policies.toString()) + "\",state=\"invalid\"} 1").matcher(m).find(), m);
                assertTrue(m.contains("bpfgit_revision_info{revision=\"" + good + "\""), m);
                assertTrue(d.log().contains("enforcing revision " + good + " again, the last applied (read again from"
                        + " the copy in " + copies + ")"), d.toString());

                // a foreign write to the rule map is corrected from the copy
                deleteRule(root);
                assertEquals("absent", RunIT.action(edge, "203.0.113.0/24"));
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> RunIT.action(edge, "203.0.113.0/24")).equals("drop")),
                        "drift not corrected while the directory is invalid:\n" + d);
                assertTrue(RunIT.sample(d.get("/metrics").body(), "bpfgit_drift_corrected_total") >= 1, d.toString());
                assertEquals("invalid", edge.cli("status", "-o", "json").json().at("/sidecar/state").asString());

                // the fix is taken, and becomes the copy
                Files.delete(policies.resolve("broken.yaml"));
                write(policies, "edge.yaml", FIXED);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> RunIT.action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        edge.cli("status", "-o", "json").json().at("/sidecar/state").asString().equals("ok")),
                        d.toString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
            String fixed = edge.cli("status", "-o", "json").json().get("revision").asString();
            assertTrue(!fixed.equals(good) && fixed.startsWith("dir:"), fixed);

            // restarted on an empty directory (a mount gone wrong): the fix is enforced from its copy
            Files.delete(policies.resolve("edge.yaml"));
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run3.log"))) {
                d.awaitReady();
                assertTrue(d.log().contains("enforcing revision " + fixed + " again"), d.toString());
                deleteRule(root);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> RunIT.action(edge, "203.0.113.0/24")).equals("drop")),
                        "drift not corrected while the directory is empty:\n" + d);
                assertEquals("drop", RunIT.action(edge, "198.51.100.0/24"));
                assertEquals("invalid", edge.cli("status", "-o", "json").json().at("/sidecar/state").asString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }

            // destroy: the copy goes with the pins, and the state directory it leaves empty
            assertTrue(Files.isDirectory(copies));
            Bpfgit.Cli destroy = edge.cli("destroy", "--yes", "--config", cfg.toString());
            assertEquals(0, destroy.exit(), destroy.toString());
            assertTrue(destroy.out().contains("Removed " + copies + ", the copy of its last applied revision"),
                    destroy.out());
            assertTrue(Files.notExists(root.path()) && Files.notExists(lastGood), destroy.out());
        }
    }

    /**
     * The pins record a revision the copy is not of (applied by hand since): the copy is not enforced, the log
     * says why, and the datapath stays as the pins have it, uncorrected.
     */
    @Test
    void aCopyOfAnotherRevisionThanThePinsRecordIsNotEnforced(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        Path other = write(dir.resolve("other"), "edge.yaml", FIXED).getParent();
        Path lastGood = dir.resolve("state/lastgood");
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, dirConfig(dir, root.path(), policies, lastGood, port));
            String copied;
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run1.log"))) {
                d.awaitReady();
                copied = edge.cli("status", "-o", "json").json().get("revision").asString();
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100),
                        () -> d.log().contains("revision " + copied + ": a copy of its 1 file kept in")), d.toString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
            Bpfgit.Cli apply = edge.cli("apply", other.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            String applied = edge.cli("status", "-o", "json").json().get("revision").asString();
            assertTrue(!applied.equals(copied), applied);

            write(policies, "broken.yaml", BROKEN);
            try (RunIT.Daemon d = new RunIT.Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run2.log"))) {
                assertTrue(Topology.waitFor(Duration.ofSeconds(90), Duration.ofMillis(200), () -> !d.process.isAlive()
                        || d.log().contains("is not enforced")), d.toString());
                assertTrue(d.log().contains("is of revision " + copied) && d.log().contains("not of " + applied
                        + ", the one the pins record as applied"), d.toString());
                assertEquals(503, d.get("/readyz").code());
                deleteRule(root);
                Thread.sleep(5000);   // two reconcile intervals: nothing enforced, nothing corrected
                assertEquals("absent", RunIT.action(edge, "203.0.113.0/24"), d.toString());
                assertEquals("drop", RunIT.action(edge, "198.51.100.0/24"), "the pins stay as applied");
                JsonNode status = edge.cli("status", "-o", "json").json();
                assertEquals("invalid", status.at("/sidecar/state").asString(), status.toString());
                assertEquals(applied, status.get("revision").asString(), status.toString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
        }
    }
}
