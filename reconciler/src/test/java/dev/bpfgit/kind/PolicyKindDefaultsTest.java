package dev.bpfgit.kind;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kind.reuseport.ReusePortKind;
import dev.bpfgit.kind.traffic.TrafficKind;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a kind gets from {@link PolicyKind}'s defaults, and that the built-in kinds still say the same. */
class PolicyKindDefaultsTest {

    private static MapInfo map(MapType type, String name) {
        return new MapInfo(1, name, type.id, 4, 8, 1, 0, 0);
    }

    @Test
    void everyBuiltInKindsSchemaIsItsLowerCaseNameAndIsInTheSchemaDirectory() {
        for (PolicyKind k : Kinds.BUILT_IN.all()) {
            assertEquals(k.name().toLowerCase(java.util.Locale.ROOT) + ".schema.json", k.schema(), k.name());
            assertTrue(Files.isRegularFile(Path.of("../schema").resolve(k.schema())), k.schema());
        }
        assertEquals("trafficpolicy.schema.json", new TrafficKind().schema());
        assertEquals("reuseportgroup.schema.json", new ReusePortKind().schema());
    }

    @Test
    void aKindWithoutInterfacesOrAttachPointsNeedsToSayNothingAboutThem() {
        PolicyKind fake = new FakeKind();
        assertEquals("fakekind.schema.json", fake.schema());
        assertEquals(Set.of(), fake.assumedInterfaces(null));
        assertEquals(List.of(), fake.exportedAttachPoints(List.of("eth0")));
        assertEquals(Optional.empty(), fake.metrics(null, () -> null, 10));
        PolicyKind reuseport = new ReusePortKind();
        assertEquals(PolicyKind.Foreign.NONE, reuseport.foreign(new AttachPoint.Xdp("eth0")));
        assertEquals(Set.of(), reuseport.assumedInterfaces(null));
        assertEquals(List.of(), reuseport.exportedAttachPoints(List.of("eth0")));
    }

    @Test
    void perCpuMapsAreStatisticsByDefaultAndAKindAddsItsOwn() {
        PolicyKind traffic = new TrafficKind();
        assertTrue(traffic.statistics(map(MapType.PERCPU_ARRAY, "counters")));
        assertTrue(traffic.statistics(map(MapType.PERCPU_HASH, "counters")));
        assertFalse(traffic.statistics(map(MapType.LPM_TRIE, "rules_v4")));
        PolicyKind reuseport = new ReusePortKind();
        assertTrue(reuseport.statistics(map(MapType.PERCPU_ARRAY, "rp_counters")));
        assertTrue(reuseport.statistics(map(MapType.SOCKMAP, "rp_sockets")));
        assertFalse(reuseport.statistics(map(MapType.HASH, "rp_members")));
        assertFalse(reuseport.statistics(map(MapType.ARRAY, "rp_config")));
        // traffic's own: XDP is refused; tcx and legacy tc too, unless every policy there coexists; cgroups share
        assertTrue(traffic.foreign(new AttachPoint.Xdp("eth0")).refuse());
        assertTrue(traffic.foreign(new AttachPoint.Tcx("eth0", AttachPoint.Direction.INGRESS)).refuse());
        assertTrue(traffic.foreign(new AttachPoint.LegacyTc("eth0", AttachPoint.Direction.EGRESS)).refuse());
        assertFalse(traffic.foreign(new AttachPoint.Cgroup("/a", AttachPoint.CgroupHook.SOCK_OPS)).refuse());
    }
}
