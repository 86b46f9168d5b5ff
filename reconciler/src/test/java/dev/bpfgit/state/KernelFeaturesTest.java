package dev.bpfgit.state;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.LinkDesire;
import dev.bpfgit.compile.NotSupportedException;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plans for older kernels: the attach mode follows the host's features, and a missing feature is named. */
class KernelFeaturesTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    /** Debian 12's kernel as the probes see it (KernelFactsIT checks these on the real one). */
    static final Features DEBIAN_6_1 = new Features("6.1.0-27-amd64",
            EnumSet.complementOf(EnumSet.of(Feature.TCX_LINK, Feature.SOCK_DESTROY, Feature.FIB_LOOKUP_MARK)), Set.of());
    /** A 5.10 LTS kernel: no tcx, no sk_reuseport migrate, no LPM trie batches. */
    static final Features LTS_5_10 = new Features("5.10.0-30-amd64", EnumSet.complementOf(EnumSet.of(
            Feature.TCX_LINK, Feature.SOCK_DESTROY, Feature.FIB_LOOKUP_MARK, Feature.REUSEPORT_MIGRATE,
            Feature.BATCH_LPM_TRIE)), Set.of());
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));

    private static final String TC = """
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: in}
            spec:
              interfaces: [eth1]
              hook: tc-ingress
              rules: [{prefix: 10.0.0.0/8, action: drop}]
            """;
    private static final String XDP = """
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: edge}
            spec:
              interfaces: [eth0]
              hook: xdp
              rules: [{prefix: 192.0.2.0/24, action: drop}]
            """;
    private static final String MIGRATE = """
            apiVersion: bpfgit.dev/v1
            kind: ReusePortGroup
            metadata: {name: web}
            spec:
              port: 8080
              strategy: hot-standby
              migrate: true
              members:
                - {name: blue, process: {pidFile: /run/blue.pid}}
            """;

    private static DesiredState compile(String rev, Map<String, String> files, Features f) {
        Snapshot s = new Snapshot(rev, files);
        return Compiler.compile(ROOT, rev, new PolicyLoader().load(s), HOST.withFeatures(f));
    }

    private static Plan plan(DesiredState d, MemoryKernel k) {
        return Differ.diff(d, Observer.observe(k, ROOT, Pipeline.attachPoints(d)));
    }

    @Test
    void withoutTcxTheTcHookCompilesToALegacyTcFilterAndWithTcxToALink() {
        LinkDesire legacy = compile("r1", Map.of("in.yaml", TC), DEBIAN_6_1).units().getFirst().links().getFirst();
        assertEquals(new AttachPoint.LegacyTc("eth1", AttachPoint.Direction.INGRESS), legacy.at());
        assertEquals("tc_filter", legacy.pin().getFileName().toString());
        LinkDesire tcx = compile("r1", Map.of("in.yaml", TC), Features.ALL).units().getFirst().links().getFirst();
        assertEquals(new AttachPoint.Tcx("eth1", AttachPoint.Direction.INGRESS), tcx.at());
        assertEquals("link", tcx.pin().getFileName().toString());
        // forcing legacy tc on a kernel with tcx is the same choice
        LinkDesire forced = compile("r1", Map.of("in.yaml", TC), Features.ALL.without(Set.of(Feature.TCX_LINK)))
                .units().getFirst().links().getFirst();
        assertEquals(legacy.at(), forced.at());
    }

    @Test
    void aLegacyTcUnitAppliesThenPlansInSyncAndItsFilterIsReplacedByProgramUpdate() {
        MemoryKernel k = new MemoryKernel(HOST.interfaces(), 2);
        k.restoreFeatures(DEBIAN_6_1);
        DesiredState d = compile("r1", Map.of("in.yaml", TC), DEBIAN_6_1);
        Plan first = plan(d, k);
        String text = PlanText.render(first);
        assertTrue(text.contains("eth1 tc-ingress (legacy tc)"), text);
        Applier.apply(k, first, Clock.systemUTC());
        LinkInfo info = k.linkInfo(ROOT.resolve("traffic/eth1/tc-ingress/tc_filter")).orElseThrow();
        assertEquals(List.of(LinkInfo.TYPE_LEGACY_TC, 46), List.of(info.type(), info.attachType()));
        assertTrue(plan(d, k).units().stream().allMatch(u -> u.changes().isEmpty()), PlanText.render(plan(d, k)));
        // the same unit on a kernel that has tcx: a tcx link in, the legacy filter out
        DesiredState tcx = compile("r2", Map.of("in.yaml", TC), Features.ALL);
        k.restoreFeatures(Features.ALL);
        String upgrade = PlanText.render(plan(tcx, k));
        assertTrue(upgrade.contains("tcx-ingress") && upgrade.contains("tc_filter"), upgrade);
    }

    @Test
    void aMissingFeatureIsNotSupportedNamingFeatureMinimumKernelAndEveryPolicy() {
        NotSupportedException e = assertThrows(NotSupportedException.class, () -> compile("r1",
                Map.of("web.yaml", MIGRATE, "edge.yaml", XDP, "in.yaml", TC), LTS_5_10));
        assertEquals(List.of(Feature.REUSEPORT_MIGRATE), e.missing().stream().map(NotSupportedException.Missing::feature).toList());
        assertEquals("NotSupported(sk_reuseport select-or-migrate programs, Linux 5.14): kernel 5.10.0-30-amd64 does"
                + " not have it; needed by ReusePortGroup/web (web.yaml:1:1)", e.getMessage());
        // XDP links (5.9) missing as well: one line per feature
        Features old = LTS_5_10.without(Set.of(Feature.XDP_LINK));
        NotSupportedException two = assertThrows(NotSupportedException.class, () -> compile("r1",
                Map.of("web.yaml", MIGRATE, "edge.yaml", XDP), old));
        assertEquals(2, two.getMessage().lines().count(), two.getMessage());
        assertTrue(two.getMessage().contains("NotSupported(XDP links, Linux 5.9)") && two.getMessage()
                .contains("TrafficPolicy/edge (edge.yaml:1:1)"), two.getMessage());
        // on 6.1 all three plan
        assertEquals(3, compile("r1", Map.of("web.yaml", MIGRATE, "edge.yaml", XDP, "in.yaml", TC), DEBIAN_6_1)
                .units().size());
    }

    @Test
    void stateExportRecordsTheFeaturesAndReadsThemBack() {
        MemoryKernel k = new MemoryKernel(HOST.interfaces(), 2);
        k.restoreFeatures(DEBIAN_6_1);
        DesiredState d = compile("r1", Map.of("in.yaml", TC), DEBIAN_6_1);
        Applier.apply(k, plan(d, k), Clock.systemUTC());
        List<AttachPoint> points = Pipeline.attachPoints(d);
        String json = StateFile.write(Observer.observe(k, ROOT, points), HOST.withFeatures(DEBIAN_6_1), 2);
        assertTrue(json.contains("\"missing\" : [ \"tcx-link\", \"fib-lookup-mark\", \"sock-destroy\" ]"), json);
        assertTrue(json.contains("\"type\" : \"legacy-tc-ingress\""), json);
        StateFile.Loaded loaded = StateFile.read(json, "host.json");
        assertEquals(DEBIAN_6_1, loaded.host().features());
        assertEquals(DEBIAN_6_1, loaded.kernel().features());
        assertEquals(json, StateFile.write(Observer.observe(loaded.kernel(), ROOT, points), loaded.host(), 2));
        // an export from before the probes: a current kernel
        String old = json.replaceAll("(?s),\\s*\"features\" : \\{[^}]*}", "");
        assertTrue(!old.contains("features"), old);
        assertEquals(Features.ALL, StateFile.read(old, "old.json").host().features());
    }

    @Test
    void planAgainstTheStateOfAnOldKernelShowsTheSameErrorAsOnTheHost(@TempDir Path dir) throws Exception {
        MemoryKernel k = new MemoryKernel(HOST.interfaces(), 2);
        k.restoreFeatures(LTS_5_10);
        Path state = dir.resolve("host.json");
        Files.writeString(state, StateFile.write(Observer.observe(k, ROOT, List.of()), HOST.withFeatures(LTS_5_10), 2));
        Files.writeString(dir.resolve("web.yaml"), MIGRATE);
        Files.writeString(dir.resolve("in.yaml"), TC);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = dev.bpfgit.cli.Main.execute(new PrintWriter(out), new PrintWriter(err),
                "plan", dir.toString(), "--state", state.toString());
        assertEquals(3, code, err.toString());
        assertTrue(err.toString().startsWith("error: NotSupported(sk_reuseport select-or-migrate programs, Linux 5.14):"
                + " kernel 5.10.0-30-amd64 does not have it; needed by ReusePortGroup/web ("), err.toString());
        // without the migrate group, the tc policy plans through legacy tc, in json as in text
        Files.delete(dir.resolve("web.yaml"));
        StringWriter json = new StringWriter();
        code = dev.bpfgit.cli.Main.execute(new PrintWriter(json), new PrintWriter(new StringWriter()),
                "plan", dir.toString(), "--state", state.toString(), "-o", "json");
        assertEquals(1, code, json.toString());
        assertTrue(json.toString().contains("\"type\" : \"legacy-tc-ingress\""), json.toString());
        Plan back = PlanJson.parse(json.toString());
        assertTrue(back.units().getFirst().changes().stream().anyMatch(c -> c instanceof dev.bpfgit.diff.Change.CreateLink l
                && l.at() instanceof AttachPoint.LegacyTc), json.toString());
    }
}
