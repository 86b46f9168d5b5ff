package dev.bpfgit.kind.sockterm;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kernel.SocketOwner;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.render.OutputSchema;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SocketTermination through load, compile, diff, apply and its runtime on the in-memory kernel, set up without
 * the kfunc ({@link Feature#SOCK_DESTROY}): the runtime takes the netlink path (dump, match here, SOCK_DESTROY).
 */
class SocketTerminationKindTest {
    static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    static final HostFacts HOST = new HostFacts("web-1", Map.of(), Map.of("lo", 1));
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
    static final Optional<Path> NS = Optional.of(Path.of("/run/netns/app"));

    final MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);

    {
        kernel.restoreFeatures(Features.ALL.without(Set.of(Feature.SOCK_DESTROY)));
    }

    static Snapshot snapshot(String mode, String extra) {
        return new Snapshot("r1", Map.of("st.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: SocketTermination
                metadata: {name: stale-dns}
                spec:
                  destinations:
                    - {prefix: 10.96.0.0/16, ports: [53]}
                    - {prefix: 10.96.0.10/32}
                    - {prefix: "2001:db8::/32", ports: [443]}
                  netns: /run/netns/app
                  mode: %s
                %s""".formatted(mode, extra)));
    }

    static DesiredState desired(Snapshot s) {
        List<Policy> policies = new PolicyLoader().load(s);
        return Compiler.compile(Kinds.BUILT_IN, ROOT, s.revision(), policies, HOST);
    }

    static InetSocket socket(SocketProtocol p, String remote, int port, long inode, long cgroup) {
        return new InetSocket(p, new InetSocketAddress(InetAddress.ofLiteral(remote.contains(":") ? "fd00::1" : "10.0.0.1"),
                40000 + (int) inode), new InetSocketAddress(InetAddress.ofLiteral(remote), port), 1, inode, inode, cgroup, 0);
    }

    Plan plan(DesiredState d) {
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(d));
        return Differ.diff(d, live);
    }

    @Test
    void aPolicyIsOneUnitOfMapsOnly() {
        Unit u = desired(snapshot("once", "")).units().getFirst();
        assertEquals(ROOT.resolve("sockterm/stale-dns"), u.dir());
        assertEquals("tcp+udp, 3 destinations in /run/netns/app, once", u.label());
        assertEquals(List.of("st_dst_v4", "st_dst_v6", "st_ports", "st_config", "st_cgroups", "st_counters"),
                u.maps().stream().map(MapDesire::name).toList());
        assertTrue(u.programs().isEmpty() && u.links().isEmpty());
        assertEquals(2, u.maps().get(0).entries().orElseThrow().size());
        assertEquals(1, u.maps().get(1).entries().orElseThrow().size());
        assertEquals(2, u.maps().get(2).entries().orElseThrow().size());   // (1, 53) and (3, 443)
        assertTrue(u.maps().get(4).entries().isEmpty() && u.maps().get(5).entries().isEmpty());
    }

    @Test
    void theLongestPrefixDecidesThenThePorts() {
        SocketTerminationSpec s = (SocketTerminationSpec) desired(snapshot("once", "")).policies().getFirst().spec();
        assertTrue(SocketMatcher.matches(s, socket(SocketProtocol.UDP, "10.96.1.1", 53, 1, 0), Set.of()));
        assertFalse(SocketMatcher.matches(s, socket(SocketProtocol.UDP, "10.96.1.1", 54, 1, 0), Set.of()));
        // the /32 lists no ports: every port of 10.96.0.10
        assertTrue(SocketMatcher.matches(s, socket(SocketProtocol.TCP, "10.96.0.10", 8080, 1, 0), Set.of()));
        assertTrue(SocketMatcher.matches(s, socket(SocketProtocol.TCP, "::ffff:10.96.2.2", 53, 1, 0), Set.of()));
        assertTrue(SocketMatcher.matches(s, socket(SocketProtocol.TCP, "2001:db8::5", 443, 1, 0), Set.of()));
        assertFalse(SocketMatcher.matches(s, socket(SocketProtocol.TCP, "2001:db9::5", 443, 1, 0), Set.of()));
        assertFalse(SocketMatcher.matches(s, socket(SocketProtocol.TCP, "10.97.0.1", 53, 1, 0), Set.of()));
    }

    @Test
    void onceTerminatesMatchingSocketsOnceAndRecordsItContinuousEveryPass() {
        DesiredState d = desired(snapshot("once", ""));
        Applier.apply(kernel, plan(d), CLOCK);
        kernel.connect(NS, socket(SocketProtocol.UDP, "10.96.0.10", 53, 7, 0), new SocketOwner(100, "app"));
        kernel.connect(NS, socket(SocketProtocol.TCP, "10.1.0.1", 53, 8, 0), new SocketOwner(100, "app"));
        PolicyKind.Runtime r = Kinds.BUILT_IN.named("SocketTermination").runtime(kernel, d).orElseThrow();

        assertEquals(List.of("SocketTermination/stale-dns (tcp+udp, 3 destinations in /run/netns/app, once): 1 socket"
                + " to terminate:", "  pid 100 app: udp 10.0.0.1:40007 -> 10.96.0.10:53"), r.describe());
        String json = PlanJson.render(plan(d), r::describe);
        JsonNode t = OutputSchema.assertValid(json).path("terminations").get(0);
        assertEquals(1, t.path("count").asInt());
        assertEquals(100, t.path("sockets").get(0).path("owners").get(0).path("pid").asInt());

        r.reconcile();
        assertEquals(1, kernel.connectedSockets(NS).size());   // the other one is left
        assertEquals(new SocketTerminationStatus.Counts(0, 1, 0),
                SocketTerminationStatus.counts(kernel, ROOT.resolve("sockterm/stale-dns")));
        // once: recorded, so a new matching socket (and a restart) leaves it alone
        kernel.connect(NS, socket(SocketProtocol.TCP, "10.96.0.10", 80, 9, 0), new SocketOwner(101, "app"));
        Kinds.BUILT_IN.named("SocketTermination").runtime(kernel, d).orElseThrow().reconcile();
        assertEquals(2, kernel.connectedSockets(NS).size());
        assertTrue(r.describe().getFirst().endsWith("done for this revision of the policy (mode once); nothing to terminate"));
        LiveState live = Observer.observe(kernel, ROOT, List.of());
        assertTrue(live.meta().get("runtime/sockterm/stale-dns/last").orElseThrow().endsWith("netlink: 1 terminated"));
        assertTrue(plan(d).inSync(), "the runtime's state is not drift");

        DesiredState continuous = desired(snapshot("continuous", ""));
        Applier.apply(kernel, plan(continuous), CLOCK);
        Kinds.BUILT_IN.named("SocketTermination").runtime(kernel, continuous).orElseThrow().reconcile();
        assertEquals(1, kernel.connectedSockets(NS).size());
        assertEquals(new SocketTerminationStatus.Counts(1, 1, 0),
                SocketTerminationStatus.counts(kernel, ROOT.resolve("sockterm/stale-dns")));
    }

    @Test
    void aCgroupLimitsItToItsSockets() {
        kernel.cgroup("/pods/p1", Set.of(500L, 501L));
        DesiredState d = desired(snapshot("once", "  cgroup: /pods/p1\n"));
        Applier.apply(kernel, plan(d), CLOCK);
        kernel.connect(NS, socket(SocketProtocol.UDP, "10.96.0.10", 53, 7, 501), new SocketOwner(100, "in"));
        kernel.connect(NS, socket(SocketProtocol.UDP, "10.96.0.10", 53, 8, 999), new SocketOwner(101, "out"));
        Kinds.BUILT_IN.named("SocketTermination").runtime(kernel, d).orElseThrow().reconcile();
        List<InetSocket> left = kernel.connectedSockets(NS);
        assertEquals(List.of(8L), left.stream().map(InetSocket::inode).toList());
        assertEquals(2, kernel.entries(ROOT.resolve("sockterm/stale-dns/st_cgroups")).size());
    }

    @Test
    void theIteratorRecordsAreRead() {
        ByteBuffer b = ByteBuffer.allocate(56).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 17).put((byte) 2).put((byte) 1).put((byte) 0).putInt(-2).putShort((short) 40001).putShort((short) 53)
                .putInt(0).put(new byte[]{10, 0, 0, 1}).put(new byte[12]).put(new byte[]{10, 96, 0, 10}).put(new byte[12])
                .putLong(77);
        SocketTerminationLayout.Terminated t = SocketTerminationLayout.records(b.array()).getFirst();
        assertEquals("udp 10.0.0.1:40001 -> 10.96.0.10:53", t.socket().tuple());
        assertEquals(-2, t.err());
        assertEquals(77, t.socket().cgroup());
    }
}
