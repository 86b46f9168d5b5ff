package dev.bpfgit.diff;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.bpfgit.diff.Fixture.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The entry steps of a plan as references into the desired and live entries ({@link EntryChanges}) instead of
 * one {@link EntryChange} per entry: the same plan, read every way a plan is read.
 */
class CompactPlanTest {
    private static final Path V4 = Fixture.ROOT.resolve("traffic/eth0/xdp/rules_v4");
    private static final Path V6 = Fixture.ROOT.resolve("traffic/eth0/xdp/rules_v6");
    private final Fixture f = new Fixture();

    /** IPv4 prefixes of four lengths and IPv6 /48s and /64s, none containing another of the same policy. */
    private static List<String> prefixes(int n, int salt) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = 1 + (i * 7 + salt) % 200;
            int b = i / 200 % 256;
            out.add(switch (i % 6) {
                case 0 -> a + "." + b + "." + (i % 256) + ".1/32";
                case 1 -> a + "." + b + "." + (i % 256) + ".0/24";
                case 2 -> "2001:db8:" + Integer.toHexString(i) + "::/48";
                case 3 -> "2001:db9:" + Integer.toHexString(i) + ":1::/64";
                case 4 -> (a + 10) % 224 + "." + b + "." + (i % 256) + ".128/25";
                default -> a + "." + b + "." + (i % 256) + ".64/26";
            });
        }
        return out.stream().distinct().toList();
    }

    private static Snapshot geo(String revision, List<String> dropped, List<String> passed) {
        String yaml = "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: geo\nspec:\n"
                + "  interfaces: [eth0]\n  hook: xdp\n  capacity: 65536\n  rules:\n"
                + "    - {prefixes: [" + String.join(", ", dropped) + "], action: drop}\n"
                + (passed.isEmpty() ? "" : "    - {prefixes: [" + String.join(", ", passed) + "], action: pass}\n");
        return snapshot(revision, "policies/geo.yaml", yaml);
    }

    private static List<Change> entrySteps(Plan p, Path pin) {
        return p.units().stream().flatMap(u -> u.changes().stream())
                .filter(c -> (c instanceof Change.PutEntries || c instanceof Change.DeleteEntries) && c.pin().equals(pin))
                .toList();
    }

    private static List<EntryChange> changes(Change c) {
        return c instanceof Change.PutEntries p ? p.changes() : ((Change.DeleteEntries) c).changes();
    }

    /** What each accessor says about change i is what the EntryChange made for it says. */
    private static void accessorsAgree(EntryChanges list) {
        for (int i = 0; i < list.size(); i++) {
            EntryChange e = list.get(i);
            assertEquals(e.symbol(), list.symbol(i), "symbol " + i);
            assertEquals(e.owner(), list.owner(i), "owner " + i);
            assertEquals(e.key(), list.key(i), "key " + i);
            assertEquals(e.text(), list.text(i), "text " + i);
            assertEquals(e.rawKey(), list.rawKey(i), "rawKey " + i);
            assertEquals(new Entry(e.rawKey(), e.after().orElseGet(() -> e.before().orElseThrow())), list.entry(i));
        }
    }

    @Test
    void aNewMapsPlanReferencesTheDesiredEntriesInWriteOrderAndApplyWritesExactlyThem() {
        List<String> all = prefixes(6000, 0);
        Snapshot s = geo("r1", all, List.of());
        Plan p = f.plan(s);
        Map<Path, Integer> wanted = new HashMap<>();
        for (Path pin : List.of(V4, V6)) {
            List<Change> steps = entrySteps(p, pin);
            assertEquals(1, steps.size(), pin + ": one step fills the new map");
            EntryChanges list = assertInstanceOf(EntryChanges.class, changes(steps.getFirst()), pin.toString());
            accessorsAgree(list);
            assertTrue(list.stream().allMatch(e -> e.symbol() == '+' && e.owner().equals("TrafficPolicy/geo")
                    && e.text().equals("drop")), pin.toString());
            // most specific first, then by key: the order an eager list of EntryChange records sorted that way has
            List<EntryChange> sorted = new ArrayList<>(list);
            sorted.sort(Comparator.comparingInt((EntryChange e) -> -Integer.parseInt(e.key().substring(e.key().indexOf('/') + 1)))
                    .thenComparing(EntryChange::rawKey));
            assertEquals(sorted, list, pin + ": write order");
            assertEquals(list.size(), list.count('+'));
            wanted.put(pin, list.size());
        }
        assertEquals(all.size(), wanted.get(V4) + wanted.get(V6));
        // besides the rules, the unit's one-entry config map
        assertEquals(all.size() + 1, p.summary().added());
        ApplyResult r = f.apply(p);
        assertEquals(all.size() + 1, r.entriesWritten());
        assertEquals(0, r.entriesDeleted());
        assertEquals(wanted.get(V4), f.kernel.entries(V4).size());
        assertEquals(wanted.get(V6), f.kernel.entries(V6).size());
        assertTrue(f.plan(s).inSync(), "re-plan after apply");
    }

    @Test
    void anUpdateIsTheSamePlanAsOneEntryChangePerEntry() {
        List<String> all = prefixes(3000, 0);
        f.converge(geo("r1", all, List.of()));
        // a third moves to pass, a sixth is removed, a few hundred are new
        List<String> dropped = new ArrayList<>();
        List<String> passed = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (i % 6 == 1) {
                continue;
            }
            (i % 3 == 0 ? passed : dropped).add(all.get(i));
        }
        passed.addAll(prefixes(300, 77).stream().filter(x -> !all.contains(x)).toList());
        Snapshot b = geo("r2", dropped, passed);
        Plan p = f.plan(b);
        List<EntryChange> seen = new ArrayList<>();
        for (Path pin : List.of(V4, V6)) {
            for (Change c : entrySteps(p, pin)) {
                EntryChanges list = assertInstanceOf(EntryChanges.class, changes(c), c.toString());
                accessorsAgree(list);
                seen.addAll(list);
            }
        }
        assertTrue(Stream.of('+', '~', '-').allMatch(sym -> seen.stream().anyMatch(e -> e.symbol() == sym)),
                "adds, changes and removals");
        // the JSON plan read back (its entries packed as they stream in): the same plan, rendered the same
        Plan back = PlanJson.parse(PlanJson.render(p));
        assertEquals(p, back);
        assertEquals(PlanText.render(p), PlanText.render(back));
        StringWriter printed = new StringWriter();
        PlanText.print(p, new PrintWriter(printed));
        assertEquals(PlanText.render(back), printed.toString());
        Summary sum = p.summary();
        assertEquals(back.summary(), sum);
        ApplyResult r = f.apply(p);
        assertEquals(sum.added() + sum.changed(), r.entriesWritten());
        assertEquals(sum.removed(), r.entriesDeleted());
        assertTrue(f.plan(b).inSync(), "re-plan after apply");
        Map<String, Integer> sizes = Map.of("v4", f.kernel.entries(V4).size(), "v6", f.kernel.entries(V6).size());
        assertEquals(dropped.size() + passed.size(), sizes.get("v4") + sizes.get("v6"));
    }

    @Test
    void aBytesKeyOrderTieBreakMatchesTheSortedEntriesOrder() {
        // keys of one prefix length come out in Bytes order (unsigned), as the eager sort by rawKey had them
        List<String> keys = List.of("200.1.1.1/32", "10.1.1.1/32", "128.0.0.1/32", "1.2.3.4/32");
        Plan p = f.plan(geo("r1", keys, List.of()));
        List<Bytes> raw = changes(entrySteps(p, V4).getFirst()).stream().map(EntryChange::rawKey).toList();
        assertEquals(raw.stream().sorted().toList(), raw);
    }
}
