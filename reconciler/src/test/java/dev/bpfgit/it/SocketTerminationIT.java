package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.CgroupRoot;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SocketTermination end to end through the packaged CLI, with real sockets of other processes: python echo
 * servers and clients in a test namespace, the clients holding TCP and connected UDP sockets to several
 * addresses. Each test runs with the kfunc (iterators) and with the netlink fallback forced
 * ({@code BPFGIT_SOCKTERM_NETLINK=1}), which must give the same results.
 */
@KernelTest
class SocketTerminationIT {
    static final List<String> SERVERS = List.of("tcp:127.0.0.2:8080", "udp:127.0.0.2:5353", "tcp:127.0.0.2:9090",
            "tcp:127.0.0.3:8080", "udp:127.0.0.3:5353");

    @TempDir
    static Path tmp;
    static Path serverScript;
    static Path clientScript;

    PinRoot root;
    TestNetns ns;
    Bpfgit.Host host;
    final List<Client> clients = new ArrayList<>();
    final List<Path> cgroups = new ArrayList<>();

    @BeforeAll
    static void files() throws IOException {
        Bpfgit.warmUp();
        serverScript = copy("server.py");
        clientScript = copy("client.py");
    }

    static Path copy(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = SocketTerminationIT.class.getResourceAsStream("/sockterm/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    @BeforeEach
    void setUp() throws IOException {
        root = PinRoot.create();
        ns = TestNetns.create();
        host = new Bpfgit.Host(ns, root.path());
        List<String> cmd = new ArrayList<>(List.of("python3", serverScript.toString()));
        cmd.addAll(SERVERS);
        Process server = ns.start(cmd.toArray(String[]::new));
        String line = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("ready", line, "servers did not start");
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        for (Client c : clients) {
            c.process.destroyForcibly();
            c.process.waitFor(5, TimeUnit.SECONDS);
        }
        host.cli("destroy", "--yes");
        ns.close();
        for (Path cg : cgroups) {
            try {
                Files.delete(cg);
            } catch (IOException e) {
                throw new AssertionError("cgroup " + cg + " not removed: " + e);
            }
        }
        root.close();
    }

    /** A client process and the local port of each of its sockets, by "proto host:port". */
    record Client(Process process, BufferedReader out, Map<String, Integer> locals) {
        /** Each socket's status now ("ok", "ECONNABORTED", ...), by "proto host:port". */
        Map<String, String> check() throws IOException {
            OutputStream in = process.getOutputStream();
            in.write("check\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            Map<String, String> r = new TreeMap<>();
            for (String l = out.readLine(); l != null && !l.equals("done"); l = out.readLine()) {
                String[] f = l.split(" ");
                if (f[0].equals("result")) {
                    r.put(f[1] + " " + f[2] + ":" + f[3], f[5]);
                }
            }
            return r;
        }

        /** "proto localport" of the sockets to these targets, as plan and kernel name them. */
        Set<String> keys(String... targets) {
            Set<String> s = new TreeSet<>();
            for (String t : targets) {
                s.add(t.split(" ")[0] + " " + locals.get(t));
            }
            return s;
        }
    }

    /**
     * Checks the client's sockets until they are as expected, remembering for each socket the first failure
     * seen: a destroyed socket reports ECONNABORTED on one read only (then end of file, or for UDP no peer).
     */
    static boolean await(Client c, Map<String, String> expected, Duration within) throws IOException, InterruptedException {
        Map<String, String> seen = new TreeMap<>();
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            c.check().forEach((k, v) -> seen.merge(k, v, (old, now) -> old.equals("ok") ? now : old));
            if (seen.equals(expected)) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    Client client(Path cgroup, String... targets) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (cgroup != null) {
            // moved into the cgroup before it creates its sockets: a socket belongs to its creator's cgroup
            cmd.addAll(List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec python3 \"$@\"",
                    "client"));
        } else {
            cmd.add("python3");
        }
        cmd.add(clientScript.toString());
        for (String t : targets) {
            String[] f = t.split("[ :]");
            cmd.add(f[0] + ":" + f[1] + ":" + f[2]);
        }
        Process p = ns.start(cmd.toArray(String[]::new));
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        Map<String, Integer> locals = new TreeMap<>();
        for (String l = out.readLine(); ; l = out.readLine()) {
            assertTrue(l != null, "client ended before it was ready");
            if (l.equals("ready")) {
                break;
            }
            String[] f = l.split(" ");
            assertEquals("socket", f[0], l);
            locals.put(f[1] + " " + f[2] + ":" + f[3], Integer.parseInt(f[4]));
        }
        Client c = new Client(p, out, locals);
        clients.add(c);
        return c;
    }

    static String policy(String name, String mode, String extra) {
        return """
                apiVersion: bpfgit.dev/v1
                kind: SocketTermination
                metadata: {name: %s}
                spec:
                  destinations:
                    - {prefix: 127.0.0.2/32, ports: [8080, 5353]}
                    - {prefix: 127.0.0.0/24, ports: [1]}
                  mode: %s
                %s""".formatted(name, mode, extra);
    }

    Map<String, String> env(boolean netlink) {
        return netlink ? Map.of("BPFGIT_SOCKTERM_NETLINK", "1") : Map.of();
    }

    Bpfgit.Cli cli(boolean netlink, String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add("--root");
        a.add(root.path().toString());
        return Bpfgit.cli(env(netlink), ns, a.toArray(String[]::new));
    }

    /** "proto localport" of the sockets a plan -o json lists for its first policy, checking the owner. */
    static Set<String> planned(JsonNode plan, long ownerPid) {
        Set<String> s = new TreeSet<>();
        for (JsonNode k : plan.path("terminations").get(0).path("sockets")) {
            s.add(k.path("protocol").asString() + " " + k.path("localPort").asInt());
            assertEquals(ownerPid, k.path("owners").get(0).path("pid").asLong(), k.toString());
            assertEquals("python3", k.path("owners").get(0).path("command").asString(), k.toString());
        }
        return s;
    }

    static final String T2 = "tcp 127.0.0.2:8080";
    static final String U2 = "udp 127.0.0.2:5353";
    static final String T2OTHER = "tcp 127.0.0.2:9090";
    static final String T3 = "tcp 127.0.0.3:8080";
    static final String U3 = "udp 127.0.0.3:5353";

    @ParameterizedTest(name = "netlink fallback forced: {0}")
    @ValueSource(booleans = {false, true})
    void matchedSocketsAbortOthersKeepWorkingAndThePlanListedExactlyThem(boolean netlink, @TempDir Path dir)
            throws Exception {
        Client a = client(null, T2, U2, T2OTHER, T3, U3);
        Client b = client(null, T2, U3);
        Path p = write(dir, "st.yaml", policy("stale", "once", "")).getParent();

        Bpfgit.Cli plan = cli(netlink, "plan", p.toString(), "-o", "json");
        assertEquals(1, plan.exit(), plan.toString());
        JsonNode t = plan.json().path("terminations").get(0);
        assertEquals("SocketTermination/stale", t.path("policy").asString());
        assertEquals(3, t.path("count").asInt(), plan.out());
        Set<String> listed = new TreeSet<>();
        for (JsonNode k : t.path("sockets")) {
            listed.add(k.path("protocol").asString() + " " + k.path("localPort").asInt());
            long pid = k.path("owners").get(0).path("pid").asLong();
            assertTrue(pid == a.process().pid() || pid == b.process().pid(), k.toString());
            assertEquals("127.0.0.2", k.path("remote").asString());
        }
        Set<String> expected = new TreeSet<>(a.keys(T2, U2));
        expected.addAll(b.keys(T2));
        assertEquals(expected, listed);
        Bpfgit.Cli text = cli(netlink, "plan", p.toString());
        assertTrue(text.out().contains("3 sockets to terminate"), text.out());
        assertTrue(text.out().contains("pid " + a.process().pid() + " python3: tcp 127.0.0.1:" + a.locals().get(T2)
                + " -> 127.0.0.2:8080"), text.out());

        Bpfgit.Cli apply = cli(netlink, "apply", p.toString(), "--yes");
        assertEquals(0, apply.exit(), apply.toString());

        assertEquals(Map.of(T2, "ECONNABORTED", U2, "ECONNABORTED", T2OTHER, "ok", T3, "ok", U3, "ok"), a.check());
        assertEquals(Map.of(T2, "ECONNABORTED", U3, "ok"), b.check());
        // the listeners survived: a new client gets through to the same servers
        Client c = client(null, T2, U2);
        assertEquals(Map.of(T2, "ok", U2, "ok"), c.check());

        JsonNode status = cli(netlink, "status", "-o", "json").json();
        JsonNode unit = find(status, "sockterm/stale");
        assertEquals(3, unit.path("terminated").asLong(), status.toString());
        assertEquals(2, unit.path("terminatedTcp").asLong(), status.toString());
        assertEquals(1, unit.path("terminatedUdp").asLong(), status.toString());
        // a kernel without bpf_sock_destroy (6.1) takes the netlink path either way
        boolean kfunc = !netlink && new LinuxKernel().features().has(Feature.SOCK_DESTROY);
        assertTrue(unit.path("lastPass").asString().contains(kfunc ? "kfunc: 3 terminated" : "netlink: 3 terminated"),
                status.toString());

        // mode once: the connection made after the apply survives a second apply of the same policy
        Bpfgit.Cli again = cli(netlink, "apply", p.toString(), "--yes");
        assertEquals(0, again.exit(), again.toString());
        assertTrue(again.out().contains("done for this revision of the policy"), again.out());
        assertEquals(Map.of(T2, "ok", U2, "ok"), c.check());
        assertEquals(3, find(cli(netlink, "status", "-o", "json").json(), "sockterm/stale").path("terminated").asLong());
    }

    /** The unit's object in status -o json, wherever the status nests it. */
    static JsonNode find(JsonNode status, String unit) {
        List<JsonNode> found = new ArrayList<>();
        walk(status, unit, found);
        assertEquals(1, found.size(), "unit " + unit + " in " + status);
        return found.getFirst();
    }

    private static void walk(JsonNode n, String unit, List<JsonNode> found) {
        if (n.isObject() && n.has("terminated") && n.toString().contains(unit)) {
            found.add(n);
            return;
        }
        n.forEach(c -> walk(c, unit, found));
    }

    @ParameterizedTest(name = "netlink fallback forced: {0}")
    @ValueSource(booleans = {false, true})
    void onlySocketsOfProcessesInTheCgroup(boolean netlink, @TempDir Path dir) throws Exception {
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        Path parent = CgroupRoot.path().resolve("bpfgit-st-" + HexFormat.of().formatHex(r));
        Files.createDirectory(parent);
        cgroups.add(parent);
        Path child = Files.createDirectory(parent.resolve("app"));
        cgroups.addFirst(child);   // removed before its parent
        Client inside = client(child, T2, U2);
        Client outside = client(null, T2, U2);
        Path p = write(dir, "st.yaml", policy("scoped", "once", "  cgroup: /" + parent.getFileName() + "\n")).getParent();

        Bpfgit.Cli plan = cli(netlink, "plan", p.toString(), "-o", "json");
        assertEquals(inside.keys(T2, U2), planned(plan.json(), inside.process().pid()), plan.out());

        assertEquals(0, cli(netlink, "apply", p.toString(), "--yes").exit());
        assertEquals(Map.of(T2, "ECONNABORTED", U2, "ECONNABORTED"), inside.check());
        assertEquals(Map.of(T2, "ok", U2, "ok"), outside.check());
        // the cgroup's processes must end before it can be removed
        inside.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "netlink fallback forced: {0}")
    @ValueSource(booleans = {false, true})
    void continuousInRunTerminatesAConnectionMadeAfterTheApply(boolean netlink, @TempDir Path dir) throws Exception {
        Path p = write(dir.resolve("p"), "st.yaml", policy("churn", "continuous", "")).getParent();
        int port = ThreadLocalRandom.current().nextInt(20000, 40000);
        Path config = dir.resolve("bpfgit.yaml");
        Files.writeString(config, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + p + RunIT.lastGood(dir)
                + "\nreconcile: {interval: 30s, jitter: 0, drift: correct}\nmetrics:\n  listen: 127.0.0.1:" + port + "\n");
        Client before = client(null, T2, T3);
        try (RunIT.Daemon d = new RunIT.Daemon(ns, root.path(), config, port, dir.resolve("run.log"), env(netlink))) {
            d.awaitReady();
            assertTrue(await(before, Map.of(T2, "ECONNABORTED", T3, "ok"), Duration.ofSeconds(60)), d.log());
            Client after = client(null, T2, U2, T3);
            long start = System.nanoTime();
            assertTrue(await(after, Map.of(T2, "ECONNABORTED", U2, "ECONNABORTED", T3, "ok"), Duration.ofSeconds(5)),
                    d.log());
            long ms = (System.nanoTime() - start) / 1_000_000;
            assertTrue(ms < 2000, "terminated after " + ms + " ms");
            String metrics = d.get("/metrics").body();
            assertTrue(metrics.contains("bpfgit_sockterm_terminated_total{policy=\"SocketTermination/churn\",protocol=\"tcp\"} 2"),
                    metrics);
            assertTrue(metrics.contains("bpfgit_sockterm_terminated_total{policy=\"SocketTermination/churn\",protocol=\"udp\"} 1"),
                    metrics);
            assertEquals(0, d.terminate(Duration.ofSeconds(30)), d.log());
        }
    }

    @Test
    void mistakesAreReportedAtTheirLine(@TempDir Path dir) throws Exception {
        Path semantic = write(dir, "prefixes.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: SocketTermination
                metadata: {name: prefixes}
                spec:
                  destinations:
                    - {prefix: 10.96.0.10/24, ports: [53]}
                    - {prefix: 10.0.0.1}
                    - {prefix: 10.0.0.1/32}
                """);
        Path schema = write(dir, "ports.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: SocketTermination
                metadata: {name: ports}
                spec:
                  destinations:
                    - {prefix: 10.0.0.1, ports: [70000]}
                    - {prefix: not-an-address}
                  mode: sometimes
                """);
        Bpfgit.Cli v = Bpfgit.cli(null, "validate", semantic.toString(), schema.toString());
        assertEquals(2, v.exit(), v.toString());
        assertTrue(v.err().contains(semantic + ":6:"), v.err());
        assertTrue(v.err().contains("10.96.0.0/24"), v.err());   // host bits set, and the prefix meant
        assertTrue(v.err().contains(semantic + ":8:"), v.err());   // the same prefix twice
        assertTrue(v.err().contains(schema + ":6:") && v.err().contains("65535"), v.err());
        assertTrue(v.err().contains(schema + ":7:"), v.err());
        assertTrue(v.err().contains(schema + ":8:"), v.err());
    }
}
