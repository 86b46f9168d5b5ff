package dev.bpfgit.kind;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kind.traffic.TrafficKind;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kind the generic stages have never heard of, registered in a test registry, goes through validate,
 * compile, diff and apply: proof that a new kind is its package, its schema and one registration line.
 * Its unit is named by a long cgroup path, so unit names and meta keys must hold long identifiers.
 */
class FakeKindTest {
    static final Kinds KINDS = new Kinds("classpath:fakekind/policy.schema.json",
            List.of(new TrafficKind(), new FakeKind()));
    static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("lo", 1, "eth0", 2));
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
    static final String CGROUP = "/sys/fs/cgroup/unified/" + "workloads.slice/".repeat(8)
            + "app-with-a-rather-long-name.scope";
    static final String NAME = "counts-for-a-workload-with-a-long-name";

    final MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);

    static Snapshot snapshot(String revision, String fakeValues) {
        String traffic = """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata:
                  name: edge
                spec:
                  interfaces: [eth0]
                  hook: xdp
                  rules:
                    - prefix: 192.0.2.0/24
                      action: drop
                """;
        String fake = fakeValues == null ? "" : """
                ---
                apiVersion: bpfgit.dev/v1
                kind: FakeKind
                metadata:
                  name: %s
                spec:
                  target: %s
                  size: 4
                  values: %s
                """.formatted(NAME, CGROUP, fakeValues);
        return new Snapshot(revision, Map.of("p.yaml", traffic + fake));
    }

    Plan plan(Snapshot s) {
        DesiredState d = Compiler.compile(KINDS, ROOT, s.revision(), new PolicyLoader(KINDS).load(s), HOST);
        LiveState live = Observer.observe(KINDS, kernel, ROOT, Pipeline.attachPoints(d));
        return Differ.diff(KINDS, d, live);
    }

    Map<Long, Long> values(Path dir) {
        Map<Long, Long> m = new TreeMap<>();
        for (Entry e : kernel.entries(dir.resolve("values"))) {
            m.put(Le.u32(e.key().toArray(), 0), Le.u64(e.value().toArray(), 0));
        }
        return m;
    }

    Map<String, String> storedMeta() {
        Map<String, String> m = new TreeMap<>();
        kernel.entries(Meta.pin(ROOT)).forEach(e -> m.put(Meta.decode(e.key()), Meta.decode(e.value())));
        return m;
    }

    @Test
    void eachDocumentGetsTheDefaultsOfItsOwnKindOnly() {
        // FakeKind's schema has a default (size: 8); a TrafficPolicy must not get it, nor change its digest
        Snapshot traffic = snapshot("r1", null);
        Policy inTestRegistry = new PolicyLoader(KINDS).load(traffic).getFirst();
        Policy shipped = new PolicyLoader().load(traffic).getFirst();
        assertEquals(shipped.digest(), inTestRegistry.digest());
        String text = snapshot("r1", "[1]").files().get("p.yaml");
        Policy fake = new PolicyLoader(KINDS).load(new Snapshot("r1", Map.of("p.yaml",
                text.replace("  size: 4\n", "")))).get(1);
        Policy explicit = new PolicyLoader(KINDS).load(new Snapshot("r1", Map.of("p.yaml",
                text.replace("  size: 4\n", "  size: 8\n")))).get(1);
        assertEquals(explicit.digest(), fake.digest(), "the default filled in is the one written out");
    }

    @Test
    void aKindUnknownToTheStagesIsValidatedCompiledDiffedAndApplied() {
        List<Policy> policies = new PolicyLoader(KINDS).load(snapshot("r1", "[1, 2, 3]"));
        assertEquals(List.of("TrafficPolicy/edge", "FakeKind/" + NAME), policies.stream().map(Policy::id).toList());

        DesiredState desired = Compiler.compile(KINDS, ROOT, "r1", policies, HOST);
        Unit fake = desired.units().stream().filter(u -> u.kind().equals("FakeKind")).findFirst().orElseThrow();
        String segment = fake.dir().getFileName().toString();
        assertEquals(ROOT.resolve("fake").resolve(segment), fake.dir());
        assertTrue(segment.startsWith("_sys_fs_cgroup_unified_") && segment.contains("~"), segment);
        assertTrue(segment.getBytes(StandardCharsets.UTF_8).length <= UnitNames.MAX, segment);
        assertTrue(desired.units().stream().anyMatch(u -> u.dir().equals(ROOT.resolve("traffic/eth0/xdp"))));

        Plan first = plan(snapshot("r1", "[1, 2, 3]"));
        UnitPlan fakePlan = first.units().stream().filter(u -> u.kind().equals("FakeKind")).findFirst().orElseThrow();
        assertEquals(List.of("FakeKind/" + NAME), fakePlan.policies());
        assertTrue(fakePlan.changes().getFirst() instanceof Change.CreateMap, fakePlan.changes().toString());
        assertTrue(fakePlan.changes().stream().anyMatch(c -> c instanceof Change.PutEntries p && p.changes().size() == 4));
        Applier.apply(kernel, first, CLOCK);
        assertEquals(Map.of(0L, 1L, 1L, 2L, 2L, 3L, 3L, 0L), values(fake.dir()));

        // the owner key of the unit is longer than a meta key: stored hashed, read back whole
        String ownerKey = Meta.ownerKey("fake/" + segment, "FakeKind/" + NAME);
        assertTrue(ownerKey.getBytes(StandardCharsets.UTF_8).length >= Meta.KEY_SIZE, ownerKey);
        assertTrue(storedMeta().containsKey(Meta.stored(ownerKey)));
        assertFalse(storedMeta().containsKey(ownerKey));
        LiveState live = Observer.observe(KINDS, kernel, ROOT, List.of());
        assertTrue(live.meta().values().containsKey(ownerKey), live.meta().values().keySet().toString());

        Plan again = plan(snapshot("r1", "[1, 2, 3]"));
        assertTrue(again.inSync(), again.units().toString());
        assertEquals(List.of(), again.metaDeletes());

        Plan change = plan(snapshot("r2", "[1, 5, 3]"));
        UnitPlan changed = change.units().stream().filter(u -> u.kind().equals("FakeKind")).findFirst().orElseThrow();
        assertEquals(1, changed.changes().size(), changed.changes().toString());
        assertTrue(change.units().stream().filter(u -> u.kind().equals("TrafficPolicy"))
                .allMatch(u -> u.changes().isEmpty()));
        Applier.apply(kernel, change, CLOCK);
        assertEquals(Map.of(0L, 1L, 1L, 5L, 2L, 3L, 3L, 0L), values(fake.dir()));

        Plan removal = plan(snapshot("r3", null));
        UnitPlan removed = removal.units().stream().filter(u -> u.dir().equals(fake.dir())).findFirst().orElseThrow();
        assertEquals("FakeKind", removed.kind());   // a unit no longer desired is still its kind's
        Applier.apply(kernel, removal, CLOCK);
        assertTrue(kernel.pins(ROOT).stream().noneMatch(p -> p.path().startsWith(ROOT.resolve("fake"))));
        assertTrue(storedMeta().keySet().stream().noneMatch(k -> k.startsWith(Meta.NAME) || k.contains("FakeKind")),
                storedMeta().keySet().toString());
        assertTrue(plan(snapshot("r3", null)).inSync());
    }

    @Test
    void theKindsSchemaAndChecksReportAtTheDocument() {
        PolicyException bad = assertThrows(PolicyException.class,
                () -> new PolicyLoader(KINDS).load(snapshot("r1", "[1, \"two\"]")));
        PolicyError e = bad.errors().getFirst();
        assertEquals("/spec/values/1", e.pointer(), bad.errors().toString());
        assertEquals(19, e.location().line(), e.toString());

        PolicyException tooMany = assertThrows(PolicyException.class,
                () -> new PolicyLoader(KINDS).load(snapshot("r1", "[1, 2, 3, 4, 5]")));
        assertEquals("/spec/values", tooMany.errors().getFirst().pointer(), tooMany.errors().toString());
    }

    @Test
    void theShippedRegistryDoesNotKnowTheFakeKind() {
        PolicyException e = assertThrows(PolicyException.class,
                () -> new PolicyLoader().load(snapshot("r1", "[1]")));
        assertTrue(e.errors().stream().anyMatch(x -> x.pointer().equals("/kind")), e.errors().toString());
    }
}
