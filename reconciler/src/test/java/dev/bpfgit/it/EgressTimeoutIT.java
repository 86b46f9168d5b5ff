package dev.bpfgit.it;

import dev.bpfgit.it.EgressFixture.Client;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static dev.bpfgit.it.Bpfgit.write;
import static dev.bpfgit.it.EgressFixture.tcp;
import static dev.bpfgit.it.EgressFixture.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * EgressTimeout end to end: real client processes (python) in a real cgroup v2 made for the test, in a client
 * namespace joined by a veth to a server namespace; the policy applied through the packaged CLI ({@code apply},
 * {@code plan}, {@code status}, {@code run}). Destinations: the server's IPv4 address (matched), its IPv6
 * address (unmatched), and a subnet routed to the server namespace, which drops it (SYNs unanswered).
 */
@KernelTest
class EgressTimeoutIT {
    private static final int PORT = EgressFixture.PORT;

    @TempDir
    static Path tmp;
    static Path[] scripts;

    EgressFixture f;
    // the fixture's, named as the tests read them
    PinRoot root;
    TestNetns client;
    TestNetns server;
    TestNetns.Veth veth;
    Bpfgit.Host host;
    Path cgroup;
    String cgroupName;
    String dropped;

    @BeforeAll
    static void files() throws IOException {
        Bpfgit.warmUp();
        scripts = EgressFixture.scripts(tmp);
    }

    @BeforeEach
    void setUp() throws IOException {
        f = new EgressFixture(scripts, "bpfgit-t-");
        root = f.root;
        client = f.client;
        server = f.server;
        veth = f.veth;
        host = f.host;
        cgroup = f.cgroup;
        cgroupName = f.cgroupName;
        int n = ThreadLocalRandom.current().nextInt(1, 250);
        dropped = "10.253." + n + ".9";
        // the server namespace does not forward, and drops the subnet outright: SYNs to it go unanswered
        server.run("ip", "route", "add", "blackhole", "10.253." + n + ".0/24");
        client.run("ip", "route", "add", "10.253." + n + ".0/24", "via", veth.ipv4B());
    }

    @AfterEach
    void tearDown() throws Exception {
        Bpfgit.Cli[] d = new Bpfgit.Cli[1];
        f.close(() -> d[0] = host.cli("destroy", "--yes"));
        assertEquals(0, d[0].exit(), d[0].toString());
    }

    String policy(String destinations, String timeouts) {
        return f.policy(destinations, timeouts);
    }

    String matched() {
        return "{prefix: " + veth.ipv4B() + "/32}, {prefix: " + dropped.replaceFirst("\\.9$", ".0") + "/24}";
    }

    Client start(boolean inCgroup, String... targets) {
        return f.start(inCgroup, targets);
    }

    static double field(String line, int i) {
        return Double.parseDouble(line.split(" ")[i]);
    }

    @Test
    void runTerminatesIdleAndClosingMatchedConnectionsOfTheCgroupWithinTimeoutPlusPeriod(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("p"), "egress.yaml", policy(matched(),
                "tcpEstablished: 3s, any: 3s, tcpUser: 7s, tcpFin: 2s")).getParent();
        int port = ThreadLocalRandom.current().nextInt(20000, 40000);
        Path config = dir.resolve("bpfgit.yaml");
        Files.writeString(config, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies + RunIT.lastGood(dir)
                + "\nreconcile: {interval: 30s, jitter: 0, drift: correct}\nmetrics:\n  listen: 127.0.0.1:" + port
                + "\n");
        try (RunIT.Daemon d = new RunIT.Daemon(client, root.path(), config, port, dir.resolve("run.log"))) {
            d.awaitReady();
            Client in = start(true, tcp(veth.ipv4B()), udp(veth.ipv4B()), tcp(veth.ipv6B()));
            Client out = start(false, tcp(veth.ipv4B()), udp(veth.ipv4B()));
            Duration t = Duration.ofSeconds(15);
            assertEquals("ut " + tcp(veth.ipv4B()) + " 7000", in.expect("ut ", t), "tcpUser on a matched connection");
            assertEquals("ut " + tcp(veth.ipv6B()) + " 0", in.expect("ut ", t), "an unmatched destination keeps the default");
            assertEquals("ut " + tcp(veth.ipv4B()) + " 0", out.expect("ut ", t), "a process outside the cgroup keeps the default");
            in.expect("connected", t);
            out.expect("connected", t);

            // idle 3s + the reaper's period (1s) + one walk and scheduling slack
            List<String> closed = List.of(in.expect("closed ", Duration.ofSeconds(8)), in.expect("closed ", Duration.ofSeconds(3)));
            for (String c : closed) {
                System.out.println("EgressTimeoutIT: " + c);
                String[] f = c.split(" ");
                assertTrue(f[1].equals(tcp(veth.ipv4B())) || f[1].equals(udp(veth.ipv4B())), c);
                assertEquals("103", f[3], "ECONNABORTED from bpf_sock_destroy: " + c + "\n" + d.log());
                assertTrue(field(c, 2) >= 2.8 && field(c, 2) <= 5.5, "terminated " + field(c, 2) + "s after the last"
                        + " activity, timeout 3s, period 1s: " + c);
            }
            assertTrue(!closed.get(0).split(" ")[1].equals(closed.get(1).split(" ")[1]), closed.toString());
            // the unmatched connection and the outsider's stay open, idle, well past the timeout
            assertNull(in.next(Duration.ofSeconds(4)), "unmatched connection of the cgroup ended");
            assertNull(out.next(Duration.ofMillis(100)), "a connection of a process outside the cgroup ended");
            assertTrue(in.process().isAlive() && out.process().isAlive());

            Bpfgit.Cli status = host.cli("status");
            assertTrue(status.out().contains("terminated for idleness: 1 tcp, 1 udp")
                    && status.out().contains("idle timeouts enforced by bpfgit run"), status.toString());
            String metrics = d.get("/metrics").body();
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("bpfgit_egress_terminated_sockets_total{")
                    && l.contains("policy=\"EgressTimeout/crawler\"") && l.contains("reason=\"idle_tcp\"")
                    && l.endsWith(" 1.0")), metrics);
            assertTrue(metrics.lines().anyMatch(l -> l.startsWith("bpfgit_egress_terminated_sockets_total{")
                    && l.contains("reason=\"idle_udp\"") && l.endsWith(" 1.0")), metrics);

            // a closing connection: TCP_USER_TIMEOUT becomes tcpFin when the FIN goes out, and the reaper ends
            // it tcpFin after it entered the closing states (the server never closes its side)
            Client fin = start(true, "fin:" + veth.ipv4B() + ":" + PORT);
            assertEquals("ut fin:" + veth.ipv4B() + ":" + PORT + " 7000", fin.expect("ut ", t));
            assertEquals("fin fin:" + veth.ipv4B() + ":" + PORT + " 2000", fin.expect("fin ", t));
            fin.expect("connected", t);
            String ended = fin.expect("closed ", Duration.ofSeconds(6));
            System.out.println("EgressTimeoutIT: " + ended);
            assertEquals("103", ended.split(" ")[3], ended + "\n" + d.log());
            assertTrue(field(ended, 2) >= 1.5 && field(ended, 2) <= 4.5, ended);
            Bpfgit.Cli after = host.cli("status");
            assertTrue(after.out().contains("1 closing"), after.toString());
            assertEquals(0, d.terminate(Duration.ofSeconds(30)), d.log());
        }
    }

    @Test
    void applyAloneBoundsTheConnectAttemptAndSetsUserTimeoutAndRemovalRestoresDefaults(@TempDir Path dir) throws Exception {
        Path file = write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpSyn: 2s, tcpUser: 7s, tcpEstablished: 1h"));
        Bpfgit.Cli apply = host.cli("apply", file.getParent().toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());
        assertTrue(apply.out().contains("hold only while 'bpfgit run' runs"), apply.toString());

        Client syn = start(true, "syn:" + dropped + ":80");
        Client outsider = start(false, "syn:" + dropped + ":80");
        String line = syn.expect("syn ", Duration.ofSeconds(20));
        assertEquals("110", line.split(" ")[3], "ETIMEDOUT: " + line);
        System.out.println("EgressTimeoutIT: " + line);
        assertTrue(field(line, 2) >= 1.9 && field(line, 2) <= 2.6, "the attempt took " + field(line, 2)
                + "s with tcpSyn 2s (the default would be over two minutes)");
        // the same attempt by a process outside the cgroup keeps the default (SYN retries for about two minutes)
        assertNull(outsider.next(Duration.ofSeconds(2)), "an attempt outside the cgroup ended early");

        Client in = start(true, tcp(veth.ipv4B()));
        assertEquals("ut " + tcp(veth.ipv4B()) + " 7000", in.expect("ut ", Duration.ofSeconds(10)));
        Bpfgit.Cli status = host.cli("status");
        assertTrue(status.out().contains("no bpfgit run reaper: only the socket-layer timeouts hold")
                && status.out().contains("2 connections given timeouts"), status.toString());

        // (the refused attempt and this connection)
        // the policy no longer covers the destination: new connections get the defaults again
        write(dir.resolve("p"), "egress.yaml", policy("{prefix: 10.254.0.0/16}", "tcpSyn: 2s, tcpUser: 7s"));
        apply = host.cli("apply", file.getParent().toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());
        Client again = start(true, tcp(veth.ipv4B()), "syn:" + dropped + ":80");
        assertEquals("ut " + tcp(veth.ipv4B()) + " 0", again.expect("ut ", Duration.ofSeconds(10)));
        // and an attempt to the dropping destination is no longer cut at tcpSyn
        assertNull(again.next(Duration.ofSeconds(4)), "an attempt ended early after the policy left the destination");

        // and with the policy gone altogether
        Bpfgit.Cli destroy = host.cli("destroy", "--yes");
        assertEquals(0, destroy.exit(), destroy.toString());
        assertEquals(List.of(), host.pins());
        Client last = start(true, tcp(veth.ipv4B()));
        assertEquals("ut " + tcp(veth.ipv4B()) + " 0", last.expect("ut ", Duration.ofSeconds(10)));
        String cg = dev.bpfgit.kernel.testing.Commands.run("bpftool", "cgroup", "show", cgroup.toString());
        assertTrue(!cg.contains("et_"), "programs left on the cgroup: " + cg);
    }

    @Test
    void planListsTheSocketsNewTimeoutsWouldTerminateAndAMissingCgroupIsAnError(@TempDir Path dir) throws Exception {
        Path file = write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpEstablished: 1h"));
        Bpfgit.Cli apply = host.cli("apply", file.getParent().toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());
        Client in = start(true, tcp(veth.ipv4B()), tcp(veth.ipv6B()));
        in.expect("connected", Duration.ofSeconds(10));
        Thread.sleep(2500);

        write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpEstablished: 2s"));
        Bpfgit.Cli plan = host.cli("plan", file.getParent().toString());
        assertEquals(1, plan.exit(), plan.toString());
        List<String> once = plan.out().lines().filter(l -> l.contains("terminated at once")).toList();
        assertEquals(1, once.size(), plan.toString());
        assertTrue(once.getFirst().contains("-> " + veth.ipv4B() + ":" + PORT)
                && once.getFirst().contains("tcpEstablished 2s"), once.toString());
        // a plan changes nothing: the connection is still open
        assertNull(in.next(Duration.ofMillis(500)));

        Path missing = write(dir.resolve("q"), "egress.yaml", policy(matched(), "tcpUser: 1s")
                .replace("cgroup: /" + cgroupName, "cgroup: /" + cgroupName + "-missing"));
        Bpfgit.Cli bad = host.cli("plan", missing.getParent().toString());
        assertEquals(2, bad.exit(), bad.toString());
        assertTrue(bad.err().contains(missing + ":5:") && bad.err().contains("does not exist"), bad.toString());
        assertNotNull(in.process());
    }

    /** What a plan must leave as it was: the pins under the root and the programs on the cgroup. */
    String hostState() throws Exception {
        return host.pins() + "\n" + dev.bpfgit.kernel.testing.Commands.run("bpftool", "cgroup", "show", cgroup.toString());
    }

    /** The programs and maps of EgressTimeout in the whole kernel (by their names). */
    static List<String> egressObjects() {
        List<String> out = new ArrayList<>();
        for (String what : List.of("prog", "map")) {
            dev.bpfgit.kernel.testing.Commands.run("bpftool", what, "show").lines()
                    .filter(l -> l.matches("^\\d+: .*name et_.*")).forEach(out::add);
        }
        return out;
    }

    @Test
    void planBeforeTheFirstApplyListsTheSocketsIdlePastTheNewTimeoutsAndChangesNothing(@TempDir Path dir) throws Exception {
        Client in = start(true, tcp(veth.ipv4B()), tcp(veth.ipv6B()));
        Client out = start(false, tcp(veth.ipv4B()));
        in.expect("connected", Duration.ofSeconds(10));
        out.expect("connected", Duration.ofSeconds(10));
        Thread.sleep(2500);
        Path file = write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpEstablished: 2s, tcpUser: 9s"));
        String before = hostState();
        assertEquals(List.of(), egressObjects(), "EgressTimeout programs or maps before the test");

        Bpfgit.Cli plan = host.cli("plan", file.getParent().toString());
        assertEquals(1, plan.exit(), plan.toString());
        assertTrue(plan.out().contains("hold only while 'bpfgit run' runs"), plan.toString());
        List<String> once = plan.out().lines().filter(l -> l.contains("terminated at once:")).toList();
        // the matched connection of the process in the cgroup; not its unmatched one, not the outsider's
        assertEquals(1, once.size(), plan.toString());
        assertTrue(once.getFirst().contains("python3: tcp " + veth.ipv4A() + ":")
                && once.getFirst().contains(" -> " + veth.ipv4B() + ":" + PORT)
                && once.getFirst().contains("tcpEstablished 2s (EgressTimeout/crawler, " + veth.ipv4B() + "/32)"), once.toString());
        assertTrue(once.getFirst().matches(".*terminated at once: pid \\d+ python3: .*"), once.toString());
        assertTrue(plan.out().contains("1 socket idle past the new timeouts"), plan.toString());

        Bpfgit.Cli json = host.cli("plan", file.getParent().toString(), "-o", "json");
        assertEquals(1, json.exit(), json.toString());
        tools.jackson.databind.JsonNode listed = Bpfgit.JSON.readTree(json.out()).path("idleTerminations");
        assertEquals(1, listed.size(), json.out());
        tools.jackson.databind.JsonNode unit = listed.get(0);
        assertEquals("/" + cgroupName, unit.path("cgroup").asString());
        assertTrue(unit.path("needsRun").asBoolean(), unit.toString());
        assertEquals(1, unit.path("count").asInt(), unit.toString());
        tools.jackson.databind.JsonNode sock = unit.path("sockets").get(0);
        assertEquals("tcp", sock.path("protocol").asString());
        assertEquals(veth.ipv4A(), sock.path("local").asString(), sock.toString());
        assertEquals(veth.ipv4B(), sock.path("remote").asString(), sock.toString());
        assertEquals(PORT, sock.path("remotePort").asInt(), sock.toString());
        assertEquals("tcpEstablished", sock.path("timeout").asString());
        assertTrue(sock.path("idleMs").asLong() > 2000, sock.toString());
        assertEquals("python3", sock.path("owners").get(0).path("command").asString(), sock.toString());

        // a plan is read-only: nothing pinned, attached or left loaded, and every connection still open
        assertEquals(before, hostState());
        assertEquals(List.of(), egressObjects(), "EgressTimeout programs or maps left by the plan");
        assertNull(in.next(Duration.ofMillis(300)));
        assertNull(out.next(Duration.ofMillis(100)));
        assertTrue(in.process().isAlive() && out.process().isAlive());

        // with only socket-layer timeouts, the plan says apply alone enforces them and lists nothing
        write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpSyn: 2s, tcpUser: 9s"));
        Bpfgit.Cli layer = host.cli("plan", file.getParent().toString());
        assertEquals(1, layer.exit(), layer.toString());
        assertTrue(layer.out().contains("apply alone enforces them")
                && !layer.out().contains("terminated at once"), layer.toString());
    }

    @Test
    void aCiPlanFromAnExportedStateCompilesTheCgroupAsTheHostDoes(@TempDir Path dir) throws Exception {
        Path file = write(dir.resolve("p"), "egress.yaml", policy(matched(), "tcpEstablished: 1h, tcpUser: 9s"));
        Bpfgit.Cli apply = host.cli("apply", file.getParent().toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());
        Path state = write(dir, "host.json", host.cli("state", "export").out());
        assertTrue(Files.readString(state).contains("\"/" + cgroupName + "\""), "the cgroup in the state file");

        // the cgroup id in et_config is the host's: the CI plan of the applied files is in sync
        Bpfgit.Cli ci = Bpfgit.cli(null, "plan", file.getParent().toString(), "--state", state.toString());
        assertEquals(0, ci.exit(), ci.toString());
        Bpfgit.Cli live = host.cli("plan", file.getParent().toString());
        assertEquals(0, live.exit(), live.toString());

        // a cgroup the state file does not have is the compile error it is on the host
        Path missing = write(dir.resolve("q"), "egress.yaml", policy(matched(), "tcpUser: 1s")
                .replace("cgroup: /" + cgroupName, "cgroup: /" + cgroupName + "-missing"));
        Bpfgit.Cli bad = Bpfgit.cli(null, "plan", missing.getParent().toString(), "--state", state.toString());
        assertEquals(2, bad.exit(), bad.toString());
        assertTrue(bad.err().contains(missing + ":5:") && bad.err().contains("does not exist on host"), bad.toString());
    }
}
