package dev.bpfgit.cli;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.render.PlanText;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code status}'s drift reason names a table as the text plan shows it; its JSON keeps the kernel's maps. */
class DriftReasonTest {
    private static final Path UNIT = Path.of("/sys/fs/bpf/bpfgit/traffic/eth0/xdp");
    private static final Path V4 = UNIT.resolve("rules_v4");
    private static final Path V6 = UNIT.resolve("rules_v6");

    private static EntryChange removed(String key) {
        return new EntryChange(Bytes.wrap(key.getBytes()), Optional.of(Bytes.wrap(new byte[]{1})), Optional.empty(),
                "TrafficPolicy/edge-filter", key, "drop");
    }

    private static EntryChange added(String key) {
        return new EntryChange(Bytes.wrap(key.getBytes()), Optional.empty(), Optional.of(Bytes.wrap(new byte[]{1})),
                "TrafficPolicy/edge-filter", key, "drop");
    }

    private static UnitPlan unit(Map<Path, Integer> held, Change... changes) {
        return new UnitPlan(UNIT, "traffic", "eth0, xdp", List.of("TrafficPolicy/edge-filter"), List.of(changes),
                held);
    }

    private static String text(UnitPlan u) {
        return DriftReason.of(u, PlanText.tableNames(u));
    }

    @Test
    void entriesOfBothFamiliesAreCountedInTheOneTable() {
        UnitPlan u = unit(Map.of(V4, 1, V6, 0),
                new Change.PutEntries(V4, 1, List.of(added("203.0.113.0/24"), added("198.51.100.0/24"))),
                new Change.PutEntries(V6, 0, List.of(added("2001:db8:bad::/48"))));
        assertEquals("3 entries differ in rules", text(u));
        assertEquals("2 entries differ in rules_v4, 1 entry differs in rules_v6", DriftReason.of(u));
    }

    @Test
    void oneFamilyThatDriftedIsStillTheTable() {
        // the other family holds its entries unchanged: the plan shows the table, so does status
        UnitPlan u = unit(Map.of(V4, 3, V6, 1), new Change.PutEntries(V4, 1, List.of(added("203.0.113.0/24"),
                added("198.51.100.0/24"))));
        assertEquals("2 entries differ in rules", text(u));
        assertEquals("2 entries differ in rules_v4", DriftReason.of(u));
    }

    @Test
    void aFamilyMissingIsNamedAsThePlanNamesIt() {
        // the families are in different states: the plan shows each under its own name, and so does status
        MapSpec spec = new MapSpec("rules_v6", MapType.LPM_TRIE, 20, 8, 16384, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty());
        UnitPlan u = unit(Map.of(V4, 1), new Change.CreateMap(V6, spec),
                new Change.PutEntries(V6, 0, List.of(added("2001:db8:bad::/48"))),
                new Change.DeleteEntries(V4, 2, List.of(removed("192.0.2.0/24")), ""));
        assertEquals(text(u), DriftReason.of(u));
        assertEquals("1 entry differs in rules_v6, 1 entry differs in rules_v4, rules_v6 missing", text(u));
    }

    @Test
    void bothFamiliesReplacedAlikeAreSaidOnce() {
        MapSpec v4 = new MapSpec("rules_v4", MapType.LPM_TRIE, 8, 8, 32768, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty());
        MapSpec v6 = new MapSpec("rules_v6", MapType.LPM_TRIE, 20, 8, 32768, MapSpec.BPF_F_NO_PREALLOC,
                Optional.empty());
        List<String> why = List.of("max_entries 16384 -> 32768");
        UnitPlan u = unit(Map.of(), new Change.ReplaceMap(V4, UNIT.resolve("rules_v4.new"), v4, why),
                new Change.ReplaceMap(V6, UNIT.resolve("rules_v6.new"), v6, why));
        assertEquals("rules max_entries 16384 -> 32768", text(u));
        assertEquals("rules_v4 max_entries 16384 -> 32768, rules_v6 max_entries 16384 -> 32768", DriftReason.of(u));
    }

    @Test
    void programsAndLinksKeepTheirNames() {
        UnitPlan u = unit(Map.of(V4, 1, V6, 0), new Change.DeleteEntries(V4, 1, List.of(removed("192.0.2.0/24")), ""),
                new Change.CreateLink(UNIT.resolve("link"), UNIT.resolve("prog"), new AttachPoint.Xdp("eth0")));
        assertEquals("1 entry differs in rules, link missing", text(u));
    }
}
