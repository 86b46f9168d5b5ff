package dev.bpfgit.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ReusePortGroup end to end with real servers (python members sharing a port with SO_REUSEPORT) in a test
 * namespace, driven through the packaged CLI ({@code apply}, {@code status}, {@code run}); clients connect
 * from a thread of the test inside the namespace and count which member answered.
 */
@KernelTest
class ReusePortGroupIT {
    private static final int PORT = 8080;

    @TempDir
    static Path tmp;
    static Path script;

    PinRoot root;
    TestNetns ns;
    Bpfgit.Host host;
    final Map<String, Process> members = new TreeMap<>();
    final List<Path> cgroups = new ArrayList<>();

    @BeforeAll
    static void files() throws IOException {
        Bpfgit.warmUp();
        script = tmp.resolve("member.py");
        try (InputStream in = ReusePortGroupIT.class.getResourceAsStream("/reuseport/member.py")) {
            Files.copy(in, script);
        }
    }

    @BeforeEach
    void setUp() {
        root = PinRoot.create();
        ns = TestNetns.create();
        host = new Bpfgit.Host(ns, root.path());
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        for (Process p : members.values()) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        host.cli("destroy", "--yes");
        for (Path cg : cgroups) {
            try {
                Files.delete(cg);   // empty once its processes ended
            } catch (IOException e) {
                throw new AssertionError("cgroup " + cg + " not removed: " + e);
            }
        }
        ns.close();
        root.close();
    }

    /** Starts member {@code name} on 127.0.0.1:PORT and writes its pid file ({@code <tmp>/<name>.pid}). */
    Process member(String name) throws IOException {
        Process p = ns.start("python3", script.toString(), name, "tcp", "127.0.0.1", Integer.toString(PORT));
        members.put(name, p);
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(line != null && line.startsWith("ready "), name + " did not start: " + line);
        // nsenter execs the command: the child is the server itself
        Files.writeString(pidFile(name), p.pid() + "\n");
        return p;
    }

    void kill(String name) throws InterruptedException {
        Process p = members.remove(name);
        p.destroyForcibly();
        assertTrue(p.waitFor(5, TimeUnit.SECONDS));
    }

    static Path pidFile(String name) {
        return tmp.resolve(name + ".pid");
    }

    static String group(String strategy, String... members) {
        StringBuilder sb = new StringBuilder("""
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: web}
                spec:
                  port: %d
                  address: 127.0.0.1
                  strategy: %s
                  members:
                """.formatted(PORT, strategy));
        for (String m : members) {
            sb.append("    - ").append(m).append('\n');
        }
        return sb.toString();
    }

    static String pidMember(String name, String extra) {
        return "{name: " + name + ", process: {pidFile: " + pidFile(name) + "}" + extra + "}";
    }

    /** {@code n} TCP connections one after another; who answered, by name ("error: ..." for failures). */
    Map<String, Integer> connect(int n) throws Exception {
        return ns.call(() -> count(n));
    }

    /** As {@link #connect}, on a thread already in the namespace. */
    static Map<String, Integer> count(int n) {
        Map<String, Integer> who = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            who.merge(ask(), 1, Integer::sum);
        }
        return who;
    }

    static String ask() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", PORT), 2000);
            s.setSoTimeout(5000);
            String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return r.isEmpty() ? "error: EOF" : r;
        } catch (IOException e) {
            return "error: " + e.getMessage();
        }
    }

    Bpfgit.Cli apply(Path policies) {
        Bpfgit.Cli apply = host.cli("apply", policies.toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());
        return apply;
    }

    @Test
    void hotStandbySendsAllToTheFirstLiveMemberFailsOverAndReportsADegradedMember(@TempDir Path dir)
            throws Exception {
        member("blue");
        member("green");
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("gone", ""), "{name: green, process: {command: 'member\\.py green tcp'}}")).getParent();
        Bpfgit.Cli applied = apply(policies);
        assertTrue(applied.out().contains("ReusePortGroup/web (tcp 127.0.0.1:" + PORT + ", hot-standby) members:"),
                applied.out());
        assertEquals(Map.of("blue", 100), connect(100));

        // plan: each member, its listener and whether the map holds it
        Bpfgit.Cli plan = host.cli("plan", policies.toString());
        assertEquals(0, plan.exit(), plan.toString());
        assertTrue(plan.out().contains("  0 blue, pidFile " + pidFile("blue") + ": tcp 127.0.0.1:" + PORT + " (pid "
                + members.get("blue").pid() + ", fd "), plan.out());
        assertTrue(plan.out().contains("  1 gone, pidFile " + pidFile("gone") + ": degraded: pidFile "
                + pidFile("gone") + " is missing"), plan.out());
        assertTrue(plan.out().lines().anyMatch(l -> l.startsWith("  2 green, command /member\\.py green tcp/: tcp")
                && l.endsWith(": in the map")), plan.out());

        Bpfgit.Cli status = host.cli("status");
        assertEquals(0, status.exit(), status.toString());
        assertTrue(status.out().contains("reuseport/web"), status.out());
        assertTrue(status.out().lines().anyMatch(l -> l.contains("blue") && l.contains("100 selected")
                && l.contains("tcp 127.0.0.1:" + PORT + " (pid " + members.get("blue").pid())), status.out());
        assertTrue(status.out().lines().anyMatch(l -> l.contains("gone") && l.contains("degraded: pidFile "
                + pidFile("gone") + " is missing")), status.out());
        JsonNode json = host.cli("status", "-o", "json").json();
        JsonNode unit = json.at("/policies/0/units/0");
        JsonNode web = unit.path("members");
        assertEquals("blue", web.path(0).path("name").asText(), json.toString());
        assertEquals(100, web.path(0).path("selected").asLong(), json.toString());
        assertTrue(web.path(1).path("degraded").asBoolean(), json.toString());
        assertEquals(0, web.path(2).path("selected").asLong(), json.toString());

        // the first member dies: the kernel empties its slot, the next live member (found by its command)
        // takes everything
        kill("blue");
        assertEquals(Map.of("green", 50), connect(50));

        // the sockets are not the diff's: still in sync
        Bpfgit.Cli again = host.cli("plan", policies.toString());
        assertEquals(0, again.exit(), again.toString());
        assertTrue(again.out().contains("  0 blue, pidFile " + pidFile("blue") + ": degraded: no tcp listener on"
                + " 127.0.0.1:" + PORT + " in pid "), again.out());
    }

    @Test
    void weightedSplitsNinetyTenWithinThreePointsAndADrainedMemberGetsNothingNew(@TempDir Path dir)
            throws Exception {
        member("blue");
        Process green = member("green");
        String cg = "/bpfgit-it-" + Long.toHexString(System.nanoTime());
        Path cgDir = Path.of("/sys/fs/cgroup/unified" + cg);
        Files.createDirectory(cgDir);
        cgroups.add(cgDir);
        Files.writeString(cgDir.resolve("cgroup.procs"), green.pid() + "\n");
        String greenByCgroup = "{name: green, weight: 10, process: {cgroup: " + cg + "}}";
        Path policies = write(dir.resolve("p"), "web.yaml", group("weighted", pidMember("blue", ", weight: 90"),
                greenByCgroup)).getParent();
        apply(policies);
        Map<String, Integer> who = connect(2000);
        assertEquals(2000, who.getOrDefault("blue", 0) + who.getOrDefault("green", 0), who.toString());
        double blue = 100.0 * who.getOrDefault("blue", 0) / 2000;
        assertTrue(Math.abs(blue - 90) <= 3, "blue got " + blue + "% " + who);

        write(dir.resolve("p"), "web.yaml", group("weighted", pidMember("blue", ", weight: 90"),
                greenByCgroup.replace("weight: 10", "weight: 10, drain: true")));
        apply(policies);
        assertEquals(Map.of("blue", 300), connect(300));
    }

    @Test
    void withRunARestartedMemberIsAdoptedAgainWithinASecond(@TempDir Path dir) throws Exception {
        member("blue");
        member("green");
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("green", ""))).getParent();
        int port = ThreadLocalRandom.current().nextInt(20000, 40000);
        Path config = dir.resolve("bpfgit.yaml");
        Files.writeString(config, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies
                + "\nreconcile: {interval: 30s, jitter: 0, drift: correct}\nmetrics:\n  listen: 127.0.0.1:" + port
                + "\n");
        try (RunIT.Daemon d = new RunIT.Daemon(ns, root.path(), config, port, dir.resolve("run.log"))) {
            d.awaitReady();
            assertTrue(Topology.waitFor(Duration.ofSeconds(5), () -> call(() -> count(20)).equals(Map.of("blue", 20))),
                    d.log());

            kill("blue");
            assertEquals(Map.of("green", 20), connect(20));
            member("blue");
            long start = System.nanoTime();
            // until adopted again the new blue socket is in the group but not in the map: green answers
            assertTrue(Topology.waitFor(Duration.ofSeconds(3), Duration.ofMillis(20),
                    () -> call(ReusePortGroupIT::ask).equals("blue")), d.log());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms <= 1000, "blue adopted again after " + ms + " ms\n" + d.log());
            assertEquals(Map.of("blue", 50), connect(50));
            assertEquals(0, d.terminate(Duration.ofSeconds(30)), d.log());
        }
    }

    interface Body<T> {
        T run() throws Exception;
    }

    <T> T call(Body<T> body) {
        try {
            return ns.call(body::run);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
