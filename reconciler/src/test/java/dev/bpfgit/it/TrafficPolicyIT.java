package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.cli.Main;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.linux.Netns;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TrafficPolicy on a real veth between two namespaces: the client sends ICMP, UDP and TCP over IPv4 and
 * IPv6 from addresses inside and outside the policy's prefixes to the edge, where the program runs on
 * eth0; what arrives, what is answered and what the per-rule counters show must match to the packet.
 */
@KernelTest
class TrafficPolicyIT {
    // not stretched by bpfgit.test.timeScale: it must stay under the kernel's 1 s SYN retransmission, which
    // OutSegs does not count, so that a dropped SYN is sent and counted exactly once
    private static final Duration CONNECT = Duration.ofMillis(500);

    /**
     * Longest prefix wins (203.0.113.128/25 passes inside a dropped /24). Link-local and unspecified
     * sources have rules of their own so that the kernel's own IPv6 chatter (MLD, router solicitation)
     * never lands in the default counter this test counts exactly.
     */
    static String edgeFilter(String hook) {
        return traffic("edge-filter", "eth0", hook, "source", "pass",
                "{prefix: 203.0.113.0/24, action: drop}",
                "{prefix: 203.0.113.128/25, action: pass}",
                "{prefix: 2001:db8:bad::/48, action: drop}",
                "{prefix: 10.0.0.0/24, action: pass}",
                "{prefix: 'fd00::/64', action: pass}",
                "{prefix: 'fe80::/10', action: pass}",
                "{prefix: '::/128', action: pass}");
    }

    @Test
    void dropsAndPassesIcmpUdpAndTcpByLongestSourcePrefixOnXdp(@TempDir Path dir) throws Exception {
        dropsAndPassesIcmpUdpAndTcpByLongestSourcePrefix("xdp", dir);
    }

    /** On tc: tcx links on 6.6+, bpfgit's legacy tc filter before (.ci/kernels 6.1) or with BPFGIT_TC=legacy. */
    @Test
    void dropsAndPassesIcmpUdpAndTcpByLongestSourcePrefixOnTcIngress(@TempDir Path dir) throws Exception {
        dropsAndPassesIcmpUdpAndTcpByLongestSourcePrefix("tc-ingress", dir);
    }

    private void dropsAndPassesIcmpUdpAndTcpByLongestSourcePrefix(String hook, Path dir) throws Exception {
        write(dir, "edge.yaml", edgeFilter(hook));
        String unit = "traffic/eth0/" + hook;
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            ApplyResult applied = edge.apply(dir);
            assertEquals(8, applied.entriesWritten(), "7 rules and the config entry");
            assertEquals(0, applied.entriesDeleted());
            Counters c = new Counters(edge, unit);

            // ICMP
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "dropped /24");
            c.expect("203.0.113.0/24", 3);
            assertEquals(3, t.ping("client", "203.0.113.200", "10.0.0.2", 3), "the /25 inside it passes");
            c.expect("203.0.113.128/25", 3);
            assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3));
            c.expect("10.0.0.0/24", 3);
            assertEquals(3, t.ping("client", "192.0.2.7", "10.0.0.2", 3), "no rule: default pass");
            c.expect("default", 3);
            assertEquals(0, t.ping("client", "2001:db8:bad::7", "fd00::2", 3));
            c.expect("2001:db8:bad::/48", 3);
            assertEquals(3, t.ping("client", "fd00::1", "fd00::2", 3));
            c.expect("fd00::/64", 3);
            assertEquals(3, t.ping("client", "2001:db8:600d::7", "fd00::2", 3));
            c.expect("default", 3);

            // UDP: a drop is proven by the drop rule's counter reaching what was sent and nothing arriving
            Topology.UdpSink v4 = t.udpSink("edge", "10.0.0.2", 7001);
            Topology.UdpSink v6 = t.udpSink("edge", "fd00::2", 7001);
            t.udpSend("client", "203.0.113.7", "10.0.0.2", 7001, 4);
            c.expect("203.0.113.0/24", 4);
            t.udpSend("client", "203.0.113.200", "10.0.0.2", 7001, 4);
            assertEquals(4, v4.await("203.0.113.200", 4));
            c.expect("203.0.113.128/25", 4);
            assertEquals(0, v4.from("203.0.113.7"));
            t.udpSend("client", "2001:db8:bad::7", "fd00::2", 7001, 4);
            c.expect("2001:db8:bad::/48", 4);
            t.udpSend("client", "2001:db8:600d::7", "fd00::2", 7001, 4);
            assertEquals(4, v6.await("2001:db8:600d::7", 4));
            c.expect("default", 4);
            assertEquals(0, v6.from("2001:db8:bad::7"));
            assertEquals(4, v4.total());
            assertEquals(4, v6.total());

            // TCP: every segment the client sends is counted by the rule its source falls under
            Topology.TcpEcho e4 = t.tcpEcho("edge", "10.0.0.2", 7002);
            Topology.TcpEcho e6 = t.tcpEcho("edge", "fd00::2", 7002);
            c.tcp(t, "203.0.113.7", "10.0.0.2", "203.0.113.0/24", false);
            c.tcp(t, "203.0.113.200", "10.0.0.2", "203.0.113.128/25", true);
            c.tcp(t, "2001:db8:bad::7", "fd00::2", "2001:db8:bad::/48", false);
            c.tcp(t, "2001:db8:600d::7", "fd00::2", "default", true);
            assertEquals(1, e4.accepted());
            assertEquals(1, e6.accepted());
        }
    }

    @Test
    void matchDestinationDropsByTheAddressThePacketIsSentTo(@TempDir Path dir) throws Exception {
        // with 1,100 more rules no packet reaches, the counters are read as a scrape reads a large unit's: the
        // whole per-CPU array in one batch read, indexed by slot (TrafficCounters.counts)
        List<String> rules = new java.util.ArrayList<>(List.of("{prefix: 198.18.1.0/24, action: drop}",
                "{prefix: '2001:db8:dd:1::/64', action: drop}",
                "{prefix: 198.18.0.0/24, action: pass}"));
        for (int i = 0; i < 1_100; i++) {
            rules.add("{prefix: 10.99." + (i / 256) + "." + (i % 256) + "/32, action: drop}");
        }
        write(dir, "dst.yaml", traffic("protect", "eth0", "xdp", "destination", "pass", rules.toArray(String[]::new)));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            for (String a : List.of("198.18.0.2", "198.18.1.2", "2001:db8:dd:1::2", "2001:db8:dd:2::2")) {
                t.addr("edge", "eth0", a);
            }
            t.ip("client", "route", "add", "198.18.0.0/16", "via", "10.0.0.2");
            t.ip("client", "-6", "route", "add", "2001:db8:dd::/48", "via", "fd00::2");
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            Counters c = new Counters(edge, "traffic/eth0/xdp");

            assertEquals(0, t.ping("client", "10.0.0.1", "198.18.1.2", 3));
            c.expect("198.18.1.0/24", 3);
            assertEquals(3, t.ping("client", "10.0.0.1", "198.18.0.2", 3));
            c.expect("198.18.0.0/24", 3);
            assertEquals(0, t.ping("client", "fd00::1", "2001:db8:dd:1::2", 3));
            c.expect("2001:db8:dd:1::/64", 3);
            assertEquals(3, t.ping("client", "fd00::1", "2001:db8:dd:2::2", 3));

            // the same source is dropped or not depending only on where it sends
            Topology.UdpSink blocked = t.udpSink("edge", "198.18.1.2", 7001);
            Topology.UdpSink open = t.udpSink("edge", "198.18.0.2", 7001);
            t.udpSend("client", "203.0.113.7", "198.18.1.2", 7001, 5);
            c.expect("198.18.1.0/24", 5);
            t.udpSend("client", "203.0.113.7", "198.18.0.2", 7001, 5);
            assertEquals(5, open.await("203.0.113.7", 5));
            c.expect("198.18.0.0/24", 5);
            assertEquals(0, blocked.total());
        }
    }

    @Test
    void defaultDropDropsUnmatchedIpButArpAndNeighbourDiscoveryStillWork(@TempDir Path dir) throws Exception {
        write(dir, "allow.yaml", traffic("allow-only", "eth0", "xdp", "source", "drop",
                "{prefix: 10.0.0.0/24, action: pass}",
                "{prefix: 'fd00::/64', action: pass}",
                "{prefix: 'fe80::/10', action: drop}",
                "{prefix: '::/128', action: drop}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            // from here on both sides must resolve each other through ARP and neighbour discovery
            t.flushNeighbours("client", "eth0");
            t.flushNeighbours("edge", "eth0");
            Counters c = new Counters(edge, "traffic/eth0/xdp");

            assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3), "ARP is not IP: it passes");
            assertEquals(3, t.ping("client", "fd00::1", "fd00::2", 3),
                    "neighbour solicitations from fd00::1 pass under its rule");
            String clientMac = t.mac("client", "eth0");
            String v4 = t.ip("edge", "neigh", "show", "10.0.0.1", "dev", "eth0");
            String v6 = t.ip("edge", "-6", "neigh", "show", "fd00::1", "dev", "eth0");
            assertTrue(v4.contains(clientMac) && !v4.contains("PERMANENT"), "learned through ARP: " + v4);
            assertTrue(v6.contains(clientMac) && !v6.contains("PERMANENT"), "learned through ND: " + v6);

            long before = c.now("default");
            assertEquals(0, t.ping("client", "192.0.2.7", "10.0.0.2", 3));
            assertEquals(0, t.ping("client", "2001:db8:600d::7", "fd00::2", 3));
            c.expect("default", 6);
            assertEquals(before + 6, c.now("default"));
            Topology.UdpSink sink = t.udpSink("edge", "10.0.0.2", 7001);
            t.udpSend("client", "192.0.2.7", "10.0.0.2", 7001, 4);
            c.expect("default", 4);
            t.udpSend("client", "10.0.0.1", "10.0.0.2", 7001, 4);
            assertEquals(4, sink.await("10.0.0.1", 4));
            assertEquals(4, sink.total(), "nothing from the unmatched source");
        }
    }

    @Test
    void replanAfterApplyIsInSyncAndAChangedRuleWritesOneEntryWithoutResettingOthers(@TempDir Path dir)
            throws Exception {
        Path file = write(dir, "edge.yaml", edgeFilter("xdp"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            assertTrue(edge.plan(dir).inSync(), "a re-plan right after apply");
            assertEquals(0, Netns.call(t.path("edge"), () -> Main.execute("plan", dir.toString(), "--root",
                    root.path().toString())), "bpfgit plan exits 0 when in sync");
            Ids ids = Ids.of(t, edge);
            Counters c = new Counters(edge, "traffic/eth0/xdp");
            assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3));
            c.expect("10.0.0.0/24", 3);
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
            c.expect("203.0.113.0/24", 3);

            Files.writeString(file, Files.readString(file).replace("{prefix: 203.0.113.0/24, action: drop}",
                    "{prefix: 203.0.113.0/24, action: pass}"));
            Plan plan = edge.plan(dir);
            assertEquals(1, plan.units().size());
            List<Change> changes = plan.units().getFirst().changes();
            assertEquals(1, changes.size(), "one change: " + changes);
            Change.PutEntries put = assertInstanceOf(Change.PutEntries.class, changes.getFirst());
            assertEquals(root.resolve("traffic/eth0/xdp/rules_v4"), put.pin());
            EntryChange ec = put.changes().getFirst();
            assertEquals(List.of("203.0.113.0/24 ~"), put.changes().stream().map(e -> e.key() + " " + e.symbol())
                    .toList());
            assertTrue(ec.text().contains("pass"), ec.text());

            ApplyResult r = edge.inside(p -> p.apply(plan));
            assertEquals(1, r.entriesWritten());
            assertEquals(0, r.entriesDeleted());
            assertEquals(ids, Ids.of(t, edge), "same program, link and maps: only an entry changed");
            assertTrue(edge.plan(dir).inSync());

            assertEquals(3, c.now("10.0.0.0/24"), "the unchanged rule keeps its count");
            assertEquals(2, t.ping("client", "10.0.0.1", "10.0.0.2", 2));
            c.expect("10.0.0.0/24", 2);
            assertEquals(5, c.now("10.0.0.0/24"));
            assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "the changed rule passes now");
            c.expect("203.0.113.0/24", 3);
        }
    }

    /** One of the policies is on tc-ingress: tcx, or legacy tc where tcx is missing (see .ci/kernels). */
    @Test
    void policiesSharingAnInterfaceAndHookAreAddedAndRemovedOneByOne(@TempDir Path dir) throws Exception {
        write(dir, "a.yaml", traffic("team-a", "eth0", "xdp", "source", "pass",
                "{prefix: 203.0.113.0/24, action: drop}"));
        Path b = write(dir, "b.yaml", traffic("team-b", "eth0", "xdp", "source", "pass",
                "{prefix: 198.51.100.0/24, action: drop}",
                "{prefix: 2001:db8:bad::/48, action: drop}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            ApplyResult first = edge.apply(dir);
            assertEquals(4, first.entriesWritten(), "3 rules and the config entry");
            assertEquals(List.of("traffic/eth0/xdp/link LINK", "traffic/eth0/xdp/prog PROG"),
                    edge.pins().stream().filter(p -> p.endsWith("LINK") || p.endsWith("PROG")).toList(),
                    "two policies, one program and one link");
            Ids ids = Ids.of(t, edge);
            Counters c = new Counters(edge, "traffic/eth0/xdp");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
            c.expect("203.0.113.0/24", 3);
            assertEquals(0, t.ping("client", "198.51.100.7", "10.0.0.2", 3));
            c.expect("198.51.100.0/24", 3);

            Files.delete(b);
            ApplyResult removeB = edge.apply(dir);
            assertEquals(0, removeB.entriesWritten());
            assertEquals(2, removeB.entriesDeleted(), "exactly team-b's two rules");
            assertEquals(ids, Ids.of(t, edge));
            assertEquals(3, t.ping("client", "198.51.100.7", "10.0.0.2", 3), "team-b's rule is gone");
            assertEquals(3, t.ping("client", "2001:db8:bad::7", "fd00::2", 3), "team-b's IPv6 rule is gone too");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
            c.expect("203.0.113.0/24", 3);
            assertEquals(6, c.now("203.0.113.0/24"), "team-a's counter was not reset by team-b leaving");

            write(dir, "c.yaml", traffic("team-c", "eth0", "xdp", "source", "pass",
                    "{prefix: 192.0.2.0/24, action: drop}"));
            ApplyResult addC = edge.apply(dir);
            assertEquals(1, addC.entriesWritten());
            assertEquals(0, addC.entriesDeleted());
            assertEquals(0, t.ping("client", "192.0.2.7", "10.0.0.2", 3));
            c.expect("192.0.2.0/24", 3);

            Files.delete(dir.resolve("a.yaml"));
            Files.delete(dir.resolve("c.yaml"));
            write(dir, "other.yaml", traffic("elsewhere", "lo", "tc-ingress", "source", "pass",
                    "{prefix: 192.0.2.0/24, action: drop}"));
            // asked in the same thread right after the apply: the unit's link is detached when apply returns, not
            // a moment later when the kernel releases it (the ip(8) run below came too late to see that, mostly)
            List<AttachedProgram> left = edge.inside(p -> {
                p.apply(p.plan(edge.desired(p, dir)));
                return p.kernel().attached(new AttachPoint.Xdp("eth0"));
            });
            assertEquals(List.of(), left, "no XDP program on eth0 when apply returns");
            assertEquals(List.of(), edge.pins().stream().filter(p -> p.startsWith("traffic/eth0")).toList(),
                    "the last policy on eth0 xdp left: its unit is gone");
            assertEquals(0, t.xdpProgId("edge", "eth0"), "no XDP program on eth0");
            assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
        }
    }

    @Test
    void bpftoolPrintsTheRulesAsTypedEntries(@TempDir Path dir) throws Exception {
        write(dir, "edge.yaml", traffic("typed", "eth0", "xdp", "source", "pass",
                "{prefix: 203.0.113.0/24, action: drop}",
                "{prefix: 198.51.100.0/24, action: redirect, to: lo}",
                "{prefix: 2001:db8:bad::/48, action: drop}"));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(dir);
            int lo = t.ns("edge").ifindex("lo");

            Set<String> v4 = formatted(root.resolve("traffic/eth0/xdp/rules_v4"));
            assertEquals(new TreeSet<>(Set.of("24 [198,51,100,0] action=2 ifindex=" + lo,
                    "24 [203,0,113,0] action=1 ifindex=0")), v4);
            Set<String> v6 = formatted(root.resolve("traffic/eth0/xdp/rules_v6"));
            assertEquals(Set.of("48 [32,1,13,184,11,173,0,0,0,0,0,0,0,0,0,0] action=1 ifindex=0"), v6);
        }
    }

    /** The "formatted" (BTF-typed) entries of {@code bpftool -j map dump}, one line per entry. */
    private static Set<String> formatted(Path pin) throws Exception {
        String json = Commands.run("bpftool", "-j", "map", "dump", "pinned", pin.toString());
        Set<String> out = new TreeSet<>();
        for (JsonNode e : Bpfgit.JSON.readTree(json)) {
            JsonNode f = e.get("formatted");
            assertTrue(f != null, "no BTF-formatted entry in " + e);
            JsonNode key = f.get("key");
            JsonNode value = f.get("value");
            List<String> addr = new ArrayList<>();
            key.get("addr").forEach(b -> addr.add(b.asString()));
            for (String field : List.of("slot", "gen", "policy", "ifindex", "mark", "action")) {
                assertTrue(value.has(field), "typed value lacks " + field + ": " + value);
            }
            assertNotEquals(0, value.get("slot").asLong(), "slot 0 is the default counter");
            out.add(key.get("prefixlen").asInt() + " [" + String.join(",", addr) + "] action="
                    + value.get("action").asInt() + " ifindex=" + value.get("ifindex").asInt());
        }
        return out;
    }

    /** Kernel ids of a unit's program, link and maps: equal ids mean nothing was recreated. */
    record Ids(int xdpProg, List<String> objects) {
        static Ids of(Topology t, Bpfgit.Host host) throws Exception {
            return new Ids(t.xdpProgId("edge", "eth0"), host.inside(p -> {
                List<String> ids = new ArrayList<>();
                Path unit = host.root().resolve("traffic/eth0/xdp");
                p.kernel().programInfo(unit.resolve("prog")).ifPresent(i -> ids.add("prog " + i.id()));
                p.kernel().linkInfo(unit.resolve("link")).ifPresent(i -> ids.add("link " + i.id()));
                for (String m : List.of("rules_v4", "rules_v6", "counters", "config")) {
                    p.kernel().mapInfo(unit.resolve(m)).ifPresent(i -> ids.add(m + " " + i.id()));
                }
                return ids;
            }));
        }
    }

    /** Per-rule packet counters of one unit, checked by how much they moved since the last check. */
    static final class Counters {
        private final Bpfgit.Host host;
        private final String unit;
        private final Map<String, Long> seen = new java.util.HashMap<>();

        Counters(Bpfgit.Host host, String unit) throws Exception {
            this.host = host;
            this.unit = unit;
            seen.putAll(host.packets(unit));
        }

        long now(String prefix) throws Exception {
            Long n = host.packets(unit).get(prefix);
            if (n == null) {
                throw new AssertionError("no counter for " + prefix + " in " + host.packets(unit));
            }
            return n;
        }

        /** Waits for the counter of {@code prefix} to move by exactly {@code delta} since the last check. */
        void expect(String prefix, long delta) throws Exception {
            long base = seen.getOrDefault(prefix, 0L);
            Topology.waitFor(Duration.ofSeconds(3), () -> Bpfgit.unchecked(() -> now(prefix)) >= base + delta);
            long got = now(prefix);
            assertEquals(delta, got - base, "packets counted for " + prefix + " (all: " + host.packets(unit) + ")");
            seen.put(prefix, got);
        }

        /**
         * One TCP exchange from {@code src}; every segment the client's stack sent (its Tcp OutSegs) must
         * be counted by {@code rule}, and the exchange must succeed exactly when {@code passes}.
         */
        void tcp(Topology t, String src, String dst, String rule, boolean passes) throws Exception {
            long segsBefore = t.snmp("client", "Tcp", "OutSegs");
            long base = seen.getOrDefault(rule, 0L);
            assertEquals(passes, t.tcpExchange("client", src, dst, 7002, CONNECT), src + " -> " + dst);
            boolean equal = Topology.waitFor(Duration.ofSeconds(3), () -> Bpfgit.unchecked(() ->
                    now(rule) - base == t.snmp("client", "Tcp", "OutSegs") - segsBefore));
            long sent = t.snmp("client", "Tcp", "OutSegs") - segsBefore;
            long counted = now(rule) - base;
            assertTrue(equal, "TCP segments sent from " + src + ": " + sent + ", counted by " + rule + ": " + counted);
            assertTrue(passes ? sent >= 4 : sent >= 1, "segments sent: " + sent);
            assertFalse(!passes && sent > 2, "a dropped SYN is sent once or twice in " + CONNECT + ": " + sent);
            seen.put(rule, base + counted);
        }
    }
}
