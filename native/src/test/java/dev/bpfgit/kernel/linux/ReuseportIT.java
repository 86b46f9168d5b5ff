package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.SocketProtocol;
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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ReusePortGroup mechanism on the real kernel: members are python3 server processes in a test netns,
 * bpfgit adopts their sockets with the Kernel methods, fills the SOCKMAP and config of reuseport.bpf.o and
 * attaches its selector; a client in the namespace counts who answers.
 */
@KernelTest
class ReuseportIT {
    static final int MAX_MEMBERS = 32;
    /** RP_SLOTS: rp_sockets keys per member (member * SLOTS + slot). */
    static final int SLOTS = 16;
    static final int CONFIG_SIZE = 176;
    static final int HOT_STANDBY = 0;
    static final int WEIGHTED = 1;

    @TempDir
    static Path tmp;
    static ObjectFile object;
    static Path script;

    final LinuxKernel kernel = new LinuxKernel();
    PinRoot root;
    TestNetns ns;
    final List<Process> members = new ArrayList<>();

    @BeforeAll
    static void files() throws IOException {
        // the committed object, as bpfgit ships it (native/ is the working directory of the test JVM under
        // Maven; the 6.1 VM's one JVM runs from the repository root and names it with bpfgit.repo)
        Path o = Path.of(System.getProperty("bpfgit.repo", ".."), "bpf", "reuseport.bpf.o");
        object = new ObjectFile("reuseport.bpf.o", Files.readAllBytes(o));
        script = tmp.resolve("member.py");
        try (InputStream in = ReuseportIT.class.getResourceAsStream("/reuseport/member.py")) {
            Files.copy(in, script);
        }
    }

    @BeforeEach
    void setUp() {
        root = PinRoot.create();
        ns = TestNetns.create();
        kernel.createMap(root.resolve("rp_sockets"), new MapSpec("rp_sockets", MapType.SOCKMAP, 4, 8, MAX_MEMBERS * SLOTS, 0,
                Optional.empty()));
        kernel.createMap(root.resolve("rp_config"), new MapSpec("rp_config", MapType.ARRAY, 4, CONFIG_SIZE, 1, 0,
                Optional.of(new BtfTypes(object, "__u32", "struct rp_config"))));
        kernel.createMap(root.resolve("rp_counters"), new MapSpec("rp_counters", MapType.PERCPU_ARRAY, 4, 16,
                MAX_MEMBERS + 1, 0, Optional.of(new BtfTypes(object, "__u32", "struct rp_counter"))));
        Map<String, Path> maps = Map.of("rp_sockets", root.resolve("rp_sockets"), "rp_config", root.resolve("rp_config"),
                "rp_counters", root.resolve("rp_counters"));
        kernel.loadProgram(root.resolve("select"), new ProgramSpec(object, "reuseport_select", maps));
        kernel.loadProgram(root.resolve("migrate"), new ProgramSpec(object, "reuseport_migrate", maps));
    }

    @AfterEach
    void tearDown() {
        for (Process p : members) {
            p.destroyForcibly();
        }
        ns.close();
        root.close();
    }

    // ---- the group

    /** Starts a member process and waits until its socket is bound; returns the process. */
    Process member(String name, String proto, String host, int port, String... mode) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString(), name, proto, host, Integer.toString(port)));
        cmd.addAll(List.of(mode));
        Process p = ns.start(cmd.toArray(String[]::new));
        members.add(p);
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(line != null && line.startsWith("ready "), name + " did not start: " + line);
        return p;
    }

    static int pid(Process p) {
        // nsenter execs the command, so the child is the server itself
        return (int) p.pid();
    }

    /**
     * Finds, adopts and maps the member's socket at member {@code member}'s first slot (the program probes the
     * member's other slots from the hashed one), attaches {@code prog}, lets go of the duplicate.
     */
    long adopt(Process p, SocketProtocol proto, String host, int port, int member, String prog) throws IOException {
        List<Listener> found = kernel.listeners(pid(p), proto, port, Optional.of(InetAddress.getByName(host)));
        assertEquals(1, found.size(), found.toString());
        try (AdoptedSocket s = kernel.adopt(found.getFirst())) {
            kernel.putSocket(root.resolve("rp_sockets"), member * SLOTS, s);
            kernel.attachReuseport(root.resolve(prog), s);
            return s.cookie();
        }
    }

    void configure(int strategy, int[] weights, boolean[] drain) {
        ByteBuffer b = ByteBuffer.allocate(CONFIG_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        int total = 0;
        b.putInt(0, strategy).putInt(4, weights.length);
        for (int i = 0; i < weights.length; i++) {
            total += drain[i] ? 0 : weights[i];
            b.putInt(16 + 4 * i, total);
            b.put(16 + 4 * MAX_MEMBERS + i, (byte) (drain[i] ? 1 : 0));
        }
        b.putInt(8, total);
        kernel.update(root.resolve("rp_config"), List.of(new Entry(Bytes.wrap(new byte[4]), Bytes.wrap(b.array()))));
    }

    /** {selected, migrated} of a member summed over CPUs; {@code MAX_MEMBERS} is "left to the kernel". */
    long[] counter(int member) {
        Bytes key = Bytes.wrap(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(member).array());
        ByteBuffer v = ByteBuffer.wrap(kernel.lookup(root.resolve("rp_counters"), key).orElseThrow().toArray())
                .order(ByteOrder.LITTLE_ENDIAN);
        long[] sum = new long[2];
        for (int cpu = 0; cpu < kernel.possibleCpus(); cpu++) {
            sum[0] += v.getLong(cpu * 16);
            sum[1] += v.getLong(cpu * 16 + 8);
        }
        return sum;
    }

    // ---- clients (threads of the test, inside the namespace)

    /** Opens {@code n} TCP connections one after another; counts the answers by name ("error: ..." for failures). */
    Map<String, Integer> connect(String host, int port, int n) throws Exception {
        return ns.call(() -> {
            Map<String, Integer> who = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                who.merge(ask(host, port), 1, Integer::sum);
            }
            return who;
        });
    }

    static String ask(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(5000);
            return read(s);
        } catch (IOException e) {
            return "error: " + e.getMessage();
        }
    }

    static String read(Socket s) throws IOException {
        String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return r.isEmpty() ? "error: EOF" : r;
    }

    /** {@code n} datagrams, each from a new socket (a new 4-tuple); connected sockets when asked. */
    Map<String, Integer> datagrams(String host, int port, int n, boolean connected) throws Exception {
        return ns.call(() -> {
            Map<String, Integer> who = new TreeMap<>();
            InetSocketAddress to = new InetSocketAddress(host, port);
            for (int i = 0; i < n; i++) {
                try (DatagramSocket s = new DatagramSocket()) {
                    s.setSoTimeout(2000);
                    if (connected) {
                        s.connect(to);
                    }
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

    static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    }

    // ---- tests

    @Test
    void bothProgramsLoadThroughLoadProgramAsSkReuseport() {
        // BPF_PROG_TYPE_SK_REUSEPORT; the migrate variant's expected attach type (SELECT_OR_MIGRATE, from the
        // SEC name) is not in bpf_prog_info: the migration test below shows it, since only that type migrates
        // with net.ipv4.tcp_migrate_req=0
        assertEquals(21, kernel.programInfo(root.resolve("select")).orElseThrow().type());
        assertEquals(21, kernel.programInfo(root.resolve("migrate")).orElseThrow().type());
        assertEquals("reuseport_migra", kernel.programInfo(root.resolve("migrate")).orElseThrow().name());
        // a SOCKMAP refuses BTF, so bpfgit creates it without; the config and counters carry theirs
        assertEquals(0, kernel.mapInfo(root.resolve("rp_sockets")).orElseThrow().btfId());
        assertNotEquals(0, kernel.mapInfo(root.resolve("rp_config")).orElseThrow().btfId());
        assertEquals(Map.of(), kernel.sockets(root.resolve("rp_sockets")));
    }

    @Test
    void hotStandbySendsAllToTheFirstLiveMemberFailsOverAndReturns() throws Exception {
        Process blue = member("blue", "tcp", "127.0.0.1", 18080);
        Process green = member("green", "tcp", "127.0.0.1", 18080);
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {false, false});
        long blueCookie = adopt(blue, SocketProtocol.TCP, "127.0.0.1", 18080, 0, "select");
        long greenCookie = adopt(green, SocketProtocol.TCP, "127.0.0.1", 18080, 1, "select");
        assertEquals(Map.of(0, blueCookie, SLOTS, greenCookie), kernel.sockets(root.resolve("rp_sockets")));

        assertEquals(Map.of("blue", 200), connect("127.0.0.1", 18080, 200));
        assertEquals(200, counter(0)[0]);
        assertEquals(0, counter(1)[0]);

        kill(blue);
        // the kernel drops a closed socket from the SOCKMAP by itself
        assertEquals(Map.of(SLOTS, greenCookie), kernel.sockets(root.resolve("rp_sockets")));
        assertEquals(Map.of("green", 200), connect("127.0.0.1", 18080, 200));

        Process blue2 = member("blue", "tcp", "127.0.0.1", 18080);
        // in the group but not yet in the map: the program still picks green
        assertEquals(Map.of("green", 50), connect("127.0.0.1", 18080, 50));
        long blue2Cookie = adopt(blue2, SocketProtocol.TCP, "127.0.0.1", 18080, 0, "select");
        assertNotEquals(blueCookie, blue2Cookie);
        assertEquals(blue2Cookie, kernel.sockets(root.resolve("rp_sockets")).get(0));
        assertEquals(Map.of("blue", 200), connect("127.0.0.1", 18080, 200));
        assertEquals(250, counter(1)[0]);
        assertEquals(400, counter(0)[0]);
        assertEquals(0, counter(MAX_MEMBERS)[0]);

        // detached, the kernel's own hash spreads them again; a second detach finds nothing
        try (AdoptedSocket s = kernel.adopt(kernel.listeners(pid(green), SocketProtocol.TCP, 18080, Optional.empty()).getFirst())) {
            kernel.detachReuseport(s);
            Map<String, Integer> spread = connect("127.0.0.1", 18080, 200);
            assertTrue(spread.getOrDefault("blue", 0) > 20 && spread.getOrDefault("green", 0) > 20, spread.toString());
            KernelException none = assertThrows(KernelException.NotFound.class, () -> kernel.detachReuseport(s));
            assertTrue(none.getMessage().contains("SO_DETACH_REUSEPORT_BPF"), none.getMessage());
        }
    }

    @Test
    void weighted90To10Over2000ConnectionsLandsWithin3Points() throws Exception {
        Process blue = member("blue", "tcp", "127.0.0.1", 18081);
        Process green = member("green", "tcp", "127.0.0.1", 18081);
        configure(WEIGHTED, new int[] {90, 10}, new boolean[] {false, false});
        adopt(blue, SocketProtocol.TCP, "127.0.0.1", 18081, 0, "select");
        adopt(green, SocketProtocol.TCP, "127.0.0.1", 18081, 1, "select");

        Map<String, Integer> who = connect("127.0.0.1", 18081, 2000);
        System.out.println("weighted 90/10 over 2000: " + who);
        assertEquals(2000, who.getOrDefault("blue", 0) + who.getOrDefault("green", 0), who.toString());
        double blueShare = who.get("blue") / 20.0;
        assertTrue(blueShare >= 87 && blueShare <= 93, "blue got " + blueShare + "%: " + who);
        assertEquals(who.get("blue"), (int) counter(0)[0]);
        assertEquals(who.get("green"), (int) counter(1)[0]);

        // green's process gone: its share spills to the next live member instead of being refused
        kill(green);
        assertEquals(Map.of("blue", 300), connect("127.0.0.1", 18081, 300));
    }

    @Test
    void aDrainedMemberGetsNoNewConnections() throws Exception {
        Process blue = member("blue", "tcp", "127.0.0.1", 18082);
        Process green = member("green", "tcp", "127.0.0.1", 18082);
        adopt(blue, SocketProtocol.TCP, "127.0.0.1", 18082, 0, "migrate");
        adopt(green, SocketProtocol.TCP, "127.0.0.1", 18082, 1, "migrate");

        configure(WEIGHTED, new int[] {50, 50}, new boolean[] {false, true});
        assertEquals(Map.of("blue", 500), connect("127.0.0.1", 18082, 500));
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {true, false});
        assertEquals(Map.of("green", 500), connect("127.0.0.1", 18082, 500));
        configure(WEIGHTED, new int[] {50, 50}, new boolean[] {false, false});
        Map<String, Integer> both = connect("127.0.0.1", 18082, 500);
        assertTrue(both.getOrDefault("blue", 0) > 150 && both.getOrDefault("green", 0) > 150, both.toString());
    }

    /** 100 connections queued on a primary that never accepts; the primary is killed; who answers them. */
    Map<String, Integer> killPrimaryWithQueuedConnections(int port, String prog) throws Exception {
        Process primary = member("primary", "tcp", "127.0.0.1", port, "hold");
        Process standby = member("standby", "tcp", "127.0.0.1", port);
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {false, false});
        adopt(primary, SocketProtocol.TCP, "127.0.0.1", port, 0, prog);
        adopt(standby, SocketProtocol.TCP, "127.0.0.1", port, 1, prog);
        long givenBefore = counter(0)[0];
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
        assertEquals(100, counter(0)[0] - givenBefore, "all 100 were given to the primary");
        kill(primary);
        Map<String, Integer> who = new TreeMap<>();
        for (Socket s : queued) {
            try (s) {
                who.merge(read(s), 1, Integer::sum);
            } catch (IOException e) {
                who.merge("error: " + e.getMessage(), 1, Integer::sum);
            }
        }
        kill(standby);
        return who;
    }

    @Test
    void theMigrateProgramMovesQueuedConnectionsOfAClosingListenerAndSelectAloneLosesThem() throws Exception {
        Map<String, Integer> migrated = killPrimaryWithQueuedConnections(18083, "migrate");
        System.out.println("migrate program, primary killed with 100 queued: " + migrated);
        assertEquals(Map.of("standby", 100), migrated);
        assertEquals(100, counter(1)[1], "the standby's migration counter");

        Map<String, Integer> lost = killPrimaryWithQueuedConnections(18084, "select");
        System.out.println("select program, primary killed with 100 queued: " + lost);
        assertEquals(0, lost.getOrDefault("standby", 0), lost.toString());
        assertEquals(100, lost.values().stream().mapToInt(Integer::intValue).sum());
        assertTrue(lost.keySet().stream().allMatch(k -> k.startsWith("error: ")), lost.toString());
    }

    /** All of the member's listeners on the port, round-robin over its slots, the program attached through each. */
    List<Listener> adoptAll(Process p, int port, int member, String prog) {
        List<Listener> found = kernel.listeners(pid(p), SocketProtocol.TCP, port, Optional.empty());
        List<AdoptedSocket> adopted = found.stream().map(kernel::adopt).toList();
        try {
            for (int slot = 0; slot < SLOTS; slot++) {
                kernel.putSocket(root.resolve("rp_sockets"), member * SLOTS + slot, adopted.get(slot % adopted.size()));
            }
            adopted.forEach(a -> kernel.attachReuseport(root.resolve(prog), a));
        } finally {
            adopted.forEach(AdoptedSocket::close);
        }
        return found;
    }

    @Test
    void everyListenerOfAMemberIsUsedWorkersAndIpv4WithIpv6() throws Exception {
        // two workers on one address: one reuseport group, the member's connections spread over both
        Process blue = member("blue", "tcp", "127.0.0.1,127.0.0.1", 18092);
        Process green = member("green", "tcp", "127.0.0.1", 18092);
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {false, false});
        assertEquals(2, adoptAll(blue, 18092, 0, "select").size());
        adoptAll(green, 18092, 1, "select");
        Map<String, Integer> workers = connect("127.0.0.1", 18092, 400);
        System.out.println("one member, two listeners, 400 connections: " + workers);
        assertEquals(400, workers.getOrDefault("blue#0", 0) + workers.getOrDefault("blue#1", 0), workers.toString());
        assertTrue(workers.getOrDefault("blue#0", 0) >= 140 && workers.getOrDefault("blue#1", 0) >= 140,
                workers.toString());

        // IPv4 and IPv6 listeners are two reuseport groups; the program serves the member in both
        Process dual = member("dual", "tcp", "127.0.0.1,::1", 18093);
        Process other = member("other", "tcp", "127.0.0.1,::1", 18093);
        adoptAll(dual, 18093, 0, "select");
        adoptAll(other, 18093, 1, "select");
        assertEquals(Map.of("dual#0", 100), connect("127.0.0.1", 18093, 100));
        assertEquals(Map.of("dual#1", 100), connect("::1", 18093, 100));
        kill(dual);
        assertEquals(Map.of("other#0", 50), connect("127.0.0.1", 18093, 50));
        assertEquals(Map.of("other#1", 50), connect("::1", 18093, 50));
    }

    @Test
    void udpGroupConnectedAndUnconnected() throws Exception {
        Process blue = member("blue", "udp", "127.0.0.1", 18085);
        Process green = member("green", "udp", "127.0.0.1", 18085);
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {false, false});
        adopt(blue, SocketProtocol.UDP, "127.0.0.1", 18085, 0, "select");
        adopt(green, SocketProtocol.UDP, "127.0.0.1", 18085, 1, "select");

        assertEquals(Map.of("blue", 100), datagrams("127.0.0.1", 18085, 100, false));
        assertEquals(Map.of("blue", 100), datagrams("127.0.0.1", 18085, 100, true));
        kill(blue);
        assertEquals(Map.of("green", 100), datagrams("127.0.0.1", 18085, 100, false));

        configure(WEIGHTED, new int[] {90, 10}, new boolean[] {false, false});
        Process blue2 = member("blue", "udp", "127.0.0.1", 18085);
        adopt(blue2, SocketProtocol.UDP, "127.0.0.1", 18085, 0, "select");
        Map<String, Integer> w = datagrams("127.0.0.1", 18085, 1000, true);
        System.out.println("udp weighted 90/10 over 1000: " + w);
        assertTrue(w.getOrDefault("blue", 0) >= 850 && w.getOrDefault("blue", 0) <= 950, w.toString());
        assertEquals(1000, w.getOrDefault("blue", 0) + w.getOrDefault("green", 0), w.toString());
    }

    @Test
    void ipv6Group() throws Exception {
        Process blue = member("blue", "tcp", "::1", 18086);
        Process green = member("green", "tcp", "::1", 18086);
        configure(HOT_STANDBY, new int[] {1, 1}, new boolean[] {false, false});
        adopt(blue, SocketProtocol.TCP, "::1", 18086, 0, "migrate");
        adopt(green, SocketProtocol.TCP, "::1", 18086, 1, "migrate");
        Listener l = kernel.listeners(pid(blue), SocketProtocol.TCP, 18086, Optional.empty()).getFirst();
        assertEquals(new InetSocketAddress("::1", 18086), l.local());

        assertEquals(Map.of("blue", 200), connect("::1", 18086, 200));
        configure(WEIGHTED, new int[] {90, 10}, new boolean[] {false, false});
        Map<String, Integer> w = connect("::1", 18086, 1000);
        assertTrue(w.getOrDefault("blue", 0) >= 850 && w.getOrDefault("blue", 0) <= 950, w.toString());
        kill(blue);
        assertEquals(Map.of("green", 200), connect("::1", 18086, 200));
    }

    /**
     * listenerCookies reads, by inode, the cookies pidfd_getfd + SO_COOKIE would give and the SOCKMAP answers,
     * without a duplicate: TCP listeners (IPv4 and IPv6, not the connections), bound UDP sockets, of the named
     * namespace only.
     */
    @Test
    void listenerCookiesAreTheSocketCookiesReadWithoutADuplicate() throws Exception {
        Process v4 = member("v4", "tcp", "127.0.0.1", 18088);
        Process v6 = member("v6", "tcp", "::1", 18088);
        Process udp = member("udp", "udp", "127.0.0.1", 18088);
        Listener l4 = kernel.listeners(pid(v4), SocketProtocol.TCP, 18088, Optional.empty()).getFirst();
        Listener l6 = kernel.listeners(pid(v6), SocketProtocol.TCP, 18088, Optional.empty()).getFirst();
        Listener lu = kernel.listeners(pid(udp), SocketProtocol.UDP, 18088, Optional.empty()).getFirst();
        assertEquals(Map.of("v4", 3), connect("127.0.0.1", 18088, 3));   // connections of the port are not listeners

        Map<Long, Long> tcp = kernel.listenerCookies(SocketProtocol.TCP, 18088, Optional.of(ns.path()));
        Map<Long, Long> udps = kernel.listenerCookies(SocketProtocol.UDP, 18088, Optional.of(ns.path()));
        assertEquals(java.util.Set.of(l4.inode(), l6.inode()), tcp.keySet(), tcp.toString());
        assertEquals(java.util.Set.of(lu.inode()), udps.keySet(), udps.toString());
        try (AdoptedSocket a4 = kernel.adopt(l4); AdoptedSocket a6 = kernel.adopt(l6); AdoptedSocket au = kernel.adopt(lu)) {
            assertEquals(a4.cookie(), tcp.get(l4.inode()));
            assertEquals(a6.cookie(), tcp.get(l6.inode()));
            assertEquals(au.cookie(), udps.get(lu.inode()));
            kernel.putSocket(root.resolve("rp_sockets"), 0, a4);
        }
        assertEquals(tcp.get(l4.inode()), kernel.sockets(root.resolve("rp_sockets")).get(0));
        // this process's namespace (the host's) has none of them
        assertEquals(Map.of(), kernel.listenerCookies(SocketProtocol.TCP, 18088, Optional.of(Path.of("/proc/self/ns/net"))));
        assertEquals(Map.of(), kernel.listenerCookies(SocketProtocol.TCP, 18088, Optional.empty()));
    }

    @Test
    void listenersAreFoundByPortAddressAndProtocolInTheProcessNamespace() throws Exception {
        Process any = member("any", "tcp", "0.0.0.0", 18087);
        Process udp = member("udp", "udp", "127.0.0.1", 18087);
        List<Listener> tcp = kernel.listeners(pid(any), SocketProtocol.TCP, 18087, Optional.empty());
        assertEquals(1, tcp.size());
        assertEquals(new InetSocketAddress("0.0.0.0", 18087), tcp.getFirst().local());
        assertEquals(List.of(), kernel.listeners(pid(any), SocketProtocol.TCP, 18087,
                Optional.of(InetAddress.getByName("0.0.0.0"))).stream().filter(x -> x.fd() != tcp.getFirst().fd()).toList());
        // the fd really is that socket in that process
        String link = Files.readSymbolicLink(Path.of("/proc/" + pid(any) + "/fd/" + tcp.getFirst().fd())).toString();
        assertEquals("socket:[" + tcp.getFirst().inode() + "]", link);
        assertEquals(SocketProtocol.UDP, kernel.listeners(pid(udp), SocketProtocol.UDP, 18087, Optional.empty())
                .getFirst().protocol());
        // the host namespace has nothing on that port: the process's own namespace was read
        assertEquals("", Commands.exec("sh", "-c", "ss -Htln 'sport = :18087'").stdout().strip());
    }

    @Test
    void clearErrors() throws Exception {
        KernelException noPidFile = assertThrows(KernelException.NotFound.class,
                () -> kernel.readPidFile(tmp.resolve("absent.pid")));
        assertTrue(noPidFile.getMessage().startsWith("read pid file " + tmp.resolve("absent.pid") + ": ENOENT"),
                noPidFile.getMessage());
        Files.writeString(tmp.resolve("bad.pid"), "web\n");
        KernelException badPid = assertThrows(KernelException.class, () -> kernel.readPidFile(tmp.resolve("bad.pid")));
        assertEquals("EINVAL", badPid.errno().name());
        Files.writeString(tmp.resolve("ok.pid"), "4242\n");
        assertEquals(4242, kernel.readPidFile(tmp.resolve("ok.pid")));

        Process blue = member("blue", "tcp", "127.0.0.1", 18088);
        KernelException noListener = assertThrows(KernelException.NotFound.class,
                () -> kernel.listeners(pid(blue), SocketProtocol.TCP, 18089, Optional.empty()));
        assertTrue(noListener.getMessage().contains("has no listening TCP socket"), noListener.getMessage());
        assertThrows(KernelException.NotFound.class,
                () -> kernel.listeners(pid(blue), SocketProtocol.UDP, 18088, Optional.empty()));
        assertThrows(KernelException.NotFound.class, () -> kernel.listeners(pid(blue), SocketProtocol.TCP, 18088,
                Optional.of(InetAddress.getByName("127.0.0.2"))));
        KernelException noProcess = assertThrows(KernelException.NotFound.class,
                () -> kernel.listeners(999_999_999, SocketProtocol.TCP, 18088, Optional.empty()));
        assertTrue(noProcess.getMessage().contains("no process 999999999"), noProcess.getMessage());

        Process plain = member("plain", "tcp", "127.0.0.1", 18090, "noreuse");
        Listener l = kernel.listeners(pid(plain), SocketProtocol.TCP, 18090, Optional.empty()).getFirst();
        KernelException noReuse = assertThrows(KernelException.class, () -> kernel.adopt(l));
        assertEquals("EINVAL", noReuse.errno().name());
        assertTrue(noReuse.getMessage().contains("without SO_REUSEPORT"), noReuse.getMessage());

        Listener gone = kernel.listeners(pid(blue), SocketProtocol.TCP, 18088, Optional.empty()).getFirst();
        kill(blue);
        assertThrows(KernelException.NotFound.class, () -> kernel.adopt(gone));
    }

    @Test
    void withoutCapSysPtraceAdoptionIsPermissionDeniedNamingTheCapability() throws Exception {
        Process blue = member("blue", "tcp", "127.0.0.1", 18091);
        Listener l = kernel.listeners(pid(blue), SocketProtocol.TCP, 18091, Optional.empty()).getFirst();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> probe = List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                AdoptProbe.class.getName(), Integer.toString(l.pid()), Integer.toString(l.fd()), Long.toString(l.inode()));
        List<String> dropped = new ArrayList<>(List.of("setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace"));
        dropped.addAll(probe);
        Commands.Result without = Commands.exec(dropped);
        assertEquals(0, without.exitCode(), without.toString());
        assertTrue(without.stdout().startsWith("PermissionDenied take a duplicate of socket (pidfd_getfd) " + l.label()
                + ": EPERM (Operation not permitted): bpfgit needs CAP_SYS_PTRACE"), without.stdout());
        // the same probe with the capability adopts: the refusal was the capability, not the probe
        Commands.Result with = Commands.exec(probe);
        assertTrue(with.stdout().startsWith("adopted"), with.toString());
    }
}
