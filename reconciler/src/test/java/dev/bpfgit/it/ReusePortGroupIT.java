package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.testing.Commands;
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
import java.net.DatagramPacket;
import java.net.DatagramSocket;
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
import java.util.regex.Pattern;
import java.util.concurrent.TimeUnit;

import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        // not "member.py": a command regex of a test elsewhere on this host must not find these processes
        script = tmp.resolve("rpg-member-it.py");
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
        return member(ns, name, "tcp", "127.0.0.1", PORT);
    }

    /**
     * Starts member {@code name} in {@code in} with a socket on each of {@code hosts} (comma-separated, see
     * member.py) and writes its pid file.
     */
    Process member(TestNetns in, String name, String proto, String hosts, int port, String... mode) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString(), name, proto, hosts,
                Integer.toString(port)));
        cmd.addAll(List.of(mode));
        Process p = in.start(cmd.toArray(String[]::new));
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
        Process blue = member("blue");
        member("green");
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("gone", ""), "{name: green, process: {command: '" + Pattern.quote(script.toString()) + " green tcp'}}")).getParent();
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
        assertTrue(plan.out().lines().anyMatch(l -> l.startsWith("  2 green, command /" + Pattern.quote(script.toString()) + " green tcp/: tcp")
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
        assertEquals("blue", web.path(0).path("name").asString(), json.toString());
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
        // the pid file still names the killed process
        assertTrue(again.out().contains("  0 blue, pidFile " + pidFile("blue") + ": degraded: no process "
                + blue.pid() + " (the pid in pidFile " + pidFile("blue") + ")"), again.out());
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
        Files.writeString(config, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies + RunIT.lastGood(dir)
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

    static String group(int port, String protocol, String address, String strategy, boolean migrate,
                        String netns, String... members) {
        StringBuilder sb = new StringBuilder("""
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: web}
                spec:
                  port: %d
                  protocol: %s
                  strategy: %s
                  migrate: %s
                """.formatted(port, protocol, strategy, migrate));
        if (address != null) {
            sb.append("  address: '").append(address).append("'\n");
        }
        if (netns != null) {
            sb.append("  netns: ").append(netns).append('\n');
        }
        sb.append("  members:\n");
        for (String m : members) {
            sb.append("    - ").append(m).append('\n');
        }
        return sb.toString();
    }

    /** {@code n} datagrams to host:port, each from a new socket (a new flow); who answered, by name. */
    Map<String, Integer> datagrams(String host, int port, int n) throws Exception {
        return ns.call(() -> {
            Map<String, Integer> who = new TreeMap<>();
            InetSocketAddress to = new InetSocketAddress(host, port);
            for (int i = 0; i < n; i++) {
                try (DatagramSocket s = new DatagramSocket()) {
                    s.setSoTimeout(2000);
                    s.send(new DatagramPacket(new byte[] {'?'}, 1, to));
                    DatagramPacket reply = new DatagramPacket(new byte[64], 64);
                    s.receive(reply);
                    who.merge(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.UTF_8), 1, Integer::sum);
                } catch (IOException e) {
                    who.merge("error: " + e.getMessage(), 1, Integer::sum);
                }
            }
            return who;
        });
    }

    /** {@code n} TCP connections to host:port one after another; who answered. */
    Map<String, Integer> connect(String host, int port, int n) throws Exception {
        return ns.call(() -> {
            Map<String, Integer> who = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(host, port), 2000);
                    s.setSoTimeout(5000);
                    String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    who.merge(r.isEmpty() ? "error: EOF" : r, 1, Integer::sum);
                } catch (IOException e) {
                    who.merge("error: " + e.getMessage(), 1, Integer::sum);
                }
            }
            return who;
        });
    }

    static void within(Map<String, Integer> who, String member, int n, double share, double points) {
        assertEquals(n, who.values().stream().mapToInt(Integer::intValue).sum(), who.toString());
        double got = 100.0 * who.getOrDefault(member, 0) / n;
        assertTrue(Math.abs(got - share) <= points, member + " got " + got + "% (want " + share + " ± " + points
                + "): " + who);
    }

    @Test
    void udpGroupHotStandbyAndWeightedOverAThousandFlows(@TempDir Path dir) throws Exception {
        member(ns, "blue", "udp", "127.0.0.1", 8081);
        member(ns, "green", "udp", "127.0.0.1", 8081);
        Path policies = write(dir.resolve("p"), "web.yaml", group(8081, "udp", "127.0.0.1", "hot-standby", false, null,
                pidMember("blue", ""), pidMember("green", ""))).getParent();
        Bpfgit.Cli applied = apply(policies);
        assertTrue(applied.out().contains("ReusePortGroup/web (udp 127.0.0.1:8081, hot-standby) members:"), applied.out());
        assertEquals(Map.of("blue", 200), datagrams("127.0.0.1", 8081, 200));
        kill("blue");
        assertEquals(Map.of("green", 100), datagrams("127.0.0.1", 8081, 100));

        member(ns, "blue", "udp", "127.0.0.1", 8081);
        write(dir.resolve("p"), "web.yaml", group(8081, "udp", "127.0.0.1", "weighted", false, null,
                pidMember("blue", ", weight: 90"), pidMember("green", ", weight: 10")));
        apply(policies);
        Map<String, Integer> w = datagrams("127.0.0.1", 8081, 1000);
        System.out.println("kind level, udp weighted 90/10 over 1000 flows: " + w);
        within(w, "blue", 1000, 90, 3);
    }

    @Test
    void ipv6GroupWithAMemberOfTwoWorkersUsesBothAndSplitsNinetyTen(@TempDir Path dir) throws Exception {
        member(ns, "blue", "tcp", "::1,::1", 8082);   // two workers, two listeners
        member(ns, "green", "tcp", "::1", 8082);
        Path policies = write(dir.resolve("p"), "web.yaml", group(8082, "tcp", "::1", "hot-standby", false, null,
                pidMember("blue", ""), pidMember("green", ""))).getParent();
        Bpfgit.Cli applied = apply(policies);
        assertTrue(applied.out().lines().anyMatch(l -> l.startsWith("  0 blue, pidFile ") && l.contains("tcp [::1]:8082")
                && l.indexOf("tcp [::1]:8082") != l.lastIndexOf("tcp [::1]:8082")), applied.out());
        Map<String, Integer> hot = connect("::1", 8082, 400);
        System.out.println("kind level, ipv6 hot-standby, blue with two workers, 400: " + hot);
        assertEquals(400, hot.getOrDefault("blue#0", 0) + hot.getOrDefault("blue#1", 0), hot.toString());
        assertTrue(hot.getOrDefault("blue#0", 0) >= 140 && hot.getOrDefault("blue#1", 0) >= 140, hot.toString());

        write(dir.resolve("p"), "web.yaml", group(8082, "tcp", "::1", "weighted", false, null,
                pidMember("blue", ", weight: 90"), pidMember("green", ", weight: 10")));
        apply(policies);
        Map<String, Integer> w = connect("::1", 8082, 1000);
        System.out.println("kind level, ipv6 weighted 90/10 over 1000: " + w);
        Map<String, Integer> byMember = new TreeMap<>();
        w.forEach((k, v) -> byMember.merge(k.replaceAll("#.*", ""), v, Integer::sum));
        within(byMember, "blue", 1000, 90, 3);
    }

    /** 100 connections queued on a primary that never accepts, then the primary is killed: who answers them. */
    Map<String, Integer> killPrimaryWithQueued(Path dir, int port, boolean migrate) throws Exception {
        member(ns, "primary", "tcp", "127.0.0.1", port, "hold");
        member(ns, "standby", "tcp", "127.0.0.1", port);
        Path policies = write(dir.resolve("p" + port), "web.yaml", group(port, "tcp", "127.0.0.1", "hot-standby",
                migrate, null, pidMember("primary", ""), pidMember("standby", ""))).getParent();
        apply(policies);
        List<Socket> queued = ns.call(() -> {
            List<Socket> out = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                s.setSoTimeout(5000);
                out.add(s);
            }
            return out;
        });
        kill("primary");
        Map<String, Integer> who = new TreeMap<>();
        for (Socket s : queued) {
            try (s) {
                String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                who.merge(r.isEmpty() ? "error: EOF" : r, 1, Integer::sum);
            } catch (IOException e) {
                who.merge("error: " + e.getMessage(), 1, Integer::sum);
            }
        }
        kill("standby");
        host.cli("destroy", "--yes");
        return who;
    }

    @Test
    void withMigrateQueuedConnectionsSurviveTheClosingListenerAndWithoutTheyAreLost(@TempDir Path dir)
            throws Exception {
        Map<String, Integer> migrated = killPrimaryWithQueued(dir, 8083, true);
        System.out.println("kind level, migrate: true, primary killed with 100 queued: " + migrated);
        assertEquals(Map.of("standby", 100), migrated);
        Map<String, Integer> lost = killPrimaryWithQueued(dir, 8084, false);
        System.out.println("kind level, migrate: false, primary killed with 100 queued: " + lost);
        assertEquals(0, lost.getOrDefault("standby", 0), lost.toString());
        assertTrue(lost.keySet().stream().allMatch(k -> k.startsWith("error: ")), lost.toString());
    }

    /**
     * The runtime's steady-state pass must hold no duplicate of a member's listener: a duplicate keeps a dead
     * member's listener open and in the group's map, hot-standby keeps steering new connections to it, and the
     * pass's close of its duplicate (the last close) resets them all. The pass runs here in the test's process,
     * through a kernel that kills the active member and connects to the group in the middle of the pass (right
     * after the pass looked at that member's listeners), then the connections are read once the pass is done.
     */
    @Test
    void aSteadyStatePassHoldsNoDuplicateSoADeadActiveMembersConnectionsAreNotReset(@TempDir Path dir)
            throws Exception {
        int port = 8085;
        Process primary = member(ns, "primary", "tcp", "127.0.0.1", port);
        member(ns, "standby", "tcp", "127.0.0.1", port);
        Path policies = write(dir.resolve("p"), "web.yaml", group(port, "tcp", "127.0.0.1", "hot-standby", false,
                ns.path().toString(), pidMember("primary", ""), pidMember("standby", ""))).getParent();
        apply(policies);
        assertEquals(Map.of("primary", 20), connect("127.0.0.1", port, 20));

        dev.bpfgit.kernel.Kernel real = new dev.bpfgit.kernel.linux.LinuxKernel();
        long inode = real.listeners((int) primary.pid(), dev.bpfgit.kernel.SocketProtocol.TCP, port,
                java.util.Optional.empty(), java.util.Optional.of(ns.path())).getFirst().inode();
        int[] phase = {0};   // 0: not armed, 1: armed, 2: the primary's listeners found, 3: done
        boolean[] heldDuringPass = {false};
        List<Socket> opened = new ArrayList<>();
        dev.bpfgit.kernel.Kernel kernel = (dev.bpfgit.kernel.Kernel) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {dev.bpfgit.kernel.Kernel.class}, (proxy, method, args) -> {
                    Object out;
                    try {
                        out = method.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (phase[0] == 2) {
                        phase[0] = 3;
                        // the pass's next step on the primary: whatever it holds of the listener, it holds now
                        heldDuringPass[0] = holds(inode);
                        kill("primary");
                        opened.addAll(ns.call(() -> {
                            List<Socket> o = new ArrayList<>();
                            for (int i = 0; i < 20; i++) {
                                Socket c = new Socket();
                                try {
                                    c.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                                    c.setSoTimeout(5000);
                                } catch (IOException e) {
                                    // read below as the error it is
                                }
                                o.add(c);
                            }
                            return o;
                        }));
                    }
                    if (phase[0] == 1 && method.getName().equals("listeners") && (int) args[0] == primary.pid()) {
                        phase[0] = 2;
                    }
                    return out;
                });
        var runtime = new dev.bpfgit.kind.reuseport.ReusePortKind().runtime(kernel, root.path()).orElseThrow();
        runtime.reconcile();   // this process's first pass attaches through every member: not the steady state
        phase[0] = 1;
        runtime.reconcile();
        assertEquals(3, phase[0], "the pass did not look at the primary's listeners");
        Map<String, Integer> who = new TreeMap<>();
        for (Socket c : opened) {
            try (c) {
                String r = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                who.merge(r.isEmpty() ? "error: EOF" : r, 1, Integer::sum);
            } catch (IOException e) {
                who.merge("error: " + e.getMessage(), 1, Integer::sum);
            }
        }
        System.out.println("steady-state pass, active member killed mid-pass, 20 connections: " + who
                + (heldDuringPass[0] ? " (the pass held a duplicate)" : ""));
        assertEquals(false, heldDuringPass[0], "the steady-state pass holds a duplicate of the primary's listener");
        assertEquals(Map.of("standby", 20), who);
        assertFalse(holds(inode), "a duplicate is left open after the pass");
    }

    /** Whether this process has the socket with this inode open. */
    static boolean holds(long inode) throws IOException {
        try (var fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals("socket:[" + inode + "]")) {
                        return true;
                    }
                } catch (IOException e) {
                    // closed meanwhile (the directory stream's own fd)
                }
            }
        }
        return false;
    }

    @Test
    void listenersAreFoundInThePolicysNetnsNotInTheProcesssOwn(@TempDir Path dir) throws Exception {
        try (TestNetns other = TestNetns.create()) {
            member("blue");
            Process elsewhere = member(other, "green", "tcp", "127.0.0.1", PORT);
            Path policies = write(dir.resolve("p"), "web.yaml", group(PORT, "tcp", "127.0.0.1", "hot-standby", false,
                    ns.path().toString(), pidMember("green", ""), pidMember("blue", ""))).getParent();
            Bpfgit.Cli applied = apply(policies);
            // green's process exists and listens on the port, but in another namespace: not this group's
            assertTrue(applied.out().contains("  0 green, pidFile " + pidFile("green") + ": degraded: no tcp listener"
                    + " on 127.0.0.1:" + PORT + " in netns " + ns.path() + " in pid " + elsewhere.pid()), applied.out());
            assertTrue(applied.out().lines().anyMatch(l -> l.startsWith("  1 blue, ") && l.contains(": tcp 127.0.0.1:"
                    + PORT + " (pid ")), applied.out());
            assertEquals(Map.of("blue", 50), connect(50));

            // the policy names the other namespace: green's listener there is found, blue's is not
            write(dir.resolve("p"), "web.yaml", group(PORT, "tcp", "127.0.0.1", "hot-standby", false,
                    other.path().toString(), pidMember("green", ""), pidMember("blue", "")));
            Bpfgit.Cli moved = host.cli("plan", policies.toString());
            assertTrue(moved.out().contains("  0 green, pidFile " + pidFile("green") + ": tcp 127.0.0.1:" + PORT
                    + " (pid " + elsewhere.pid()), moved.out());
            assertTrue(moved.out().contains("  1 blue, pidFile " + pidFile("blue") + ": degraded: no tcp listener"),
                    moved.out());

            write(dir.resolve("p"), "web.yaml", group(PORT, "tcp", "127.0.0.1", "hot-standby", false,
                    "/run/netns/bpfgit-absent", pidMember("blue", "")));
            Bpfgit.Cli absent = host.cli("plan", policies.toString());
            assertTrue(absent.out().contains("degraded: netns /run/netns/bpfgit-absent does not exist"), absent.out());

            // without netns, the namespace bpfgit runs in: green's listener elsewhere is not this group's
            write(dir.resolve("p"), "web.yaml", group(PORT, "tcp", "127.0.0.1", "hot-standby", false, null,
                    pidMember("green", ""), pidMember("blue", "")));
            Bpfgit.Cli own = host.cli("plan", policies.toString());
            assertTrue(own.out().contains("  0 green, pidFile " + pidFile("green") + ": degraded: no tcp listener on"
                    + " 127.0.0.1:" + PORT + " in bpfgit's network namespace in pid " + elsewhere.pid()), own.out());
            assertTrue(own.out().contains("  1 blue, pidFile " + pidFile("blue") + ": tcp 127.0.0.1:" + PORT), own.out());
            kill("green");
        }
    }

    @Test
    void aSavedPlanAppliedAdoptsTheMembersAndDestroyDetachesTheProgram(@TempDir Path dir) throws Exception {
        member("blue");
        member("green");
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("green", ""))).getParent();
        Bpfgit.Cli plan = host.cli("plan", policies.toString(), "-o", "json");
        assertEquals(1, plan.exit(), plan.toString());
        Path saved = dir.resolve("plan.json");
        Files.writeString(saved, plan.out());
        Bpfgit.Cli applied = host.cli("apply", "--plan", saved.toString(), "--yes");
        assertEquals(0, applied.exit(), applied.toString());
        // no policies at hand: the members were found from what the group's pins record
        assertEquals(Map.of("blue", 100), connect(100));
        JsonNode members = host.cli("status", "-o", "json").json().at("/policies/0/units/0/members");
        assertTrue(members.path(0).path("listeners").asString().contains("pid " + members().get("blue").pid()),
                members.toString());

        // destroyed: the program leaves the members' group, the kernel's own hash spreads them again
        Bpfgit.Cli destroy = host.cli("destroy", "--yes");
        assertEquals(0, destroy.exit(), destroy.toString());
        Map<String, Integer> spread = connect(200);
        System.out.println("kind level, after destroy (kernel hash): " + spread);
        assertTrue(spread.getOrDefault("blue", 0) > 20 && spread.getOrDefault("green", 0) > 20, spread.toString());
    }

    @Test
    void clearErrorsNameTheirCauseAndDisturbNothingElse(@TempDir Path dir) throws Exception {
        member("blue");
        member("green");
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("green", ""))).getParent();
        Bpfgit.Cli first = apply(policies);
        assertEquals(Map.of("blue", 20), connect(20), first.toString());
        List<String> pins = host.pins();

        // a policy error: a second group claiming the port; nothing is applied, the first group keeps working
        write(policies, "zz-api.yaml", group("hot-standby", pidMember("green", "")).replace("name: web", "name: api"));
        Bpfgit.Cli claimed = host.cli("apply", policies.toString(), "--yes");
        assertEquals(2, claimed.exit(), claimed.toString());
        assertTrue(claimed.err().contains("zz-api.yaml:5:") && claimed.err().contains("ReusePortGroup/api and"
                + " ReusePortGroup/web (") && claimed.err().contains("web.yaml:5) both claim tcp 127.0.0.1:" + PORT),
                claimed.err());
        assertEquals(pins, host.pins());
        assertEquals(Map.of("blue", 20), connect(20));
        Files.delete(policies.resolve("zz-api.yaml"));

        // what bpfgit finds on the host: each member's own reason and where the policy names it; the rest applies
        Process idle = ns.start("sleep", "300");
        members.put("idle", idle);
        Files.writeString(pidFile("idle"), idle.pid() + "\n");
        Files.writeString(pidFile("noproc"), "999999999\n");
        member(ns, "elsewhere", "tcp", "127.0.0.1", PORT + 10);
        write(policies, "web.yaml", group("hot-standby", pidMember("nofile", ""), pidMember("noproc", ""),
                pidMember("idle", ""), pidMember("elsewhere", ""), pidMember("blue", ""), pidMember("green", "")));
        Bpfgit.Cli applied = apply(policies);
        String at = "web.yaml:";
        Map<String, String> want = Map.of(
                "  0 nofile", "degraded: pidFile " + pidFile("nofile") + " is missing (" + at + "9, /spec/members/0/process)",
                "  1 noproc", "degraded: no process 999999999 (the pid in pidFile " + pidFile("noproc") + ") (" + at
                        + "10, /spec/members/1/process)",
                "  2 idle", "degraded: no tcp listener on 127.0.0.1:" + PORT + " in bpfgit's network namespace in pid " + idle.pid() + " (" + at
                        + "11, /spec/members/2/process)",
                "  3 elsewhere", "degraded: no tcp listener on 127.0.0.1:" + PORT + " in bpfgit's network namespace in pid "
                        + members.get("elsewhere").pid() + " (" + at + "12, /spec/members/3/process)");
        want.forEach((member, reason) -> assertTrue(applied.out().lines().anyMatch(l -> l.startsWith(member + ",")
                && l.contains(reason.substring(0, reason.indexOf(" (web.yaml:"))) && l.contains(at.equals(at) ? reason
                .substring(reason.indexOf("web.yaml:")) : reason)), member + " " + reason + "\n" + applied.out()));
        assertEquals(Map.of("blue", 50), connect(50));

        // without CAP_SYS_PTRACE: the members' sockets cannot be seen or taken, which each member says; the
        // group's map and program stay as they were
        List<String> c = new ArrayList<>(List.of("nsenter", "--net=" + ns.path(), "setpriv", "--inh-caps=-sys_ptrace",
                "--bounding-set=-sys_ptrace", Bpfgit.REPO.resolve("bpfgit").toString(), "apply", policies.toString(),
                "--yes", "--root", root.path().toString()));
        Commands.Result noPtrace = Commands.exec(c);
        assertEquals(0, noPtrace.exitCode(), noPtrace.toString());
        assertTrue(noPtrace.stdout().lines().anyMatch(l -> l.startsWith("  4 blue,") && l.contains(
                "bpfgit needs CAP_SYS_PTRACE to see another process's sockets")), noPtrace.stdout());
        assertEquals(Map.of("blue", 50), connect(50));
        JsonNode status = host.cli("status", "-o", "json").json().at("/policies/0/units/0/members/4");
        assertTrue(status.path("reason").asString().contains("CAP_SYS_PTRACE"), status.toString());
    }

    Map<String, Process> members() {
        return members;
    }

    /** The value of the metric line starting with {@code series} in a scrape, or -1. */
    /** The member's adoptions metric once it reached {@code atLeast}, or what it is after 5 s. */
    static double adoptions(RunIT.Daemon d, String member, double atLeast) {
        String series = "bpfgit_reuseport_member_adoptions_total" + member;
        Topology.waitFor(Duration.ofSeconds(5), Duration.ofMillis(50),
                () -> metric(d.get("/metrics").body(), series) >= atLeast);
        return metric(d.get("/metrics").body(), series);
    }

    static double metric(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l ->
                Double.parseDouble(l.substring(series.length() + 1).trim())).findFirst().orElse(-1);
    }

    @Test
    void underRunAGroupWithoutListenersLosesItsProgramAndGetsItBackWithMetrics(@TempDir Path dir) throws Exception {
        member("blue");
        member("green");
        member("stranger");   // shares the port, named by no member
        Path policies = write(dir.resolve("p"), "web.yaml", group("hot-standby", pidMember("blue", ""),
                pidMember("green", ""))).getParent();
        int port = ThreadLocalRandom.current().nextInt(20000, 40000);
        Path config = dir.resolve("bpfgit.yaml");
        Files.writeString(config, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies + RunIT.lastGood(dir)
                + "\nreconcile: {interval: 30s, jitter: 0, drift: correct}\nmetrics:\n  listen: 127.0.0.1:" + port
                + "\n");
        try (RunIT.Daemon d = new RunIT.Daemon(ns, root.path(), config, port, dir.resolve("run.log"))) {
            d.awaitReady();
            assertTrue(Topology.waitFor(Duration.ofSeconds(5), () -> call(() -> count(20)).equals(Map.of("blue", 20))),
                    d.log());
            String blue = "{member=\"blue\",policy=\"ReusePortGroup/web\"}";
            String green = "{member=\"green\",policy=\"ReusePortGroup/web\"}";
            // the program may have been attached in the middle of the batches above, whose first connections the
            // kernel's own hash then placed (uncounted): count a batch made with the program surely attached
            double given = metric(d.get("/metrics").body(), "bpfgit_reuseport_member_connections_total" + blue);
            assertEquals(Map.of("blue", 20), connect(20), d.log());
            String m = d.get("/metrics").body();
            assertEquals(given + 20, metric(m, "bpfgit_reuseport_member_connections_total" + blue), m);
            assertEquals(0, metric(m, "bpfgit_reuseport_member_connections_total" + green), m);
            // the datapath can serve blue a moment before the scrape counts it (the runtime thread may be
            // preempted under load): wait for the count, then require it exact
            assertEquals(1, adoptions(d, blue, 1), m);
            assertEquals(0, metric(m, "bpfgit_reuseport_member_degraded" + blue), m);

            kill("blue");
            kill("green");
            assertTrue(Topology.waitFor(Duration.ofSeconds(3), () -> d.log().contains(
                    "no member has a listener; program detached from the group of tcp 127.0.0.1:" + PORT)), d.log());
            JsonNode before = host.cli("status", "-o", "json").json().at("/policies/0/units/0");
            assertEquals("detached: no member has a listener", before.path("program").asString(), before.toString());
            long none = before.path("members").path(2).path("selected").asLong();
            assertEquals(Map.of("stranger", 30), connect(30));
            JsonNode after = host.cli("status", "-o", "json").json().at("/policies/0/units/0");
            assertEquals(none, after.path("members").path(2).path("selected").asLong(),
                    "the detached program no longer runs for the stranger's connections: " + after);
            m = d.get("/metrics").body();
            assertEquals(1, metric(m, "bpfgit_reuseport_member_degraded" + blue), m);
            assertEquals(1, metric(m, "bpfgit_reuseport_member_degraded" + green), m);

            // a member returns and joins the group the stranger kept alive: the program is attached again within a second
            member("green");
            long start = System.nanoTime();
            // 20 in a row: the kernel's own hash would give green all 20 once in a million
            assertTrue(Topology.waitFor(Duration.ofSeconds(3), Duration.ofMillis(20),
                    () -> call(() -> count(20)).equals(Map.of("green", 20))), d.log());
            long ms = (System.nanoTime() - start) / 1_000_000;
            System.out.println("kind level, group re-attached after " + ms + " ms");
            assertTrue(ms <= 1000, "green adopted and the program attached again after " + ms + " ms\n" + d.log());
            assertEquals(Map.of("green", 50), connect(50));
            assertEquals(2, adoptions(d, green, 2), d.log());
            m = d.get("/metrics").body();
            assertEquals(0, metric(m, "bpfgit_reuseport_member_degraded" + green), m);
            assertTrue(metric(m, "bpfgit_reuseport_member_connections_total" + green) >= 55, m);
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
