package dev.bpfgit.kind.egress;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.render.OutputSchema;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import dev.bpfgit.state.StateFile;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** EgressTimeout through load, compile, diff and apply on the in-memory kernel. */
class EgressKindTest {
    static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    static final HostFacts HOST = new HostFacts("web-1", Map.of(), Map.of("lo", 1),
            Optional.of(Map.of("/", 1L, "/system.slice/crawler.service", 4242L, "/other", 77L)));

    static String policy(String name, String cgroup, String prefixes, String timeouts) {
        return """
                apiVersion: bpfgit.dev/v1
                kind: EgressTimeout
                metadata: {name: %s}
                spec:
                  cgroup: %s
                  destinations: [%s]
                  timeouts: {%s}
                """.formatted(name, cgroup, prefixes, timeouts);
    }

    static List<Policy> load(Map<String, String> files) {
        return new PolicyLoader().load(new Snapshot("r1", files));
    }

    static DesiredState desired(Map<String, String> files, HostFacts host) {
        return Compiler.compile(Kinds.BUILT_IN, ROOT, "r1", load(files), host);
    }

    static Map<Bytes, Bytes> entries(Unit u, String map) {
        MapDesire m = u.maps().stream().filter(x -> x.name().equals(map)).findFirst().orElseThrow();
        return m.entries().orElseThrow();
    }

    @Test
    void policiesOnOneCgroupMergeIntoOneUnitWithBothFamilies() {
        DesiredState d = desired(Map.of(
                "a.yaml", policy("wide", "/system.slice/crawler.service", "{prefix: 0.0.0.0/0}, {prefix: '::/0'}",
                        "tcpSyn: 5s, tcpEstablished: 300s, tcpFin: 10s, tcpUser: 30s, any: 60s"),
                "b.yaml", policy("narrow", "/system.slice/crawler.service", "{prefix: 10.1.0.0/16}", "tcpUser: 0"),
                "c.yaml", policy("else", "/other", "{prefix: 192.0.2.0/24}", "tcpUser: 500ms")), HOST);
        assertEquals(2, d.units().size());
        Unit u = d.units().stream().filter(x -> x.label().equals("cgroup /system.slice/crawler.service"))
                .findFirst().orElseThrow();
        assertEquals(List.of("EgressTimeout/narrow", "EgressTimeout/wide"), u.policies());
        assertEquals(ROOT.resolve("egress/_system_slice_crawler_service~" + u.dir().getFileName().toString()
                .replaceFirst(".*~", "")), u.dir());
        Map<Bytes, Bytes> v4 = entries(u, "et_dest_v4");
        assertEquals(2, v4.size());
        byte[] wide = v4.get(dev.bpfgit.kind.LpmMaps.key(dev.bpfgit.policy.Prefix.parse("0.0.0.0/0"))).toArray();
        assertEquals(PolicyIds.of("EgressTimeout/wide") & 0xffffffffL, Le.u32(wide, 0));
        assertEquals(List.of(5000L, 300000L, 10000L, 30000L, 60000L),
                List.of(Le.u32(wide, 4), Le.u32(wide, 8), Le.u32(wide, 12), Le.u32(wide, 16), Le.u32(wide, 20)));
        byte[] narrow = v4.get(dev.bpfgit.kind.LpmMaps.key(dev.bpfgit.policy.Prefix.parse("10.1.0.0/16"))).toArray();
        assertEquals(List.of(0L, 0L, 0L, 0L, 0L),
                List.of(Le.u32(narrow, 4), Le.u32(narrow, 8), Le.u32(narrow, 12), Le.u32(narrow, 16), Le.u32(narrow, 20)));
        assertEquals(1, entries(u, "et_dest_v6").size());
        assertEquals(4242L, Le.u32(entries(u, "et_config").values().iterator().next().toArray(), 0));
        // a policy with `any` needs the UDP activity stamps: three links, all on the cgroup
        assertEquals(List.of(AttachPoint.CgroupHook.SOCK_OPS, AttachPoint.CgroupHook.INET_EGRESS,
                AttachPoint.CgroupHook.INET_INGRESS), u.links().stream()
                .map(l -> ((AttachPoint.Cgroup) l.at()).hook()).toList());
        Unit other = d.units().stream().filter(x -> x != u).findFirst().orElseThrow();
        assertEquals(1, other.links().size(), "no `any`: only the sock_ops link");
    }

    /**
     * A kernel without bpf_sock_destroy (6.1) refuses a program calling it: the unit of socket-layer timeouts
     * there has no reaper programs, and on a kernel with it the reaper is there.
     */
    @Test
    void withoutBpfSockDestroyTheUnitHasNoReaperPrograms() {
        Map<String, String> files = Map.of("a.yaml", policy("syn", "/other", "{prefix: 192.0.2.0/24}",
                "tcpSyn: 3s, tcpUser: 30s"));
        HostFacts old = HOST.withFeatures(dev.bpfgit.kernel.Features.ALL.without(
                java.util.Set.of(dev.bpfgit.kernel.Feature.SOCK_DESTROY)));
        List<String> without = desired(files, old).units().getFirst().programs().stream()
                .map(p -> p.spec().program()).toList();
        assertEquals(List.of("et_sockops", "et_skb_out", "et_skb_in", "et_list_tcp", "et_list_udp"), without);
        List<String> with = desired(files, HOST).units().getFirst().programs().stream()
                .map(p -> p.spec().program()).toList();
        assertEquals(List.of("et_sockops", "et_skb_out", "et_skb_in", "et_reap_tcp", "et_reap_udp", "et_list_tcp",
                "et_list_udp"), with);
    }

    @Test
    void theSamePrefixTwiceOnACgroupIsAnErrorNamingBothFiles() {
        PolicyException e = assertThrows(PolicyException.class, () -> load(Map.of(
                "a.yaml", policy("one", "/x", "{prefix: 10.0.0.0/8}", "tcpUser: 1s"),
                "b.yaml", policy("two", "/x", "{prefix: 10.0.0.0/8}, {prefix: 10.2.0.0/16}", "tcpUser: 2s"),
                "c.yaml", policy("three", "/y", "{prefix: 10.0.0.0/8}", "tcpUser: 2s"))));
        assertEquals(1, e.errors().size(), e.errors().toString());
        PolicyError err = e.errors().getFirst();
        assertTrue(err.location().toString().contains("b.yaml") && err.message().contains("a.yaml")
                && err.message().contains("EgressTimeout/one") && err.message().contains("10.0.0.0/8"), err.toString());
    }

    @Test
    void aCgroupMissingOnTheHostIsACompileError() {
        PolicyException e = assertThrows(PolicyException.class, () -> desired(Map.of(
                "a.yaml", policy("one", "/nope", "{prefix: 10.0.0.0/8}", "tcpUser: 1s")), HOST));
        assertEquals(1, e.errors().size());
        assertTrue(e.errors().getFirst().message().contains("cgroup /nope does not exist on host web-1"),
                e.errors().toString());
        // cgroups not known (a plan without kernel or state file): assumed to exist
        assertEquals(1, desired(Map.of("a.yaml", policy("one", "/nope", "{prefix: 10.0.0.0/8}", "tcpUser: 1s")),
                new HostFacts("web-1", Map.of(), Map.of())).units().size());
    }

    @Test
    void appliedOnTheMemoryKernelItPlansNoChangeAndSurvivesAStateFile() {
        Map<String, String> files = Map.of("a.yaml", policy("one", "/system.slice/crawler.service",
                "{prefix: 10.0.0.0/8}, {prefix: '2001:db8::/32'}", "tcpSyn: 2s, any: 30s"));
        MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);
        kernel.restoreCgroups(HOST.cgroups().orElseThrow());
        DesiredState d = desired(files, HOST);
        Plan first = Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d)));
        // a saved plan (plan -o json) is valid against the published schema and reads back with its cgroup links
        String json = PlanJson.render(first);
        OutputSchema.assertValid(json);
        assertEquals(PlanJson.render(PlanJson.parse(json)), json);
        assertTrue(json.contains("\"type\" : \"cgroup-sock_ops\"") || json.contains("\"type\":\"cgroup-sock_ops\""), json);
        Applier.apply(kernel, first, Clock.systemUTC());
        Plan again = Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d)));
        assertTrue(again.inSync(), again.toString());

        var live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(d));
        String state = StateFile.write(live, HOST, 2);
        OutputSchema.assertValid(state);
        StateFile.Loaded loaded = StateFile.read(state, "state.json");
        assertEquals(HOST.cgroups(), loaded.host().cgroups());
        DesiredState fromFile = Compiler.compile(Kinds.BUILT_IN, ROOT, "r1", load(files), loaded.host());
        Plan viaState = Differ.diff(fromFile, Observer.observe(loaded.kernel(), ROOT, Pipeline.attachPoints(fromFile)));
        assertTrue(viaState.inSync(), viaState.toString());
    }

    /** The example's expected plan; -Dgolden.update=true rewrites it. */
    @Test
    void examplePlanMatchesItsExpectedOutput() throws Exception {
        Path dir = Path.of("../examples/egress-timeout");
        DesiredState d = desired(Map.of("examples/egress-timeout/policy.yaml",
                java.nio.file.Files.readString(dir.resolve("policy.yaml"))), HOST);
        MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);
        kernel.restoreCgroups(HOST.cgroups().orElseThrow());
        String text = dev.bpfgit.render.PlanText.render(
                Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d))));
        if (Boolean.getBoolean("golden.update")) {
            java.nio.file.Files.writeString(dir.resolve("plan.txt"), text);
        }
        assertEquals(java.nio.file.Files.readString(dir.resolve("plan.txt")), text);
    }

    @Test
    void longestPrefixWinsWhenPlansMatchListedSockets() throws Exception {
        List<Policy> ps = load(Map.of(
                "a.yaml", policy("wide", "/x", "{prefix: 10.0.0.0/8}", "tcpEstablished: 300s"),
                "b.yaml", policy("narrow", "/x", "{prefix: 10.1.0.0/16}", "tcpEstablished: 5s")));
        var m = EgressSockets.match(ps, InetAddress.getByName("10.1.2.3")).orElseThrow();
        assertEquals("EgressTimeout/narrow", m.policy().id());
        assertEquals(300_000L, EgressSockets.match(ps, InetAddress.getByName("10.2.0.1")).orElseThrow()
                .timeouts().establishedMs());
        assertTrue(EgressSockets.match(ps, InetAddress.getByName("192.0.2.1")).isEmpty());
        List<EgressSockets.Socket> lines = EgressSockets.parse(
                "tcp 1 7 6232 5000 2 4 10.77.0.2 8080 35736\nudp 1 0 12 0 0 6 2001:db8::1 53 4000\ngarbage\n"
                        .getBytes());
        assertEquals(2, lines.size());
        assertEquals("tcp :35736 -> 10.77.0.2:8080", lines.get(0).label());
        assertEquals(2, lines.get(0).verdict());
        assertEquals("udp :4000 -> [2001:db8::1]:53", lines.get(1).label());
    }

    @Test
    void aPlanBeforeTheFirstApplyListsTheSocketsPastTheNewTimeoutsWithTheirOwners() throws Exception {
        Map<String, String> files = Map.of(
                "a.yaml", policy("wide", "/system.slice/crawler.service", "{prefix: 10.0.0.0/8}", "tcpEstablished: 300s"),
                "b.yaml", policy("narrow", "/system.slice/crawler.service", "{prefix: 10.77.0.0/16}", "tcpEstablished: 5s"));
        MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);
        kernel.restoreCgroups(HOST.cgroups().orElseThrow());
        DesiredState d = desired(files, HOST);
        int narrow = PolicyIds.of("EgressTimeout/narrow");
        // what the listing programs write (ET_LINE): one socket past tcpEstablished, one within it
        kernel.iteratorOutput("et_list_tcp", "tcp 1 " + Integer.toUnsignedString(narrow)
                + " 6232 5000 1 4 10.77.0.2 8080 35736\ntcp 1 " + Integer.toUnsignedString(narrow)
                + " 10 5000 0 4 10.77.0.3 8080 35737\n");
        kernel.connect(Optional.empty(), new dev.bpfgit.kernel.InetSocket(dev.bpfgit.kernel.SocketProtocol.TCP,
                        new java.net.InetSocketAddress("10.77.0.1", 35736), new java.net.InetSocketAddress("10.77.0.2", 8080),
                        1, 991, 0, 4242, 0), new dev.bpfgit.kernel.SocketOwner(4711, "crawler"));
        var runtime = new EgressKind().runtime(kernel, d).orElseThrow();

        List<String> text = runtime.describe();
        assertTrue(text.getFirst().contains("hold only while 'bpfgit run' runs"), text.toString());
        List<String> once = text.stream().filter(l -> l.contains("terminated at once:")).toList();
        assertEquals(List.of("  terminated at once: pid 4711 crawler: tcp 10.77.0.1:35736 -> 10.77.0.2:8080, idle 6232ms"
                + " > tcpEstablished 5s (EgressTimeout/narrow, 10.77.0.0/16)"), once, text.toString());

        String json = PlanJson.render(Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d))),
                runtime::describe);
        var unit = OutputSchema.assertValid(json).path("idleTerminations").get(0);
        assertEquals(1, unit.path("count").asInt(), json);
        assertTrue(unit.path("needsRun").asBoolean());
        var sock = unit.path("sockets").get(0);
        assertEquals("10.77.0.1", sock.path("local").asString());
        assertEquals(6232, sock.path("idleMs").asLong());
        assertEquals("EgressTimeout/narrow", sock.path("policy").asString());
        assertEquals(4711, sock.path("owners").get(0).path("pid").asInt());

        // socket-layer timeouts only: apply alone enforces them, nothing to list
        DesiredState layer = desired(Map.of("a.yaml", policy("wide", "/system.slice/crawler.service",
                "{prefix: 10.0.0.0/8}", "tcpSyn: 2s, tcpUser: 30s")), HOST);
        List<String> layerText = new EgressKind().runtime(kernel, layer).orElseThrow().describe();
        assertEquals(1, layerText.size(), layerText.toString());
        assertTrue(layerText.getFirst().contains("apply alone enforces them"), layerText.toString());
    }

    @Test
    void statusSaysWhetherApplyAloneEnforcesTheAppliedTimeouts() {
        MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);
        kernel.restoreCgroups(HOST.cgroups().orElseThrow());
        for (String[] c : new String[][]{
                {"tcpSyn: 2s, tcpUser: 30s", "only socket-layer timeouts (tcpSyn, tcpUser): apply alone enforces them"},
                {"tcpSyn: 2s, tcpEstablished: 60s", "no bpfgit run reaper: only the socket-layer timeouts hold"}}) {
            DesiredState d = desired(Map.of("a.yaml", policy("one", "/system.slice/crawler.service",
                    "{prefix: 10.0.0.0/8}", c[0])), HOST);
            Applier.apply(kernel, Differ.diff(d, Observer.observe(kernel, ROOT, Pipeline.attachPoints(d))), Clock.systemUTC());
            var live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(d));
            var report = new EgressKind().report(kernel, live, d.units().getFirst().dir()).apply("EgressTimeout/one");
            assertTrue(report.lines().get(1).startsWith(c[1]), report.lines().toString());
        }
    }
}
