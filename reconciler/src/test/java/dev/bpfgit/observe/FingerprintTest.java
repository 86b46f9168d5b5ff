package dev.bpfgit.observe;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A unit's fingerprint is recorded in the bookkeeping map of every host at every apply, and status compares it with
 * the one it computes from the kernel; a restart with unchanged source plans no change only if the same desired state
 * gives the same fingerprint. So its bytes, and the counter slots the diff gives entries (they are part of the values
 * it covers), are pinned here for fixed fixtures: however they are computed, they must stay these values.
 */
class FingerprintTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit-fingerprint");
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
    private static final String REVISION = "dir:127b44b77294";

    /** The unit fingerprints of examples/edge-filter's first plan, as computed when the current form came. */
    private static final Map<String, String> EDGE_FILTER = Map.of(
            "unit/traffic/eth0/xdp", "v2:e680fdda9e039cae882f62fac757938787caaabc06cac4ba6f342818b86c7c4b");

    /** The same in the old form, as 13e811d computed and recorded it. */
    private static final Map<String, String> EDGE_FILTER_V1 = Map.of(
            "unit/traffic/eth0/xdp", "528ea1f57d7b677860f1539b372f57dc129bb01374a57352eb3f8f809d25fcdd");

    /** Kernel methods that change something. */
    private static final Set<String> WRITES = Set.of("adopt", "attach", "attachIterator", "attachReuseport",
            "createMap", "delete", "destroySockets", "detachReuseport", "loadProgram", "makeDirs", "putSocket",
            "rename", "unpin", "update", "updateLink");

    /** {@code kernel}, with the name of every method called on it that changes something added to {@code writes}. */
    private static Kernel counting(Kernel kernel, List<String> writes) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class},
                (proxy, method, args) -> {
                    if (WRITES.contains(method.getName())) {
                        writes.add(method.getName());
                    }
                    try {
                        return method.invoke(kernel, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private static DesiredState edgeFilter() {
        Snapshot s = DirectorySource.read(Path.of("../examples/edge-filter"));
        List<Policy> policies = Pipeline.validate(s);
        HostFacts host = new HostFacts("web-1", Map.of("role", "edge"), Map.of("eth0", 2, "eth1", 3, "lo", 1),
                Optional.empty(), Features.ALL);
        return Compiler.compile(ROOT, REVISION, policies, host);
    }

    private static Map<String, String> unitFingerprints(Plan plan) {
        Map<String, String> out = new TreeMap<>();
        plan.meta().forEach((k, v) -> {
            if (k.startsWith("unit/")) {
                out.put(k, v);
            }
        });
        return out;
    }

    @Test
    void theFingerprintsOfAFixtureArePinnedAndStatusComputesTheSameFromTheKernel() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter();
        Plan first = Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)));
        assertEquals(EDGE_FILTER, unitFingerprints(first));
        Applier.apply(kernel, first, CLOCK);
        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        for (Unit u : desired.units()) {
            String rel = ROOT.relativize(u.dir()).toString();
            assertEquals(Optional.of(first.meta().get(Meta.unitKey(rel))), live.meta().get(Meta.unitKey(rel)), rel);
            assertEquals(first.meta().get(Meta.unitKey(rel)), Fingerprint.live(live, u.dir()), rel);
        }
        Plan again = Differ.diff(desired, live);
        assertTrue(again.inSync());
        assertEquals(unitFingerprints(first), unitFingerprints(again));

        // drift: one entry gone, another with another counter slot; the next plan keeps the moved slot, gives
        // the missing entry a new one, and records the fingerprint of exactly that
        Path trie = live.maps().keySet().stream().filter(p -> p.getFileName().toString().equals("rules_v4"))
                .findFirst().orElseThrow();
        List<Map.Entry<Bytes, Bytes>> entries = List.copyOf(live.maps().get(trie).entries().orElseThrow().entrySet());
        kernel.delete(trie, List.of(entries.get(0).getKey()));
        byte[] v = entries.get(1).getValue().toArray();
        v[0] = 77;   // the slot, a little-endian u32 at TrafficLayout.SLOT_OFFSET 0: a free one
        kernel.update(trie, List.of(new dev.bpfgit.kernel.Entry(entries.get(1).getKey(), Bytes.wrap(v))));
        Plan drifted = Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)));
        assertEquals(EDGE_FILTER_DRIFTED, unitFingerprints(drifted));
        Applier.apply(kernel, drifted, CLOCK);
        LiveState after = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertEquals(Optional.of(Bytes.wrap(v)), Optional.ofNullable(after.maps().get(trie).entries().orElseThrow()
                .get(entries.get(1).getKey())));
        for (Unit u : desired.units()) {
            String rel = ROOT.relativize(u.dir()).toString();
            assertEquals(drifted.meta().get(Meta.unitKey(rel)), Fingerprint.live(after, u.dir()), rel);
        }
    }

    /** The next plan after the drift above, as computed when the current form came. */
    private static final Map<String, String> EDGE_FILTER_DRIFTED = Map.of(
            "unit/traffic/eth0/xdp", "v2:1857e144dca2189454afe00496835808fc387085689dffc363fa0b7487cd8ec4");

    /** The same in the old form, as computed at 13e811d. */
    private static final Map<String, String> EDGE_FILTER_DRIFTED_V1 = Map.of(
            "unit/traffic/eth0/xdp", "016cdd5b9f00772b8317ae2e36231f0b3220037add91f5db353ef6beaee4677b");

    /**
     * A host whose bookkeeping an older version wrote, the unit's fingerprint in the old form (the value 13e811d
     * recorded for this fixture): while it is in sync, the plan keeps that record and an apply changes nothing at
     * all; status accepts the record, and stops accepting it once a map drifts; the plan of that drift records the
     * current form, which status then accepts.
     */
    @Test
    void aRecordInTheOldFormIsUnderstoodAndReplacedAtTheNextChange() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "eth1", 3, "lo", 1), 2);
        DesiredState desired = edgeFilter();
        Plan first = Differ.diff(desired, Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)));
        Map<String, String> meta = new TreeMap<>(first.meta());
        meta.putAll(EDGE_FILTER_V1);
        Applier.apply(kernel, new Plan(first.root(), first.revision(), first.basisDigest(), first.units(), meta,
                first.metaDeletes(), first.warnings()), CLOCK);

        LiveState live = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        Unit u = desired.units().getFirst();
        String key = Meta.unitKey(ROOT.relativize(u.dir()).toString());
        String old = EDGE_FILTER_V1.get(key);
        assertEquals(Optional.of(old), live.meta().get(key));
        assertTrue(Fingerprint.liveMatches(live, u.dir(), old));
        assertEquals(EDGE_FILTER.get(key), Fingerprint.live(live, u.dir()));
        Plan again = Differ.diff(desired, live);
        assertTrue(again.inSync());
        assertEquals(EDGE_FILTER_V1, unitFingerprints(again));
        List<String> writes = new ArrayList<>();
        Applier.apply(counting(kernel, writes), again, CLOCK);
        assertEquals(List.of(), writes);
        assertEquals(Optional.of(old), Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired)).meta().get(key));

        // the same drift as above: the old record no longer matches; the plan records the current form
        Path trie = live.maps().keySet().stream().filter(p -> p.getFileName().toString().equals("rules_v4"))
                .findFirst().orElseThrow();
        List<Map.Entry<Bytes, Bytes>> entries = List.copyOf(live.maps().get(trie).entries().orElseThrow().entrySet());
        kernel.delete(trie, List.of(entries.get(0).getKey()));
        byte[] v = entries.get(1).getValue().toArray();
        v[0] = 77;
        kernel.update(trie, List.of(new dev.bpfgit.kernel.Entry(entries.get(1).getKey(), Bytes.wrap(v))));
        LiveState drifted = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertFalse(Fingerprint.liveMatches(drifted, u.dir(), old));
        Plan fix = Differ.diff(desired, drifted);
        assertEquals(EDGE_FILTER_DRIFTED, unitFingerprints(fix));
        Applier.apply(kernel, fix, CLOCK);
        LiveState after = Observer.observe(kernel, ROOT, Pipeline.attachPoints(desired));
        assertEquals(Optional.of(EDGE_FILTER_DRIFTED.get(key)), after.meta().get(key));
        assertTrue(Fingerprint.liveMatches(after, u.dir(), EDGE_FILTER_DRIFTED.get(key)));
        assertFalse(Fingerprint.liveMatches(after, u.dir(), EDGE_FILTER_DRIFTED_V1.get(key).replace('0', '1')));
        // the old form of the same state is still understood
        assertTrue(Fingerprint.liveMatches(after, u.dir(), EDGE_FILTER_DRIFTED_V1.get(key)));
    }

    /**
     * A generated table in both of the digest's layouts (keys and values of one size, multiples of 8 bytes: the
     * interleaved path; other sizes: the general one), and a second plan against a kernel that holds part of it
     * with other slots: the values (slots kept, new ones given) and the fingerprint are pinned.
     */
    @Test
    void aGeneratedTableHasThePinnedFingerprint() {
        Map<String, String> got = new TreeMap<>();
        Map<String, String> gotV2 = new TreeMap<>();
        for (int[] sizes : new int[][]{{8, 24}, {20, 24}, {8, 20}}) {
            Map<Bytes, Bytes> m = new HashMap<>();
            for (int i = 0; i < 3000; i++) {
                byte[] k = new byte[sizes[0]];
                byte[] v = new byte[sizes[1]];
                for (int b = 0; b < k.length; b++) {
                    k[b] = (byte) (i * 31 + b * 7 + (i >> 8));
                }
                for (int b = 0; b < v.length; b++) {
                    v[b] = (byte) (i * 13 + b);
                }
                m.put(Bytes.wrap(k), Bytes.wrap(v));
            }
            String sized = sizes[0] + "/" + sizes[1];
            got.put(sized + " hash", new Fingerprint().map("rules", m).program("p", "id").link("l", true).digestV1());
            got.put(sized + " sorted", new Fingerprint().map("rules", SortedEntries.copyOf(m)).program("p", "id")
                    .link("l", true).digestV1());
            gotV2.put(sized + " hash", new Fingerprint().map("rules", m).program("p", "id").link("l", true).digest());
            gotV2.put(sized + " sorted", new Fingerprint().map("rules", SortedEntries.copyOf(m)).program("p", "id")
                    .link("l", true).digest());
            // one byte of one value changed, or two values swapped between keys: another fingerprint
            Map<Bytes, Bytes> changed = new HashMap<>(m);
            Bytes k0 = Bytes.wrap(keyOf(0, sizes[0]));
            Bytes k1 = Bytes.wrap(keyOf(1, sizes[0]));
            byte[] v = m.get(k0).toArray();
            v[v.length - 1] ^= 1;
            changed.put(k0, Bytes.wrap(v));
            assertNotEquals(gotV2.get(sized + " hash"), new Fingerprint().map("rules", changed).program("p", "id")
                    .link("l", true).digest());
            Map<Bytes, Bytes> swapped = new HashMap<>(m);
            swapped.put(k0, m.get(k1));
            swapped.put(k1, m.get(k0));
            assertNotEquals(gotV2.get(sized + " hash"), new Fingerprint().map("rules", swapped).program("p", "id")
                    .link("l", true).digest());
        }
        assertEquals(got.get("8/24 hash"), got.get("8/24 sorted"));
        assertNotEquals(got.get("8/24 hash"), got.get("20/24 hash"));
        assertEquals(GENERATED, got);
        assertEquals(GENERATED_V2, gotV2);
    }

    private static byte[] keyOf(int i, int size) {
        byte[] k = new byte[size];
        for (int b = 0; b < k.length; b++) {
            k[b] = (byte) (i * 31 + b * 7 + (i >> 8));
        }
        return k;
    }

    /** The same tables in the current form, as computed when it was introduced. */
    private static final Map<String, String> GENERATED_V2 = Map.of(
            "8/24 hash", "v2:4e778b53a89312c7d29fc2d7948c8d3d7f65cff2018f89e625f46e5e33a0c3a3",
            "8/24 sorted", "v2:4e778b53a89312c7d29fc2d7948c8d3d7f65cff2018f89e625f46e5e33a0c3a3",
            "20/24 hash", "v2:d99329cc6707d3c4c682f2a5bc86dd4145a3a359846d2910ce44bb576d049246",
            "20/24 sorted", "v2:d99329cc6707d3c4c682f2a5bc86dd4145a3a359846d2910ce44bb576d049246",
            "8/20 hash", "v2:bfcecff973a9d73518472679e50e4a90a687c2d00f971fe604408512c433b42c",
            "8/20 sorted", "v2:bfcecff973a9d73518472679e50e4a90a687c2d00f971fe604408512c433b42c");

    /** As computed at 13e811d: the old form ({@link Fingerprint#digestV1}), which hosts may still hold. */
    private static final Map<String, String> GENERATED = Map.of(
            "8/24 hash", "6420b3a4d7680af866e861c537f3286fe7fb2f4aaa54b9dfdab930ceb398052f",
            "8/24 sorted", "6420b3a4d7680af866e861c537f3286fe7fb2f4aaa54b9dfdab930ceb398052f",
            "20/24 hash", "a80e256ec6057d2a0f6a012d627005e39f3462885fbb85e7c15474ac0cd975a7",
            "20/24 sorted", "a80e256ec6057d2a0f6a012d627005e39f3462885fbb85e7c15474ac0cd975a7",
            "8/20 hash", "ae5dc176cbf29f41f8b6ebe55beda6573779947ae8e2cf3ecd7e11686aa25191",
            "8/20 sorted", "ae5dc176cbf29f41f8b6ebe55beda6573779947ae8e2cf3ecd7e11686aa25191");
}
