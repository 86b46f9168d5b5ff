package dev.bpfgit.observe;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The basis is recorded in saved plans on hosts ({@code plan -o json}, checked by {@code apply --plan}), so its
 * bytes are pinned here for a fixed fixture: however and whenever it is computed, it must stay this value.
 */
class BasisTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit-basis");
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
    /** Observer.basis of examples/edge-filter applied to an in-memory kernel, as computed at 260ee96. */
    private static final String EDGE_FILTER = "640a82fbf7879b266d78cc8ca97ebfed4f5507f0245dcb7d377a4a127dee3f0f";
    /**
     * The same fixture applied by this version, which records the unit's fingerprint in its current form (the
     * basis covers the bookkeeping map): as computed when that form came.
     */
    private static final String EDGE_FILTER_NOW = "bbe2e95fbef0114b1a0da36d839c5026b0113145c68fd24869b809d5915720b4";
    /** The unit fingerprint 260ee96 recorded for the fixture (FingerprintTest pins it too). */
    private static final Map<String, String> FINGERPRINT_260EE96 = Map.of(
            "unit/traffic/eth0/xdp", "528ea1f57d7b677860f1539b372f57dc129bb01374a57352eb3f8f809d25fcdd");
    private static final String EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /**
     * The revision the kernel records is part of the basis; it is the id 260ee96 gave this directory, so that the
     * pinned basis checks only how the basis is computed, not how a directory's id is.
     */
    private static final String REVISION = "dir:127b44b77294";

    private static DesiredState edgeFilter(MemoryKernel kernel) {
        Snapshot s = DirectorySource.read(Path.of("../examples/edge-filter"));
        List<Policy> policies = Pipeline.validate(s);
        HostFacts host = new HostFacts("web-1", Map.of("role", "edge"), Map.of("eth0", 2, "eth1", 3, "lo", 1),
                Optional.empty(), Features.ALL);
        return Compiler.compile(ROOT, REVISION, policies, host);
    }

    @Test
    void theBasisOfAnAppliedFixtureIsPinned() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter(kernel);
        LiveState empty = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertEquals(EMPTY, empty.basis());
        // the bookkeeping as 260ee96 wrote it: its apply recorded the fingerprint in the old form
        Plan first = Differ.diff(desired, empty);
        Map<String, String> meta = new java.util.TreeMap<>(first.meta());
        meta.putAll(FINGERPRINT_260EE96);
        Applier.apply(kernel, new Plan(first.root(), first.revision(), first.basisDigest(), first.units(), meta,
                first.metaDeletes(), first.warnings()), CLOCK);
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertEquals(EDGE_FILTER, live.basis());
        Plan plan = Differ.diff(desired, live);
        assertEquals(EDGE_FILTER, plan.basis());
        String json = PlanJson.render(plan);
        assertTrue(json.contains("\"basis\":\"" + EDGE_FILTER + "\"") || json.contains("\"basis\" : \"" + EDGE_FILTER + "\""),
                json);
        assertEquals(EDGE_FILTER, Differ.destroy(live).basis());

        MemoryKernel now = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        Applier.apply(now, Differ.diff(desired, Observer.observe(now, ROOT, Pipeline.attachPoints(desired))), CLOCK);
        assertEquals(EDGE_FILTER_NOW, Observer.observe(now, ROOT, Pipeline.attachPoints(desired)).basis());
    }

    /**
     * The warm reconcile (observe, diff, apply) never asks for the basis; asked for afterwards, it is the digest
     * of what was observed, not of the kernel as the apply and a later write left it.
     */
    @Test
    void aReconcileLeavesTheBasisUncomputedAndItIsThatOfTheObservation() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter(kernel);
        LiveState empty = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        Plan first = Differ.diff(desired, empty);
        Applier.apply(kernel, first, CLOCK);
        assertFalse(empty.basisDigest().computed());
        assertFalse(first.basisDigest().computed());
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        Plan inSync = Differ.diff(desired, live);
        Applier.apply(kernel, inSync, CLOCK);
        kernel.update(Meta.pin(ROOT), Meta.encode("revision", "something else"));
        assertFalse(live.basisDigest().computed());
        assertEquals(EMPTY, first.basis());
        assertEquals(EDGE_FILTER_NOW, inSync.basis());
        assertTrue(live.basisDigest().computed());
        assertNotEquals(EDGE_FILTER_NOW, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)).basis());
    }

    @Test
    void anyWriteChangesTheBasis() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter(kernel);
        Applier.apply(kernel, Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired))), CLOCK);
        LiveState before = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        Path trie = before.maps().keySet().stream().filter(p -> p.getFileName().toString().equals("rules_v4"))
                .findFirst().orElseThrow();
        var e = before.maps().get(trie).entries().orElseThrow().entrySet().iterator().next();
        byte[] v = e.getValue().toArray();
        v[v.length - 1] ^= 1;
        kernel.update(trie, List.of(new dev.bpfgit.kernel.Entry(e.getKey(), dev.bpfgit.kernel.Bytes.wrap(v))));
        LiveState after = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertNotEquals(before.basis(), after.basis());
    }
}
