package dev.bpfgit.it;

import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Steering actions with real traffic: {@code redirect} moves packets to another interface (counted by a
 * server on the far side of it), {@code mark} sets the skb mark that {@code ip rule fwmark} routes by,
 * on egress (the program re-routes) and on ingress (the forwarding lookup after tc honours it).
 */
@KernelTest
class RedirectAndMarkIT {
    private static final int N = 6;

    /**
     * client eth0 ↔ edge eth0, edge eth1 ↔ scrub eth0. The scrubber wears the MAC and addresses of the
     * edge's eth0, so a frame redirected unchanged out of edge eth1 is delivered to its sockets there.
     */
    @Test
    void redirectDeliversOnTheOtherInterfaceAtXdp(@TempDir Path dir) throws Exception {
        redirectDeliversOnTheOtherInterface("xdp", dir);
    }

    /** The tc tests here run on tcx (6.6+) or, where it is missing, on bpfgit's legacy tc filter. */
    @Test
    void redirectDeliversOnTheOtherInterfaceAtTcIngress(@TempDir Path dir) throws Exception {
        redirectDeliversOnTheOtherInterface("tc-ingress", dir);
    }

    private void redirectDeliversOnTheOtherInterface(String hook, Path dir) throws Exception {
        write(dir, "scrub.yaml", traffic("scrub", "eth0", hook, "source", "pass",
                "{prefix: 198.51.100.0/24, action: redirect, to: eth1}",
                "{prefix: '2001:db8:600d::/48', action: redirect, to: eth1}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            t.add("scrub");
            t.veth("edge", "eth1", "10.1.0.1", "fd01::1", "scrub", "eth0", "10.1.0.2", "fd01::2");
            t.ip("scrub", "link", "set", "dev", "eth0", "address", t.mac("edge", "eth0"));
            t.addr("scrub", "lo", "10.0.0.2");
            t.addr("scrub", "lo", "fd00::2");
            t.sysctl("scrub", "net.ipv4.conf.all.rp_filter", "0");
            t.sysctl("scrub", "net.ipv4.conf.eth0.rp_filter", "0");
            // a veth receives frames redirected by XDP only when it runs NAPI, which GRO turns on
            t.ns("scrub").run("ethtool", "-K", "eth0", "gro", "on");
            // veth hands UDP over with the checksum left to "hardware"; XDP redirect drops that promise,
            // so the client computes checksums itself, as packets from a real wire always carry them
            t.ns("client").run("ethtool", "-K", "eth0", "tx", "off");

            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            TrafficPolicyIT.Counters c = new TrafficPolicyIT.Counters(edge, "traffic/eth0/" + hook);
            Topology.UdpSink atEdge4 = t.udpSink("edge", "10.0.0.2", 7001);
            Topology.UdpSink atEdge6 = t.udpSink("edge", "fd00::2", 7001);
            Topology.UdpSink atScrub4 = t.udpSink("scrub", "10.0.0.2", 7001);
            Topology.UdpSink atScrub6 = t.udpSink("scrub", "fd00::2", 7001);

            t.udpSend("client", "198.51.100.7", "10.0.0.2", 7001, N);
            assertEquals(N, atScrub4.await("198.51.100.7", N), "redirected to the scrubber");
            c.expect("198.51.100.0/24", N);
            t.udpSend("client", "2001:db8:600d::7", "fd00::2", 7001, N);
            assertEquals(N, atScrub6.await("2001:db8:600d::7", N));
            c.expect("2001:db8:600d::/48", N);

            t.udpSend("client", "10.0.0.1", "10.0.0.2", 7001, N);
            assertEquals(N, atEdge4.await("10.0.0.1", N), "unmatched traffic stays on the edge");
            t.udpSend("client", "fd00::1", "fd00::2", 7001, N);
            assertEquals(N, atEdge6.await("fd00::1", N));
            assertEquals(List.of(N, N, N, N), List.of(atEdge4.total(), atEdge6.total(), atScrub4.total(),
                    atScrub6.total()), "edge v4, edge v6, scrubber v4, scrubber v6");
        }
    }

    /**
     * edge eth0 ↔ path1, edge eth1 ↔ path2; both paths own 192.0.2.7 and 192.0.2.200 (and IPv6 peers of
     * them). The main table routes 192.0.2.0/24 by path1, table 100 by path2, and {@code ip rule fwmark
     * 0x10} selects table 100. The edge's own traffic to the marked half leaves by path2.
     */
    private static Topology twoPaths() {
        Topology t = Topology.of("edge", "path1", "path2");
        try {
            t.veth("edge", "eth0", "10.0.1.1", "fd01::1", "path1", "eth0", "10.0.1.2", "fd01::2");
            t.veth("edge", "eth1", "10.0.2.1", "fd02::1", "path2", "eth0", "10.0.2.2", "fd02::2");
            for (String path : List.of("path1", "path2")) {
                for (String a : List.of("192.0.2.7", "192.0.2.200", "2001:db8:5::7", "2001:db8:5:1::200")) {
                    t.addr(path, "lo", a);
                }
                t.sysctl(path, "net.ipv4.conf.all.rp_filter", "0");
                t.sysctl(path, "net.ipv4.conf.eth0.rp_filter", "0");
            }
            t.ip("edge", "route", "add", "192.0.2.0/24", "via", "10.0.1.2", "dev", "eth0");
            t.ip("edge", "route", "add", "192.0.2.0/24", "via", "10.0.2.2", "dev", "eth1", "table", "100");
            t.ip("edge", "rule", "add", "fwmark", "0x10", "table", "100");
            t.ip("edge", "-6", "route", "add", "2001:db8:5::/48", "via", "fd01::2", "dev", "eth0");
            t.ip("edge", "-6", "route", "add", "2001:db8:5::/48", "via", "fd02::2", "dev", "eth1", "table", "100");
            t.ip("edge", "-6", "rule", "add", "fwmark", "0x10", "table", "100");
            // the program's FIB lookup answers only where forwarding is on (bpf/README.md)
            t.sysctl("edge", "net.ipv4.conf.all.forwarding", "1");
            t.sysctl("edge", "net.ipv6.conf.all.forwarding", "1");
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    private static String steer() {
        return traffic("steer", "eth0", "tc-egress", "destination", "pass",
                "{prefix: 192.0.2.128/25, action: mark, mark: 0x10}",
                "{prefix: '2001:db8:5:1::/64', action: mark, mark: 0x10}");
    }

    /** Tagged fib-mark: re-routing by mark needs bpf_fib_lookup's mark (6.10); older kernels refuse the plan. */
    @Test
    @Tag("fib-mark")
    void tcEgressMarkSteersThroughFwmarkRouting(@TempDir Path dir) throws Exception {
        write(dir, "mark.yaml", steer());
        try (PinRoot root = PinRoot.create(); Topology t = twoPaths()) {
            // next hops already resolved, as on a host with traffic; the cold case is the test below
            t.staticNeighbours("edge", "eth0", "path1", "eth0", "10.0.1.1", "fd01::1", "10.0.1.2", "fd01::2");
            t.staticNeighbours("edge", "eth1", "path2", "eth0", "10.0.2.1", "fd02::1", "10.0.2.2", "fd02::2");
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            TrafficPolicyIT.Counters c = new TrafficPolicyIT.Counters(edge, "traffic/eth0/tc-egress");
            Sinks v4 = Sinks.of(t, "192.0.2.7", "192.0.2.200");
            Sinks v6 = Sinks.of(t, "2001:db8:5::7", "2001:db8:5:1::200");

            t.udpSend("edge", "0.0.0.0", "192.0.2.200", 7001, N);
            assertEquals(N, v4.path2Marked.await("10.0.1.1", N), "marked traffic leaves by path2; " + v4);
            c.expect("192.0.2.128/25", N);
            t.udpSend("edge", "0.0.0.0", "192.0.2.7", 7001, N);
            assertEquals(N, v4.path1Plain.await("10.0.1.1", N), "unmarked traffic keeps the main route; " + v4);
            t.udpSend("edge", "::", "2001:db8:5:1::200", 7001, N);
            assertEquals(N, v6.path2Marked.await("fd01::1", N), v6.toString());
            c.expect("2001:db8:5:1::/64", N);
            t.udpSend("edge", "::", "2001:db8:5::7", 7001, N);
            assertEquals(N, v6.path1Plain.await("fd01::1", N), v6.toString());
            v4.assertOnlyExpected();
            v6.assertOnlyExpected();
        }
    }

    /**
     * The first packets towards a marked next hop whose MAC is not known yet. The program hands them to
     * bpf_redirect_neigh, which queues them until ARP answers; the kernel then re-sends the queue through
     * the neighbour of the packets' original route (path1's), so they reach path2 with path1's MAC and
     * path2 drops them as "otherhost".
     */
    /** Tagged fib-mark: re-routing by mark needs bpf_fib_lookup's mark (6.10); older kernels refuse the plan. */
    @Test
    @Tag("fib-mark")
    void tcEgressMarkDeliversTheFirstPacketsToANextHopNotYetResolved(@TempDir Path dir) throws Exception {
        write(dir, "mark.yaml", steer());
        try (PinRoot root = PinRoot.create(); Topology t = twoPaths()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            Sinks v4 = Sinks.of(t, "192.0.2.7", "192.0.2.200");
            t.udpSend("edge", "0.0.0.0", "192.0.2.200", 7001, 3);
            assertEquals(3, v4.path2Marked.await("10.0.1.1", 3), "datagrams at path2 (" + v4 + "); path2 dropped "
                    + t.rxOtherhost("path2", "eth0") + " frame(s) addressed to another host");
        }
    }

    /**
     * client ↔ router eth0; router eth1 ↔ path1, router eth2 ↔ path2. The router forwards 192.0.2.0/24
     * by path1, or by path2 for packets marked 0x10; its tc-ingress program marks those from 203.0.113.0/24.
     */
    @Test
    void tcIngressMarkIsHonouredByForwarding(@TempDir Path dir) throws Exception {
        write(dir, "mark.yaml", traffic("by-source", "eth0", "tc-ingress", "source", "pass",
                "{prefix: 203.0.113.0/24, action: mark, mark: 0x10}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.of("client", "router", "path1", "path2")) {
            t.veth("client", "eth0", "10.0.0.1", "fd00::1", "router", "eth0", "10.0.0.2", "fd00::2");
            t.veth("router", "eth1", "10.0.1.1", "fd01::1", "path1", "eth0", "10.0.1.2", "fd01::2");
            t.veth("router", "eth2", "10.0.2.1", "fd02::1", "path2", "eth0", "10.0.2.2", "fd02::2");
            t.addr("client", "eth0", "203.0.113.7");
            t.ip("client", "route", "add", "192.0.2.0/24", "via", "10.0.0.2");
            for (String path : List.of("path1", "path2")) {
                t.addr(path, "lo", "192.0.2.7");
                t.sysctl(path, "net.ipv4.conf.all.rp_filter", "0");
                t.sysctl(path, "net.ipv4.conf.eth0.rp_filter", "0");
            }
            t.ip("router", "route", "add", "203.0.113.0/24", "via", "10.0.0.1");
            t.ip("router", "route", "add", "192.0.2.0/24", "via", "10.0.1.2");
            t.ip("router", "route", "add", "192.0.2.0/24", "via", "10.0.2.2", "table", "100");
            t.ip("router", "rule", "add", "fwmark", "0x10", "table", "100");
            t.sysctl("router", "net.ipv4.conf.all.forwarding", "1");

            Bpfgit.Host router = new Bpfgit.Host(t.ns("router"), root.path());
            router.apply(dir);
            TrafficPolicyIT.Counters c = new TrafficPolicyIT.Counters(router, "traffic/eth0/tc-ingress");
            Topology.UdpSink path1 = t.udpSink("path1", "192.0.2.7", 7001);
            Topology.UdpSink path2 = t.udpSink("path2", "192.0.2.7", 7001);

            t.udpSend("client", "203.0.113.7", "192.0.2.7", 7001, N);
            assertEquals(N, path2.await("203.0.113.7", N), "marked on ingress, forwarded by table 100");
            c.expect("203.0.113.0/24", N);
            t.udpSend("client", "10.0.0.1", "192.0.2.7", 7001, N);
            assertEquals(N, path1.await("10.0.0.1", N), "unmarked, forwarded by the main table");
            assertEquals(List.of(N, N), List.of(path1.total(), path2.total()), "path1, path2");
        }
    }

    /** UDP servers on both paths for one unmarked and one marked destination. */
    private record Sinks(Topology.UdpSink path1Plain, Topology.UdpSink path1Marked,
                         Topology.UdpSink path2Plain, Topology.UdpSink path2Marked) {
        static Sinks of(Topology t, String plain, String marked) throws Exception {
            return new Sinks(t.udpSink("path1", plain, 7001), t.udpSink("path1", marked, 7001),
                    t.udpSink("path2", plain, 7001), t.udpSink("path2", marked, 7001));
        }

        @Override
        public String toString() {
            return "path1 plain/marked " + path1Plain.total() + "/" + path1Marked.total() + ", path2 plain/marked "
                    + path2Plain.total() + "/" + path2Marked.total();
        }

        void assertOnlyExpected() {
            assertEquals(List.of(N, 0, 0, N), List.of(path1Plain.total(), path1Marked.total(), path2Plain.total(),
                    path2Marked.total()), "path1 plain, path1 marked, path2 plain, path2 marked");
        }
    }
}
