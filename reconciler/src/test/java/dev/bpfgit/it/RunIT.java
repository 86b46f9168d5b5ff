package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bpfgit run} as operators run it: the packaged tool as a process inside a test namespace with a
 * veth pair, a directory source, its HTTP endpoints scraped from inside the namespace, signals and exit
 * codes. Every process started here is killed in finally; pin roots and namespaces are removed.
 */
@KernelTest
class RunIT {
    static final String UNIT = "traffic/eth0/xdp";
    static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}");
    static final String CHANGED = POLICY.replace("{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 198.51.100.0/24, action: drop}");
    static final String BROKEN = traffic("broken", "eth0", "xdp", "source", "pass",
            "{prefix: 192.0.2.0/24, action: dorp}");
    private static final Duration START = Duration.ofSeconds(90);

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    /** A {@code bpfgit run} child process, its output in a file, its endpoints on a port of its namespace. */
    static final class Daemon implements AutoCloseable {
        final TestNetns ns;
        final int port;
        final Process process;
        final Path log;
        final Path root;

        Daemon(TestNetns ns, Path root, Path config, int port, Path log) {
            this(ns, root, config, port, log, java.util.Map.of());
        }

        /** With variables added to the daemon's environment. */
        Daemon(TestNetns ns, Path root, Path config, int port, Path log, java.util.Map<String, String> env) {
            this.ns = ns;
            this.port = port;
            this.log = log;
            this.root = root;
            List<String> c = List.of("nsenter", "--net=" + ns.path(), Bpfgit.REPO.resolve("bpfgit").toString(),
                    "run", "--config", config.toString(), "--root", root.toString(), "--host", "it-host");
            try {
                // nsenter and the launcher exec: this process is the JVM, and a signal to it reaches bpfgit
                ProcessBuilder b = new ProcessBuilder(c).directory(Bpfgit.REPO.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .redirectErrorStream(true).redirectOutput(log.toFile());
                b.environment().putAll(env);
                process = b.start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** HTTP status and body of a GET on the daemon's loopback endpoint, from inside its namespace. */
        Http get(String path) {
            Commands.Result r = ns.exec("curl", "-s", "-m", "5", "-w", "\n%{http_code}",
                    "http://127.0.0.1:" + port + path);
            String out = r.stdout();
            int nl = out.lastIndexOf('\n');
            return new Http(Integer.parseInt(out.substring(nl + 1).trim()), nl < 0 ? "" : out.substring(0, nl));
        }

        String log() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "<" + e + ">";
            }
        }

        void awaitReady() {
            assertTrue(Topology.waitFor(START, Duration.ofMillis(200), () -> !process.isAlive()
                    || get("/readyz").code() == 200), "not ready within " + START + ":\n" + log());
            assertTrue(process.isAlive(), "bpfgit run ended:\n" + log());
        }

        /** SIGTERM; returns the exit code, failing if the process did not end within {@code within}. */
        int terminate(Duration within) throws InterruptedException {
            process.destroy();
            assertTrue(process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS),
                    "bpfgit run still running " + within + " after SIGTERM:\n" + log());
            return process.exitValue();
        }

        @Override
        public void close() {
            if (process.isAlive()) {
                process.destroyForcibly();
                try {
                    process.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            noHostState(root);
        }

        @Override
        public String toString() {
            return log();
        }
    }

    record Http(int code, String body) {
    }

    /**
     * A test's {@code source.lastGood}, in its own directory: a sidecar's copy of its applied revision is state a
     * test must not leave on the host (the default is /var/lib/bpfgit/lastgood).
     */
    static String lastGood(Path dir) {
        return "\n  lastGood: " + dir.resolve("state/lastgood");
    }

    /**
     * Fails when a sidecar of {@code root} kept its copy at the default source.lastGood (a test's config that
     * forgot {@link #lastGood}), after removing it: a test leaves no host state, even when it fails.
     */
    static void noHostState(Path root) {
        if (dev.bpfgit.run.LastGoodStore.remove(dev.bpfgit.run.Config.DEFAULT_LAST_GOOD, root).isPresent()) {
            throw new AssertionError("a sidecar of " + root + " kept its copy under "
                    + dev.bpfgit.run.Config.DEFAULT_LAST_GOOD + ": give the test's config RunIT.lastGood(dir)");
        }
    }

    private static Path config(Path dir, Path root, Path policies, int port) throws IOException {
        Path c = dir.resolve("bpfgit-" + port + ".yaml");
        Files.writeString(c, "root: " + root + "\nhost: {name: it-host}\nsource:\n  path: " + policies + lastGood(dir)
                + "\nreconcile: {interval: 2s, jitter: 0, drift: correct}\nmetrics:\n  listen: 127.0.0.1:" + port
                + "\n");
        return c;
    }

    private static int port() {
        return ThreadLocalRandom.current().nextInt(20000, 40000);
    }

    /** The action of a prefix in the unit's rule map, or "absent". */
    static String action(Bpfgit.Host edge, String prefix) throws Exception {
        Bytes key = TrafficLayout.key(Prefix.parse(prefix));
        for (Entry e : edge.entries(UNIT + "/rules_v4")) {
            if (e.key().equals(key)) {
                return TrafficLayout.rule(e.value()).action().yaml;
            }
        }
        return "absent";
    }

    private static Map<String, String> rules(Bpfgit.Host edge) throws Exception {
        Map<String, String> m = new TreeMap<>();
        for (String v : List.of("rules_v4", "rules_v6")) {
            for (Entry e : edge.entries(UNIT + "/" + v)) {
                m.put(TrafficLayout.prefix(e.key()).toString(), HexFormat.of().formatHex(e.value().toArray()));
            }
        }
        return m;
    }

    /** Prefix to action and owning policy id: what a rule means, without its counter slot and generation. */
    private static Map<String, String> meaning(Bpfgit.Host edge) throws Exception {
        Map<String, String> m = new TreeMap<>();
        for (String v : List.of("rules_v4", "rules_v6")) {
            for (Entry e : edge.entries(UNIT + "/" + v)) {
                TrafficLayout.Rule r = TrafficLayout.rule(e.value());
                m.put(TrafficLayout.prefix(e.key()).toString(), r.action().yaml + " " + r.policy());
            }
        }
        return m;
    }

    static double sample(String metrics, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), "no sample matching " + regex + " in\n" + metrics);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void followsTheDirectoryCorrectsDriftWhileInvalidAndLeavesTheDatapathOnSigterm(@TempDir Path dir)
            throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = port();
            Path cfg = config(dir, root.path(), policies, port);
            String revision;
            Bpfgit.Cli planned = edge.cli("plan", policies.toString());
            assertEquals(1, planned.exit(), planned.toString());
            String counts = planned.out().lines().toList().getLast();
            try (Daemon d = new Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run1.log"))) {
                d.awaitReady();
                // the first apply's log line counts as the text plan does (the rules table once, not per family)
                assertTrue(counts.startsWith("Plan: 5 to create,"), planned.toString());
                assertTrue(Pattern.compile("(?m)revision dir:[0-9a-f]+: " + Pattern.quote(counts) + "$")
                        .matcher(d.log()).find(), counts + "\n" + d);
                assertEquals(200, d.get("/healthz").code(), d.toString());
                assertEquals(404, d.get("/nothing").code());
                assertEquals("drop", action(edge, "203.0.113.0/24"));
                assertEquals("pass", action(edge, "198.51.100.0/24"));

                // a file change reaches the kernel within about a second
                long t0 = System.nanoTime();
                write(policies, "edge.yaml", CHANGED);
                assertTrue(Topology.waitFor(Duration.ofSeconds(3), Duration.ofMillis(20),
                        () -> Bpfgit.unchecked(() -> action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 1500, "change applied after " + ms + " ms:\n" + d);

                // metrics: the revision, parses, per-rule counters of real packets
                assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
                String metrics = d.get("/metrics").body();
                Matcher rev = Pattern.compile("(?m)^bpfgit_revision_info\\{revision=\"(dir:[0-9a-f]+)\",short=\"dir:[0-9a-f]+\"} 1")
                        .matcher(metrics);
                assertTrue(rev.find(), metrics);
                revision = rev.group(1);
                assertEquals(2, sample(metrics, "bpfgit_parses_total"), metrics);
                assertEquals(3, sample(metrics, "bpfgit_traffic_rule_packets_total\\{action=\"drop\","
                        + "policy=\"TrafficPolicy/edge-filter\",prefix=\"203\\.0\\.113\\.0/24\",unit=\"traffic/eth0/xdp\"}"),
                        metrics);
                assertEquals(1, sample(metrics, "bpfgit_ready"), metrics);
                assertEquals(0, sample(metrics, "bpfgit_traffic_rule_series_omitted"), metrics);

                // an invalid file: nothing changes in the kernel, the loop stays healthy, status names file:line
                Map<String, String> before = rules(edge);
                Path broken = write(policies, "broken.yaml", BROKEN);
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        sample(d.get("/metrics").body(), "bpfgit_reconcile_total\\{result=\"invalid\"}") >= 1), d.toString());
                Bpfgit.Cli status = edge.cli("status");
                assertEquals(0, status.exit(), status.toString());
                assertTrue(Pattern.compile("(?m)^Source: directory " + Pattern.quote(policies.toString())
                        + ": revision dir:[0-9a-f]+ is invalid since .*: " + Pattern.quote(broken.toString())
                        + ":11:\\d+: error: /spec/rules/0/action: .*; last fetch \\d+s ago$").matcher(status.out()).find(),
                        status.out());
                JsonNode json = edge.cli("status", "-o", "json").json();
                assertEquals("invalid", json.at("/sidecar/state").asString(), json.toString());
                assertEquals(before, rules(edge));
                assertEquals(200, d.get("/healthz").code());
                assertEquals(200, d.get("/readyz").code(), "the last good revision is applied and in sync");

                // drift injected while the source is invalid is corrected within one interval (2s)
                Map<String, String> meaning = meaning(edge);
                String key = hexBytes(TrafficLayout.key(Prefix.parse("203.0.113.0/24")).toArray());
                List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                        root.resolve(UNIT + "/rules_v4").toString(), "key", "hex"));
                delete.addAll(List.of(key.split(" ")));
                Commands.run(delete.toArray(String[]::new));
                assertEquals("absent", action(edge, "203.0.113.0/24"));
                assertTrue(Topology.waitFor(Duration.ofSeconds(3), Duration.ofMillis(50),
                        () -> Bpfgit.unchecked(() -> action(edge, "203.0.113.0/24")).equals("drop")),
                        "drift not corrected within an interval:\n" + d);
                assertEquals(meaning, meaning(edge), "the rule put back as it was (a fresh counter slot)");
                assertTrue(sample(d.get("/metrics").body(), "bpfgit_drift_corrected_total") >= 1);

                // SIGTERM: exit 0 within 5 s, links stay pinned and attached
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
                assertTrue(d.log().contains("the datapath stays attached"), d.toString());
            }
            assertTrue(edge.pins().contains(UNIT + "/link LINK"), edge.pins().toString());
            assertNotEquals(0, t.xdpProgId("edge", "eth0"));
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 2), "still dropping");

            // a restart with the same source changes nothing
            Files.delete(policies.resolve("broken.yaml"));
            Bpfgit.Cli plan = edge.cli("plan", policies.toString());
            assertEquals(0, plan.exit(), plan.toString());
            String applied = edge.cli("status", "-o", "json").json().get("applied").asString();
            try (Daemon d = new Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run2.log"))) {
                d.awaitReady();
                JsonNode json = edge.cli("status", "-o", "json").json();
                assertEquals(applied, json.get("applied").asString(), "nothing applied again:\n" + d);
                assertEquals(revision, json.get("revision").asString());
                assertEquals("ok", json.at("/sidecar/state").asString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
        }
    }

    /** {@code git ARGS} in {@code repo} with a private HOME, so that no user or system configuration takes part. */
    static String git(Path repo, Path home, String... args) {
        List<String> c = new ArrayList<>(List.of("env", "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1",
                "GIT_AUTHOR_NAME=Ada Operator", "GIT_AUTHOR_EMAIL=ada@example.com",
                "GIT_COMMITTER_NAME=Ada Operator", "GIT_COMMITTER_EMAIL=ada@example.com", "git", "-C", repo.toString()));
        c.addAll(List.of(args));
        return Commands.run(c.toArray(String[]::new)).strip();
    }

    static String commit(Path repo, Path home, String message) {
        git(repo, home, "add", "-A");
        git(repo, home, "commit", "-q", "-m", message);
        return git(repo, home, "rev-parse", "HEAD");
    }

    @Test
    void followsAGitBranchCommitByCommit(@TempDir Path dir) throws Exception {
        Path repo = dir.resolve("repo");
        Path home = Files.createDirectories(dir.resolve("home"));
        write(repo.resolve("hosts/edge"), "edge.yaml", POLICY);
        write(repo, "README.md", "not a policy\n");
        git(repo, home, "init", "-q", "-b", "main");
        String first = commit(repo, home, "edge filter");
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = port();
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  git:\n"
                    + "    url: file://" + repo + "\n    branch: main\n    path: hosts/edge\n    interval: 1s\n"
                    + "    cache: " + dir.resolve("cache") + "\nreconcile: {interval: 30s, jitter: 0}\n"
                    + "metrics: {listen: 127.0.0.1:" + port + "}\n");
            try (Daemon d = new Daemon(t.ns("edge"), root.path(), cfg, port, dir.resolve("run.log"))) {
                d.awaitReady();
                String m = d.get("/metrics").body();
                assertEquals(1, sample(m, "bpfgit_revision_info\\{revision=\"" + first + "\",short=\""
                        + first.substring(0, 12) + "\"}"), m);
                JsonNode status = edge.cli("status", "-o", "json").json();
                assertEquals(first, status.get("revision").asString(), status.toString());
                assertEquals("edge filter", status.at("/commit/subject").asString(), status.toString());

                Thread.sleep(3000);   // three checks of an unchanged remote
                assertEquals(1, sample(d.get("/metrics").body(), "bpfgit_parses_total"), "no parse:\n" + d);

                write(repo.resolve("hosts/edge"), "edge.yaml", CHANGED);
                long t0 = System.nanoTime();
                String second = commit(repo, home, "drop 198.51.100.0/24 too");
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(20),
                        () -> Bpfgit.unchecked(() -> action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 3000, "commit applied after " + ms + " ms (interval 1s):\n" + d);
                m = d.get("/metrics").body();
                assertEquals(2, sample(m, "bpfgit_parses_total"), m);
                assertEquals(1, sample(m, "bpfgit_revision_info\\{revision=\"" + second + "\",short=\""
                        + second.substring(0, 12) + "\"}"), m);

                write(repo.resolve("hosts/edge"), "broken.yaml", BROKEN);
                String third = commit(repo, home, "a typo");
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        edge.cli("status", "-o", "json").json().at("/sidecar/state").asString().equals("invalid")),
                        d.toString());
                Bpfgit.Cli text = edge.cli("status");
                assertTrue(Pattern.compile("(?m)^Source: git file://" + Pattern.quote(repo.toString())
                        + " main:hosts/edge: revision " + third + " is invalid since .*broken\\.yaml:11:\\d+: error: ")
                        .matcher(text.out()).find(), text.out());
                assertEquals(second, edge.cli("status", "-o", "json").json().get("revision").asString());
                assertEquals("drop", action(edge, "198.51.100.0/24"));
                assertEquals(200, d.get("/readyz").code());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
            assertTrue(edge.pins().contains(UNIT + "/link LINK"), edge.pins().toString());
        }
    }

    private static String signedCommit(Path repo, Path home, String message, Path key) {
        git(repo, home, "add", "-A");
        git(repo, home, "-c", "gpg.format=ssh", "-c", "user.signingkey=" + key, "commit", "-q", "-S", "-m", message);
        return git(repo, home, "rev-parse", "HEAD");
    }

    private static Path sshKey(Path dir, String name) throws IOException {
        Path key = Files.createDirectories(dir.resolve("keys")).resolve(name);
        Commands.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString());
        return key;
    }

    private static String sidecarState(Bpfgit.Host edge) {
        return edge.cli("status", "-o", "json").json().at("/sidecar/state").asString();
    }

    /**
     * Design §6 over a network transport: a git daemon on 127.0.0.1 inside the sidecar's namespace, a branch
     * whose commits must be signed by an allowed key. Unsigned and stranger-signed heads are refused and
     * change nothing; a signed one is applied; an invalid signed commit is reported and the next good one
     * recovers; with the server stopped the datapath stays and status gives the age of the last fetch;
     * SIGTERM leaves the programs attached and a restart at the same commit changes nothing.
     */
    @Test
    void followsASignedBranchOverAGitDaemon(@TempDir Path dir) throws Exception {
        Path repo = dir.resolve("repo");
        Path home = Files.createDirectories(dir.resolve("home"));
        Path trusted = sshKey(dir, "trusted");
        Path stranger = sshKey(dir, "stranger");
        Path allowed = dir.resolve("allowed_signers");
        Files.writeString(allowed, "ada@example.com namespaces=\"git\" " + Files.readString(Path.of(trusted + ".pub")));
        write(repo.resolve("hosts/edge"), "edge.yaml", POLICY);
        git(repo, home, "init", "-q", "-b", "main");
        String first = signedCommit(repo, home, "edge filter", trusted);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns ns = t.ns("edge");
            Bpfgit.Host edge = new Bpfgit.Host(ns, root.path());
            int gitPort = port();
            String[] daemonCommand = {"/usr/lib/git-core/git-daemon", "--listen=127.0.0.1", "--port=" + gitPort,
                    "--export-all", "--reuseaddr", "--base-path=" + dir, dir.toString()};
            Process gitd = ns.start(daemonCommand);
            assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(100), () ->
                    ns.exec("git", "ls-remote", "git://127.0.0.1:" + gitPort + "/repo").exitCode() == 0), "git daemon");
            int port = port();
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  git:\n"
                    + "    url: git://127.0.0.1:" + gitPort + "/repo\n    branch: main\n    path: hosts/edge\n"
                    + "    interval: 1s\n    timeout: 3s\n    verify: {allowedSigners: " + allowed + "}\n"
                    + "    cache: " + dir.resolve("cache") + "\nreconcile: {interval: 2s, jitter: 0}\n"
                    + "metrics: {listen: 127.0.0.1:" + port + "}\n");
            try (Daemon d = new Daemon(ns, root.path(), cfg, port, dir.resolve("run.log"))) {
                d.awaitReady();
                assertEquals(first, edge.cli("status", "-o", "json").json().get("revision").asString());

                write(repo.resolve("hosts/edge"), "edge.yaml", CHANGED);
                String unsigned = commit(repo, home, "drop 198.51.100.0/24 (unsigned)");
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(200), () ->
                        sidecarState(edge).equals("refused")), "unsigned head not refused:\n" + d);
                Bpfgit.Cli text = edge.cli("status");
                assertTrue(text.out().contains(unsigned) && text.out().contains("not signed"), text.out());
                assertEquals("pass", action(edge, "198.51.100.0/24"), "a refused commit changes nothing");

                Files.writeString(repo.resolve("hosts/edge/README.md"), "stranger\n");
                String strangers = signedCommit(repo, home, "signed by a stranger", stranger);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(200), () ->
                        edge.cli("status").out().contains(strangers)), "stranger's head not seen:\n" + d);
                assertEquals("refused", sidecarState(edge));
                assertEquals("pass", action(edge, "198.51.100.0/24"));
                assertTrue(sample(d.get("/metrics").body(), "bpfgit_refused_commits_total") >= 2, d.get("/metrics").body());

                Files.writeString(repo.resolve("hosts/edge/README.md"), "trusted\n");
                String signed = signedCommit(repo, home, "drop 198.51.100.0/24, signed", trusted);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(50), () ->
                        Bpfgit.unchecked(() -> action(edge, "198.51.100.0/24")).equals("drop")), d.toString());
                assertTrue(Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(100), () ->
                        sidecarState(edge).equals("ok")), d.toString());
                assertEquals(signed, edge.cli("status", "-o", "json").json().get("revision").asString());

                write(repo.resolve("hosts/edge"), "broken.yaml", BROKEN);
                String broken = signedCommit(repo, home, "a typo, signed", trusted);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(200), () ->
                        sidecarState(edge).equals("invalid")), d.toString());
                assertTrue(edge.cli("status").out().contains("revision " + broken + " is invalid"), d.toString());
                Files.delete(repo.resolve("hosts/edge/broken.yaml"));
                String fixed = signedCommit(repo, home, "fix the typo", trusted);
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(200), () ->
                        sidecarState(edge).equals("ok")), "the next good commit did not recover:\n" + d);
                assertEquals(fixed, edge.cli("status", "-o", "json").json().get("revision").asString());

                Map<String, String> applied = rules(edge);
                gitd.destroy();
                assertTrue(gitd.waitFor(5, TimeUnit.SECONDS));
                assertTrue(Topology.waitFor(Duration.ofSeconds(15), Duration.ofMillis(250), () ->
                        sidecarState(edge).equals("unreachable")), "server stopped, not reported:\n" + d);
                Thread.sleep(2500);
                Bpfgit.Cli down = edge.cli("status");
                assertTrue(Pattern.compile("last fetch ([3-9]|[1-9]\\d+)s ago").matcher(down.out()).find(), down.out());
                assertEquals(applied, rules(edge), "the datapath stays while the server is down");
                assertEquals(200, d.get("/healthz").code());
                assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.toString());
            }
            assertTrue(edge.pins().contains(UNIT + "/link LINK"), edge.pins().toString());

            Process again = ns.start(daemonCommand);
            try {
                assertTrue(Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(100), () ->
                        ns.exec("git", "ls-remote", "git://127.0.0.1:" + gitPort + "/repo").exitCode() == 0));
                int port2 = port();
                Files.writeString(cfg, Files.readString(cfg).replace(":" + port + "}", ":" + port2 + "}"));
                try (Daemon d = new Daemon(ns, root.path(), cfg, port2, dir.resolve("run2.log"))) {
                    d.awaitReady();
                    String m = d.get("/metrics").body();
                    assertEquals(0, sample(m, "bpfgit_map_entries_written_total"), "a restart at the same commit wrote:\n" + m);
                    assertEquals(0, sample(m, "bpfgit_map_entries_deleted_total"), m);
                    assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.toString());
                }
            } finally {
                again.destroy();
            }
        }
    }

    @Test
    void hostileFilesKeepTheProcessAliveAndTheKernelUnchanged(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = port();
            try (Daemon d = new Daemon(t.ns("edge"), root.path(), config(dir, root.path(), policies, port), port,
                    dir.resolve("run.log"))) {
                d.awaitReady();
                Map<String, String> before = rules(edge);
                StringBuilder bomb = new StringBuilder("a0: &a0 [x, x]\n");
                for (int i = 1; i <= 20; i++) {
                    bomb.append("a").append(i).append(": &a").append(i).append(" [*a").append(i - 1).append(", *a")
                            .append(i - 1).append("]\n");
                }
                Path mkfifo = policies.resolve("x.yaml");
                Map<String, Runnable> hostile = new java.util.LinkedHashMap<>();
                hostile.put("40 KB of nesting", () -> Bpfgit.unchecked(() ->
                        write(policies, "deep.yaml", "[".repeat(40_000) + "]".repeat(40_000) + "\n")));
                hostile.put("a fifo named x.yaml", () -> Commands.run("mkfifo", mkfifo.toString()));
                hostile.put("alias bomb", () -> Bpfgit.unchecked(() -> write(policies, "bomb.yaml", bomb.toString())));
                double invalid = 0;
                for (Map.Entry<String, Runnable> h : hostile.entrySet()) {
                    h.getValue().run();
                    double seen = invalid;
                    boolean reacted = Topology.waitFor(Duration.ofSeconds(10), Duration.ofMillis(200), () ->
                            !d.process.isAlive() || sample(d.get("/metrics").body(),
                                    "bpfgit_reconcile_total\\{result=\"invalid\"}") > seen);
                    assertTrue(d.process.isAlive(), h.getKey() + " ended bpfgit run:\n" + d);
                    assertEquals(200, d.get("/healthz").code(), h.getKey() + ":\n" + d);
                    assertEquals(before, rules(edge), h.getKey());
                    // the fifo too: it is refused by name (never opened), which makes the revision invalid
                    assertTrue(reacted, h.getKey() + " was not reported as invalid:\n" + d);
                    invalid = sample(d.get("/metrics").body(), "bpfgit_reconcile_total\\{result=\"invalid\"}");
                    Files.delete(h.getKey().startsWith("a fifo") ? mkfifo
                            : policies.resolve(h.getKey().startsWith("alias") ? "bomb.yaml" : "deep.yaml"));
                }
                Bpfgit.Cli status = edge.cli("status");
                assertEquals(0, status.exit(), status.toString());
                assertEquals(0, d.terminate(Duration.ofSeconds(5)), d.toString());
            }
        }
    }

    /**
     * Issue 5's fuzz corpus through the sidecar, as through validate (ValidateFuzzTest): 10,000 generated
     * hostile files dropped into the watched directory in batches of 1,000 (each batch with one file known to
     * be invalid, so that no batch can be applied), then removed. After every batch the process is alive and
     * healthy, the revision is reported invalid, and the kernel holds exactly what it held before.
     */
    @Test
    void tenThousandHostileFilesThroughTheSidecarChangeNothing(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        List<dev.bpfgit.fuzz.HostileInputs.Input> inputs = new dev.bpfgit.fuzz.HostileInputs(20261126L,
                dev.bpfgit.fuzz.HostileInputs.validPolicies(Bpfgit.REPO)).generate(10_000);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int port = port();
            try (Daemon d = new Daemon(t.ns("edge"), root.path(), config(dir, root.path(), policies, port), port,
                    dir.resolve("run.log"))) {
                d.awaitReady();
                Map<String, String> before = rules(edge);
                long started = System.nanoTime();
                long worst = 0;
                for (int from = 0; from < inputs.size(); from += 1_000) {
                    double seen = sample(d.get("/metrics").body(), "bpfgit_reconcile_total\\{result=\"invalid\"}");
                    Path batch = policies.resolve("fuzz");
                    // written beside the tree and moved in at once: one revision per batch
                    Path staging = Files.createDirectories(dir.resolve("staging"));
                    for (int i = from; i < Math.min(from + 1_000, inputs.size()); i++) {
                        Files.write(staging.resolve("f" + i + ".yaml"), inputs.get(i).bytes());
                    }
                    write(staging, "zz-broken.yaml", BROKEN);
                    long t0 = System.nanoTime();
                    Files.move(staging, batch);
                    String what = "inputs " + from + ".." + (from + 999);
                    assertTrue(Topology.waitFor(Duration.ofSeconds(120), Duration.ofMillis(250), () ->
                            !d.process.isAlive() || sample(d.get("/metrics").body(),
                                    "bpfgit_reconcile_total\\{result=\"invalid\"}") > seen),
                            what + " were not reported as invalid:\n" + d);
                    worst = Math.max(worst, System.nanoTime() - t0);
                    assertTrue(d.process.isAlive(), what + " ended bpfgit run:\n" + d);
                    assertEquals(200, d.get("/healthz").code(), what + ":\n" + d);
                    assertEquals(200, d.get("/readyz").code(), what + ": the last good revision stays applied:\n" + d);
                    assertEquals(before, rules(edge), what);
                    Bpfgit.Cli status = edge.cli("status");
                    assertEquals(0, status.exit(), status.toString());
                    assertTrue(status.out().contains("is invalid"), what + ": " + status.out());
                    try (var files = Files.list(batch)) {
                        for (Path f : files.toList()) {
                            Files.delete(f);
                        }
                    }
                    Files.delete(batch);
                }
                String vm = Files.readAllLines(Path.of("/proc/" + d.process.pid() + "/status")).stream()
                        .filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM: ?");
                System.out.printf("fuzz through run: %d inputs in %d batches, %.1f s, slowest batch to invalid %.1f s,"
                                + " peak RSS %s%n", inputs.size(), (inputs.size() + 999) / 1_000,
                        (System.nanoTime() - started) / 1e9, worst / 1e9, vm.replaceAll("\\s+", " ").substring(6).trim());
                assertEquals(before, rules(edge));
                assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.toString());
            }
        }
    }

    @Test
    void fatalErrorsExitThreeAndTheProcessEnds(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns edgeNs = t.ns("edge");
            int port = port();
            Path cfg = config(dir, root.path(), policies, port);

            // the metrics port already taken
            Process holder = edgeNs.start("python3", "-c", "import socket,time\ns=socket.socket()\n"
                    + "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('127.0.0.1'," + port + "))\n"
                    + "s.listen()\nprint('listening', flush=True)\ntime.sleep(120)\n");
            try {
                assertTrue(new String(holder.getInputStream().readNBytes(10)).startsWith("listening"));
                try (Daemon d = new Daemon(edgeNs, root.path(), cfg, port, dir.resolve("port.log"))) {
                    assertTrue(d.process.waitFor(START.toSeconds(), TimeUnit.SECONDS), "still running:\n" + d);
                    assertEquals(3, d.process.exitValue(), d.toString());
                    assertTrue(d.log().contains("metrics.listen 127.0.0.1:" + port), d.toString());
                    assertEquals(1, Commands.exec("pgrep", "-f", cfg.toString()).exitCode(), "no process left");
                }
            } finally {
                holder.destroyForcibly().waitFor();
            }

            // a second run on the same root
            try (Daemon first = new Daemon(edgeNs, root.path(), cfg, port, dir.resolve("first.log"))) {
                first.awaitReady();
                int other = port + 1;
                try (Daemon second = new Daemon(edgeNs, root.path(), config(dir, root.path(), policies, other), other,
                        dir.resolve("second.log"))) {
                    assertTrue(second.process.waitFor(START.toSeconds(), TimeUnit.SECONDS), "still running:\n" + second);
                    assertEquals(3, second.process.exitValue(), second.toString());
                    assertTrue(second.log().contains(root.path().toString()), second.toString());
                }
                assertEquals(200, first.get("/readyz").code(), "the first one is undisturbed");
                assertEquals(0, first.terminate(Duration.ofSeconds(5)), first.toString());
            }

            // a configuration it cannot start with
            Path bad = dir.resolve("bad.yaml");
            Files.writeString(bad, "source: {path: " + policies + "}\nreconcile: {drift: sometimes}\n");
            try (Daemon d = new Daemon(edgeNs, root.path(), bad, port, dir.resolve("bad.log"))) {
                assertTrue(d.process.waitFor(START.toSeconds(), TimeUnit.SECONDS), "still running:\n" + d);
                assertEquals(3, d.process.exitValue(), d.toString());
                assertTrue(d.log().contains("reconcile.drift"), d.toString());
            }
        }
    }

    static String hexBytes(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(String.format("%02x", x & 0xff));
        }
        return sb.toString();
    }
}
