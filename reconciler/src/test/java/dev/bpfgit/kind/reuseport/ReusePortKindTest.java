package dev.bpfgit.kind.reuseport;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ReusePortGroup through load, compile, diff, apply and its runtime, on the in-memory kernel. */
class ReusePortKindTest {
    static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    static final HostFacts HOST = new HostFacts("web-1", Map.of(), Map.of("lo", 1));
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);

    final MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);

    static Snapshot snapshot(String revision, String strategy, boolean migrate, boolean drainGreen) {
        return new Snapshot(revision, Map.of("web.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: web}
                spec:
                  port: 8080
                  address: 127.0.0.1
                  strategy: %s
                  migrate: %s
                  members:
                    - {name: blue, weight: 90, process: {pidFile: /run/blue.pid}}
                    - {name: green, weight: 10, drain: %s, process: {pidFile: /run/green.pid}}
                """.formatted(strategy, migrate, drainGreen)));
    }

    static DesiredState desired(Snapshot s) {
        List<Policy> policies = new PolicyLoader().load(s);
        return Compiler.compile(Kinds.BUILT_IN, ROOT, s.revision(), policies, HOST);
    }

    static byte[] config(Unit u) {
        MapDesire m = u.maps().stream().filter(x -> x.name().equals("rp_config")).findFirst().orElseThrow();
        return m.entries().orElseThrow().values().iterator().next().toArray();
    }

    @Test
    void aGroupIsOneUnitWithItsMapsAndProgramAndNoLink() {
        DesiredState d = desired(snapshot("r1", "weighted", false, false));
        assertEquals(1, d.units().size());
        Unit u = d.units().getFirst();
        assertEquals(ROOT.resolve("reuseport/web"), u.dir());
        assertEquals(List.of("ReusePortGroup/web"), u.policies());
        assertEquals("tcp 127.0.0.1:8080, weighted", u.label());
        assertEquals(List.of("rp_sockets", "rp_config", "rp_counters", "rp_members"),
                u.maps().stream().map(MapDesire::name).toList());
        // where the members are found, recorded with the pins so that a bpfgit without the policies keeps them
        ReusePortLayout.Recorded back = ReusePortLayout.recorded(u.maps().get(3).entries().orElseThrow().entrySet()
                .stream().collect(java.util.stream.Collectors.toMap(e -> Le.u32(e.getKey().toArray(), 0),
                        e -> ReusePortLayout.text(e.getValue())))).orElseThrow();
        assertEquals("web", back.policyName());
        ReusePortSpec spec = (ReusePortSpec) d.policies().getFirst().spec();
        assertEquals(spec.port(), back.spec().port());
        assertEquals(spec.address(), back.spec().address());
        assertEquals(spec.netns(), back.spec().netns());
        assertEquals(spec.members().stream().map(m -> m.name() + " " + m.process()).toList(),
                back.spec().members().stream().map(m -> m.name() + " " + m.process()).toList());
        // the sockets and counters are not policy entries: nothing for the diff to own
        assertTrue(u.maps().get(0).entries().isEmpty());
        assertTrue(u.maps().get(2).entries().isEmpty());
        assertEquals("reuseport_select", u.programs().getFirst().spec().program());
        assertTrue(u.links().isEmpty());
        byte[] c = config(u);
        assertEquals(1, Le.u32(c, 0));     // weighted
        assertEquals(2, Le.u32(c, 4));     // members
        assertEquals(100, Le.u32(c, 8));   // total weight
        assertEquals(90, Le.u32(c, 16));
        assertEquals(100, Le.u32(c, 20));
        assertEquals(0, c[16 + 4 * 32 + 1]);

        Unit drained = desired(snapshot("r2", "hot-standby", true, true)).units().getFirst();
        byte[] dc = config(drained);
        assertEquals(0, Le.u32(dc, 0));
        assertEquals(90, Le.u32(dc, 8));
        assertEquals(90, Le.u32(dc, 20));  // green adds nothing
        assertEquals(1, dc[16 + 4 * 32 + 1]);
        assertEquals("reuseport_migrate", drained.programs().getFirst().spec().program());
    }

    Plan plan(DesiredState d) {
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(d));
        return Differ.diff(d, live);
    }

    /** The sockmap entries of a member whose listeners have these cookies: its slots round-robin. */
    static Map<Integer, Long> slots(int member, long... cookies) {
        Map<Integer, Long> out = new TreeMap<>();
        for (int slot = 0; slot < ReusePortLayout.SLOTS; slot++) {
            out.put(member * ReusePortLayout.SLOTS + slot, cookies[slot % cookies.length]);
        }
        return out;
    }

    static Listener listener(int pid, long inode) {
        return new Listener(pid, 3, inode, SocketProtocol.TCP,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 8080));
    }

    @Test
    void withoutThePoliciesTheRuntimeIsMadeFromThePinnedGroupAndRemovalDetachesTheProgram() {
        DesiredState d = desired(snapshot("r1", "hot-standby", false, false));
        Applier.apply(kernel, plan(d), CLOCK);
        kernel.process(Path.of("/run/blue.pid"), 100, List.of(listener(100, 5000)), true);
        PolicyKind kind = Kinds.BUILT_IN.named("ReusePortGroup");
        kind.runtime(kernel, ROOT).orElseThrow().reconcile();
        assertEquals(slots(0, 5000), kernel.sockets(ROOT.resolve("reuseport/web/rp_sockets")));
        assertEquals(ROOT.resolve("reuseport/web/prog"), kernel.reuseportProgram(5000).orElseThrow());

        // the group removed: its program leaves the members' group before its pins go
        Plan gone = Differ.diff(desired(new Snapshot("r2", Map.of("other.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: api}
                spec:
                  port: 9090
                  members:
                    - {name: one, process: {command: "api-server"}}
                """))), Observer.observe(kernel, ROOT, List.of()));
        Applier.apply(kernel, gone, CLOCK);
        assertTrue(kernel.reuseportProgram(5000).isEmpty(), "still attached after the group's removal");
        assertTrue(kernel.mapInfo(ROOT.resolve("reuseport/web/rp_members")).isEmpty());
    }

    /**
     * A pass takes duplicates only to write a slot or attach: holding one while a member dies would keep the
     * dead listener in the group and reset the connections steered to it when the duplicate is closed.
     */
    @Test
    void aSteadyStatePassTakesNoDuplicateAndARestartedMemberOnlyItsOwn() {
        DesiredState d = desired(snapshot("r1", "hot-standby", false, false));
        Applier.apply(kernel, plan(d), CLOCK);
        Path sockmap = ROOT.resolve("reuseport/web/rp_sockets");
        kernel.process(Path.of("/run/blue.pid"), 100, List.of(listener(100, 5000)), true);
        kernel.process(Path.of("/run/green.pid"), 300, List.of(listener(300, 7000)), true);
        List<Listener> adopted = new java.util.ArrayList<>();
        dev.bpfgit.kernel.Kernel counting = (dev.bpfgit.kernel.Kernel) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {dev.bpfgit.kernel.Kernel.class}, (proxy, method, args) -> {
                    if (method.getName().equals("adopt")) {
                        adopted.add((Listener) args[0]);
                    }
                    try {
                        return method.invoke(kernel, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        PolicyKind.Runtime r = Kinds.BUILT_IN.named("ReusePortGroup").runtime(counting, d).orElseThrow();
        r.reconcile();   // the first pass puts both and attaches through them
        assertEquals(List.of(5000L, 7000L), adopted.stream().map(Listener::inode).toList());
        Map<Integer, Long> both = new TreeMap<>(slots(0, 5000));
        both.putAll(slots(1, 7000));
        assertEquals(both, kernel.sockets(sockmap));

        adopted.clear();
        r.reconcile();
        r.reconcile();
        assertEquals(List.of(), adopted, "a steady-state pass took duplicates");
        assertEquals(both, kernel.sockets(sockmap));
        assertTrue(Observer.observe(kernel, ROOT, List.of()).meta().get("runtime/reuseport/web/0").orElseThrow()
                .startsWith("blue ok tcp 127.0.0.1:8080 (pid 100"));

        // blue restarts: only its new listener is taken, to be put
        kernel.exit(100);
        kernel.process(Path.of("/run/blue.pid"), 200, List.of(listener(200, 6000)), true);
        r.reconcile();
        assertEquals(List.of(6000L), adopted.stream().map(Listener::inode).toList());
        both.putAll(slots(0, 6000));
        assertEquals(both, kernel.sockets(sockmap));
        assertTrue(kernel.reuseportProgram(6000).isPresent());
    }

    @Test
    void theRuntimeAdoptsLiveMembersRecordsDegradedOnesAndReadoptsARestartedMember() {
        DesiredState d = desired(snapshot("r1", "hot-standby", false, false));
        Applier.apply(kernel, plan(d), CLOCK);
        Path sockmap = ROOT.resolve("reuseport/web/rp_sockets");
        assertEquals(Map.of(), kernel.sockets(sockmap));

        kernel.process(Path.of("/run/blue.pid"), 100, List.of(listener(100, 5000)), true);
        PolicyKind.Runtime r = Kinds.BUILT_IN.named("ReusePortGroup").runtime(kernel, d).orElseThrow();
        r.reconcile();
        assertEquals(slots(0, 5000), kernel.sockets(sockmap));
        assertEquals(ROOT.resolve("reuseport/web/prog"), kernel.reuseportProgram(5000).orElseThrow());

        LiveState live = Observer.observe(kernel, ROOT, List.of());
        assertTrue(live.meta().get("runtime/reuseport/web/0").orElseThrow().startsWith("blue ok tcp 127.0.0.1:8080 (pid 100"),
                live.meta().values().toString());
        assertEquals("green degraded pidFile /run/green.pid is missing",
                live.meta().get("runtime/reuseport/web/1").orElseThrow());

        // the runtime's records are not the plan's to remove, and the sockets are not drift
        Plan again = plan(d);
        assertTrue(again.inSync(), again.units().toString());
        assertEquals(List.of(), again.metaDeletes());

        // the status of the unit: per member, its listener or why it is degraded
        List<ReusePortStatus.MemberStatus> status = ReusePortStatus.read(kernel, live, ROOT.resolve("reuseport/web"));
        assertEquals(List.of("blue", "green", "none"), status.stream().map(ReusePortStatus.MemberStatus::name).toList());
        assertFalse(status.get(0).degraded());
        assertTrue(status.get(1).degraded());
        assertEquals("pidFile /run/green.pid is missing", status.get(1).detail());

        // blue restarts: a new process, a new socket; green comes up
        kernel.exit(100);
        kernel.process(Path.of("/run/blue.pid"), 200, List.of(listener(200, 6000)), true);
        kernel.process(Path.of("/run/green.pid"), 300, List.of(listener(300, 7000)), true);
        r.reconcile();
        Map<Integer, Long> both = new TreeMap<>(slots(0, 6000));
        both.putAll(slots(1, 7000));
        assertEquals(both, kernel.sockets(sockmap));
        assertTrue(kernel.reuseportProgram(6000).isPresent());
        live = Observer.observe(kernel, ROOT, List.of());
        assertTrue(live.meta().get("runtime/reuseport/web/1").orElseThrow().startsWith("green ok "));

        // a socket without SO_REUSEPORT cannot join: degraded with the kernel's reason, blue unaffected
        kernel.exit(300);
        kernel.process(Path.of("/run/green.pid"), 301, List.of(listener(301, 7001)), false);
        r.reconcile();
        assertEquals(slots(0, 6000), kernel.sockets(sockmap));
        live = Observer.observe(kernel, ROOT, List.of());
        assertTrue(live.meta().get("runtime/reuseport/web/1").orElseThrow().contains("SO_REUSEPORT"),
                live.meta().values().toString());
        assertEquals("attached", live.meta().get("runtime/reuseport/web/program").orElseThrow());

        // blue runs two workers, each with its listener: both used, the member's slots alternate between them
        kernel.exit(200);
        kernel.process(Path.of("/run/blue.pid"), 400, List.of(listener(400, 8000), new Listener(400, 4, 8001,
                SocketProtocol.TCP, new InetSocketAddress(InetAddress.getLoopbackAddress(), 8080))), true);
        kernel.process(null, 900, List.of(listener(900, 9000)), true);   // a process the policy does not name
        r.reconcile();
        assertEquals(slots(0, 8000, 8001), kernel.sockets(sockmap));
        assertTrue(kernel.reuseportProgram(8001).isPresent());

        // no member has a listener left: the program is detached from what remains of the group (a process
        // the policy does not name), and attached again when a member returns
        kernel.exit(301);
        kernel.exit(400);
        assertTrue(kernel.reuseportProgram(9000).isPresent(), "the stranger's socket shares the group's program");
        r.reconcile();
        assertTrue(kernel.reuseportProgram(9000).isEmpty(), "detached through the stranger's socket");
        live = Observer.observe(kernel, ROOT, List.of());
        assertEquals("detached: no member has a listener", live.meta().get("runtime/reuseport/web/program").orElseThrow());
        kernel.process(Path.of("/run/green.pid"), 302, List.of(listener(302, 7002)), true);
        r.reconcile();
        assertEquals(ROOT.resolve("reuseport/web/prog"), kernel.reuseportProgram(9000).orElseThrow());
        assertEquals("attached", Observer.observe(kernel, ROOT, List.of()).meta().get("runtime/reuseport/web/program")
                .orElseThrow());

        // the group removed: its runtime records go with it
        Plan gone = Differ.diff(desired(new Snapshot("r3", Map.of("other.yaml", """
                apiVersion: bpfgit.dev/v1
                kind: ReusePortGroup
                metadata: {name: api}
                spec:
                  port: 9090
                  members:
                    - {name: one, process: {command: "api-server"}}
                """))), Observer.observe(kernel, ROOT, List.of()));
        assertTrue(gone.metaDeletes().containsAll(List.of("runtime/reuseport/web/0", "runtime/reuseport/web/1")),
                gone.metaDeletes().toString());
    }
}
