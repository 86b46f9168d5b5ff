package dev.bpfgit.it;

import dev.bpfgit.kernel.linux.Netns;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.TestNetns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Network namespaces joined by veth pairs, and real traffic between them: ping, and UDP and TCP sockets
 * opened inside a namespace (a socket belongs to the namespace of the thread that creates it, so Java
 * sockets made under {@link Netns#call} are as real as a server started with nsenter). Closing closes
 * the sockets first, then deletes the namespaces, which takes their veths along.
 */
final class Topology implements AutoCloseable {
    private final Map<String, TestNetns> namespaces = new LinkedHashMap<>();
    private final List<AutoCloseable> sockets = new ArrayList<>();

    private Topology() {
    }

    /** Empty namespaces, loopback up. */
    static Topology of(String... names) {
        Topology t = new Topology();
        try {
            for (String n : names) {
                t.namespaces.put(n, TestNetns.create());
            }
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /**
     * The standard pair: {@code client} eth0 (10.0.0.1, fd00::1) ↔ {@code edge} eth0 (10.0.0.2, fd00::2).
     * The client also owns source addresses in every range the tests give rules for ({@link #CLIENT_SOURCES});
     * the edge routes them back through the client. Neighbours are static on both sides, so no ARP or
     * neighbour discovery runs during a test and per-rule counters see exactly the packets a test sends.
     */
    static Topology pair() {
        Topology t = of("client", "edge");
        try {
            t.veth("client", "eth0", "10.0.0.1", "fd00::1", "edge", "eth0", "10.0.0.2", "fd00::2");
            for (String a : CLIENT_SOURCES) {
                t.addr("client", "eth0", a);
            }
            t.ip("edge", "route", "add", "203.0.113.0/24", "via", "10.0.0.1");
            t.ip("edge", "route", "add", "198.51.100.0/24", "via", "10.0.0.1");
            t.ip("edge", "route", "add", "192.0.2.0/24", "via", "10.0.0.1");
            t.ip("edge", "-6", "route", "add", "2001:db8::/32", "via", "fd00::1");
            t.staticNeighbours("client", "eth0", "edge", "eth0", "10.0.0.1", "fd00::1", "10.0.0.2", "fd00::2");
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /** Extra source addresses of the client in {@link #pair()}. */
    static final List<String> CLIENT_SOURCES = List.of("203.0.113.7", "203.0.113.200", "198.51.100.7",
            "192.0.2.7", "2001:db8:bad::7", "2001:db8:600d::7");

    /** One more empty namespace. */
    void add(String name) {
        namespaces.put(name, TestNetns.create());
    }

    TestNetns ns(String name) {
        TestNetns ns = namespaces.get(name);
        if (ns == null) {
            throw new IllegalArgumentException("no namespace " + name);
        }
        return ns;
    }

    Path path(String name) {
        return ns(name).path();
    }

    /** A veth pair between two namespaces, both ends up, addressed /24 and /64 without DAD. */
    void veth(String a, String ifA, String v4A, String v6A, String b, String ifB, String v4B, String v6B) {
        TestNetns.veth(ns(a), ifA, v4A, v6A, ns(b), ifB, v4B, v6B);
    }

    /** Adds a host address (/32 or /128) to an interface. */
    void addr(String ns, String dev, String address) {
        if (address.contains(":")) {
            ip(ns, "-6", "addr", "add", address + "/128", "dev", dev, "nodad");
        } else {
            ip(ns, "addr", "add", address + "/32", "dev", dev);
        }
    }

    String ip(String ns, String... args) {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        return ns(ns).run(c.toArray(String[]::new));
    }

    /** A sysctl of the namespace, written through nsenter so that it never reaches the host's. */
    void sysctl(String ns, String key, String value) {
        ns(ns).run("sysctl", "-q", "-w", key + "=" + value);
    }

    String mac(String ns, String dev) {
        String json = ip(ns, "-j", "link", "show", dev);
        Matcher m = Pattern.compile("\"address\":\"([0-9a-f:]{17})\"").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no MAC for " + dev + " in " + ns + ": " + json);
        }
        return m.group(1);
    }

    /** Permanent neighbour entries for both ends of a veth: no ARP or ND packets on that link. */
    void staticNeighbours(String a, String ifA, String b, String ifB, String v4A, String v6A, String v4B, String v6B) {
        String macA = mac(a, ifA);
        String macB = mac(b, ifB);
        ip(a, "neigh", "replace", v4B, "lladdr", macB, "dev", ifA, "nud", "permanent");
        ip(a, "-6", "neigh", "replace", v6B, "lladdr", macB, "dev", ifA, "nud", "permanent");
        ip(b, "neigh", "replace", v4A, "lladdr", macA, "dev", ifB, "nud", "permanent");
        ip(b, "-6", "neigh", "replace", v6A, "lladdr", macA, "dev", ifB, "nud", "permanent");
    }

    /** Removes every neighbour entry of an interface, permanent ones included, so ARP and ND run again. */
    void flushNeighbours(String ns, String dev) {
        ip(ns, "neigh", "flush", "dev", dev, "nud", "all");
        ip(ns, "-6", "neigh", "flush", "dev", dev, "nud", "all");
    }

    /** Packets received by an interface, as {@code ip -s link} counts them. */
    long rxPackets(String ns, String dev) {
        String json = ip(ns, "-s", "-j", "link", "show", dev);
        Matcher m = Pattern.compile("\"rx\":\\{\"bytes\":\\d+,\"packets\":(\\d+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no rx counters for " + dev + " in " + ns + ": " + json);
        }
        return Long.parseLong(m.group(1));
    }

    /** Frames an interface dropped because their destination MAC was another host's. */
    long rxOtherhost(String ns, String dev) {
        String json = ip(ns, "-s", "-s", "-j", "link", "show", dev);
        Matcher m = Pattern.compile("\"otherhost\":(\\d+)").matcher(json);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The XDP program id on an interface as iproute2 reports it, or 0 when none is attached. */
    int xdpProgId(String ns, String dev) {
        String json = ip(ns, "-j", "-d", "link", "show", dev);
        Matcher m = Pattern.compile("\"xdp\":\\{.*?\"prog\":\\{.*?\"id\":(\\d+)").matcher(json);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    // ---- traffic

    /** Pings {@code count} times from a source address; returns the replies. */
    int ping(String ns, String src, String dst, int count) {
        List<String> c = new ArrayList<>(List.of("ping"));
        if (dst.contains(":")) {
            c.add("-6");
        }
        c.addAll(List.of("-n", "-q", "-c", Integer.toString(count), "-i", "0.01", "-W", "0.5", "-I", src, dst));
        Commands.Result r = ns(ns).exec(c.toArray(String[]::new));
        Matcher m = Pattern.compile("(\\d+) packets transmitted, (\\d+) received").matcher(r.stdout());
        if (!m.find()) {
            throw new AssertionError("ping " + src + " -> " + dst + " in " + ns + " printed no summary: " + r);
        }
        assertEquals(count, Integer.parseInt(m.group(1)), "echo requests sent from " + src);
        return Integer.parseInt(m.group(2));
    }

    /** A UDP socket bound inside a namespace that counts the datagrams it receives, per source address. */
    UdpSink udpSink(String ns, String address, int port) throws Exception {
        DatagramChannel ch = Netns.call(path(ns), () -> DatagramChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(address), port)));
        UdpSink sink = new UdpSink(ch);
        sockets.add(sink);
        Thread.ofVirtual().start(sink::receive);
        return sink;
    }

    /** Sends {@code count} datagrams from a source address (which must be local to the namespace). */
    void udpSend(String ns, String src, String dst, int port, int count) throws Exception {
        try (DatagramChannel ch = Netns.call(path(ns), () -> DatagramChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(src), 0)))) {
            InetSocketAddress to = new InetSocketAddress(InetAddress.getByName(dst), port);
            for (int i = 0; i < count; i++) {
                ch.send(ByteBuffer.wrap(("datagram " + i).getBytes(StandardCharsets.US_ASCII)), to);
            }
        }
    }

    static final class UdpSink implements AutoCloseable {
        private final DatagramChannel channel;
        private final Map<String, AtomicInteger> bySource = new ConcurrentHashMap<>();

        private UdpSink(DatagramChannel channel) {
            this.channel = channel;
        }

        private void receive() {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            try {
                while (true) {
                    buf.clear();
                    InetSocketAddress from = (InetSocketAddress) channel.receive(buf);
                    bySource.computeIfAbsent(from.getAddress().getHostAddress(), k -> new AtomicInteger())
                            .incrementAndGet();
                }
            } catch (IOException closed) {
                // the sink was closed
            }
        }

        /** Datagrams received from a source address ({@code InetAddress.getHostAddress} form). */
        int from(String source) throws Exception {
            AtomicInteger n = bySource.get(InetAddress.getByName(source).getHostAddress());
            return n == null ? 0 : n.get();
        }

        int total() {
            return bySource.values().stream().mapToInt(AtomicInteger::get).sum();
        }

        /** Waits until {@code count} datagrams from {@code source} arrived; returns how many did. */
        int await(String source, int count) throws Exception {
            waitFor(Duration.ofSeconds(5), () -> {
                try {
                    return from(source) >= count;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            return from(source);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** A TCP echo server bound inside a namespace; counts the connections it accepted. */
    TcpEcho tcpEcho(String ns, String address, int port) throws Exception {
        ServerSocketChannel ch = Netns.call(path(ns), () -> {
            ServerSocketChannel s = ServerSocketChannel.open();
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            return s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        });
        TcpEcho echo = new TcpEcho(ch);
        sockets.add(echo);
        Thread.ofVirtual().start(echo::serve);
        return echo;
    }

    static final class TcpEcho implements AutoCloseable {
        private final ServerSocketChannel channel;
        private final AtomicInteger accepted = new AtomicInteger();

        private TcpEcho(ServerSocketChannel channel) {
            this.channel = channel;
        }

        private void serve() {
            try {
                while (true) {
                    SocketChannel s = channel.accept();
                    accepted.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            ByteBuffer buf = ByteBuffer.allocate(4096);
                            while (s.read(buf.clear()) > 0) {
                                s.write(buf.flip());
                            }
                        } catch (IOException e) {
                            // the client went away
                        }
                    });
                }
            } catch (IOException closed) {
                // the server was closed
            }
        }

        int accepted() {
            return accepted.get();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /**
     * Connects from a source address, sends a line, reads the echo and closes; true when the echo came
     * back. A connection attempt gets {@code connectTimeout}: long enough for a veth, short enough that
     * the kernel sends the SYN exactly once (its first retransmission is after one second).
     */
    boolean tcpExchange(String ns, String src, String dst, int port, Duration connectTimeout) throws Exception {
        byte[] hello = ("hello from " + src + "\n").getBytes(StandardCharsets.US_ASCII);
        try (SocketChannel s = Netns.call(path(ns), () -> SocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(src), 0)));
             Selector sel = Selector.open()) {
            s.configureBlocking(false);
            s.connect(new InetSocketAddress(InetAddress.getByName(dst), port));
            SelectionKey key = s.register(sel, SelectionKey.OP_CONNECT);
            if (sel.select(connectTimeout.toMillis()) == 0) {
                return false;
            }
            try {
                s.finishConnect();
            } catch (IOException refused) {
                return false;
            }
            key.cancel();
            sel.selectNow();   // deregisters, so that the channel may block again
            s.configureBlocking(true);
            s.write(ByteBuffer.wrap(hello));
            s.shutdownOutput();
            ByteBuffer got = ByteBuffer.allocate(hello.length + 1);
            while (s.read(got) > 0) {
                // read to the server's FIN
            }
            return got.position() == hello.length && got.flip().equals(ByteBuffer.wrap(hello));
        }
    }

    /**
     * A counter of the namespace's /proc/net/snmp, e.g. ("Tcp", "OutSegs"): TCP segments sent, IPv4 and
     * IPv6 alike. Read from /proc/thread-self, which shows the namespace of the reading thread.
     */
    long snmp(String ns, String group, String field) throws Exception {
        String text = Netns.call(path(ns), () -> Files.readString(Path.of("/proc/thread-self/net/snmp")));
        String[] names = null;
        for (String line : text.split("\n")) {
            if (!line.startsWith(group + ": ")) {
                continue;
            }
            String[] cols = line.substring(group.length() + 2).trim().split("\\s+");
            if (names == null) {
                names = cols;
                continue;
            }
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(field)) {
                    return Long.parseLong(cols[i]);
                }
            }
        }
        throw new AssertionError("no " + group + " " + field + " in /proc/net/snmp of " + ns);
    }

    /**
     * Polls a condition every 10 ms until it holds or the deadline (stretched by {@code bpfgit.test.timeScale})
     * passes; returns whether it holds.
     */
    static boolean waitFor(Duration deadline, BooleanSupplier condition) {
        return waitFor(deadline, Duration.ofMillis(10), condition);
    }

    static boolean waitFor(Duration deadline, Duration every, BooleanSupplier condition) {
        long end = System.nanoTime() + dev.bpfgit.kernel.testing.TimeScale.of(deadline).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return false;
            }
            try {
                Thread.sleep(every);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return true;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable s : sockets) {
            try {
                s.close();
            } catch (Exception e) {
                // a socket that cannot close does not stop the namespaces from going
            }
        }
        for (TestNetns ns : namespaces.values()) {
            try {
                ns.close();
            } catch (RuntimeException | Error e) {
                if (failure == null) {
                    failure = new IllegalStateException("cannot remove namespace " + ns, e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
