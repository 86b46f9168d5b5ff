package dev.bpfgit.diff;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.bpfgit.diff.Fixture.policy;
import static dev.bpfgit.diff.Fixture.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TrafficPolicy at exactly its capacity: the in-memory kernel refuses an add to a full map (ENOSPC for an
 * LPM trie, as the real kernel does: FullCapacityIT), so every test here fails with the add-everything-then-remove order.
 */
class FullCapacityTest {
    private static final Path RULES = Fixture.ROOT.resolve("traffic/eth0/xdp/rules_v4");
    private final Fixture f = new Fixture();

    private static Snapshot edge(String revision, int capacity, List<String> rules) {
        return snapshot(revision, "policies/edge.yaml", policy("edge-filter", "eth0", "xdp",
                rules.toArray(String[]::new)).replace("  rules:", "  capacity: " + capacity + "\n  rules:"));
    }

    private static List<String> rules(String... prefixes) {
        List<String> r = new ArrayList<>();
        for (String p : prefixes) {
            r.add("{prefix: " + p + ", action: drop}");
        }
        return r;
    }

    private Set<String> live() {
        Set<String> s = new HashSet<>();
        for (Entry e : f.kernel.entries(RULES)) {
            s.add(TrafficLayout.prefix(e.key()).toString());
        }
        return s;
    }

    @Test
    void replacingUnrelatedPrefixesOfAFullMapRemovesThemFirstWithoutTradingSafety() {
        f.converge(edge("r1", 4, rules("10.0.0.0/8", "172.16.0.0/12", "192.0.2.0/24", "198.51.100.0/24")));
        Snapshot next = edge("r2", 4, rules("10.0.0.0/8", "172.16.0.0/12", "203.0.113.0/24", "198.18.0.0/15"));
        Plan p = f.plan(next);
        Fixture.golden("full-capacity-replace.txt", PlanText.render(p));
        List<Change> steps = p.units().getFirst().changes();
        Change.DeleteEntries early = (Change.DeleteEntries) steps.getFirst();
        assertTrue(early.early() && !early.room().contains("TRADES SAFETY"), early.room());
        assertEquals(List.of("192.0.2.0/24", "198.51.100.0/24"), early.changes().stream().map(EntryChange::key).toList());
        assertTrue(steps.get(1) instanceof Change.PutEntries);
        assertEquals(p, PlanJson.parse(PlanJson.render(p)), "a saved plan keeps the order and its reasons");

        ApplyResult r = f.apply(p);
        assertEquals(2, r.entriesWritten());
        assertEquals(2, r.entriesDeleted());
        assertTrue(f.plan(next).inSync(), "converged in one apply");
        assertEquals(Set.of("10.0.0.0/8", "172.16.0.0/12", "203.0.113.0/24", "198.18.0.0/15"), live());
    }

    @Test
    void theOldOrderWouldOverflowTheFullMap() {
        f.converge(edge("r1", 2, rules("192.0.2.0/24", "198.51.100.0/24")));
        Plan p = f.plan(edge("r2", 2, rules("192.0.2.0/24", "203.0.113.0/24")));
        // the traffic-safe order of design §5, as it was: every add, then every removal
        List<Change> naive = new ArrayList<>();
        p.units().getFirst().changes().stream().filter(c -> !(c instanceof Change.DeleteEntries)).forEach(naive::add);
        p.units().getFirst().changes().stream().filter(c -> c instanceof Change.DeleteEntries d)
                .map(c -> (Change.DeleteEntries) c)
                .forEach(d -> naive.add(new Change.DeleteEntries(d.pin(), d.before(), d.changes())));
        UnitPlan u = p.units().getFirst();
        Plan old = new Plan(p.root(), p.revision(), p.basis(), List.of(new UnitPlan(u.dir(), u.kind(), u.label(),
                u.policies(), naive)), p.meta(), p.metaDeletes(), p.warnings());
        Exception e = assertThrows(RuntimeException.class, () -> f.apply(old));
        assertTrue(e.getCause() instanceof KernelException k && k.errno().name().equals("ENOSPC"), e.toString());
    }

    @Test
    void aRemovalAroundOrUnderPendingAddsIsTheLastResortAndThePlanSaysItTradesSafety() {
        // /16 can only go once both /24s inside it are written, but there is room for one of them only
        f.converge(edge("r1", 3, rules("10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24")));
        Snapshot next = edge("r2", 3, rules("10.0.0.0/8", "10.1.2.0/24", "10.1.3.0/24"));
        Plan p = f.plan(next);
        Fixture.golden("full-capacity-trade.txt", PlanText.render(p));
        List<String> order = new ArrayList<>();
        for (Change c : p.units().getFirst().changes()) {
            if (c instanceof Change.PutEntries put) {
                put.changes().forEach(e -> order.add("+" + e.key()));
            } else if (c instanceof Change.DeleteEntries d) {
                d.changes().forEach(e -> order.add("-" + e.key() + (d.room().contains("TRADES SAFETY") ? "!" : "")));
            }
        }
        assertEquals(List.of("-192.0.2.0/24", "+10.1.2.0/24", "-10.1.0.0/16!", "+10.1.3.0/24"), order);
        f.apply(p);
        assertTrue(f.plan(next).inSync());

        // a wider prefix replacing a narrower one in a map of one: no safe order exists at all
        f.converge(edge("r3", 1, rules("10.1.0.0/16")));
        Plan wider = f.plan(edge("r4", 1, rules("10.0.0.0/8")));
        String text = PlanText.render(wider);
        assertTrue(text.contains("TRADES SAFETY FOR ROOM: until 10.0.0.0/8 is written, packets in 10.1.0.0/16"),
                text);
        f.apply(wider);
        assertEquals(Set.of("10.0.0.0/8"), live());
    }

    @Test
    void earlyRemovalsRunAfterTheOtherWritesOfTheUnitAndWaitForAChangeAroundThem() {
        f.converge(edge("r1", 2, List.of("{prefix: 10.0.0.0/8, action: drop}", "{prefix: 10.1.0.0/16, action: pass}")));
        // the default verdict changes too, and the /8 around the removed /16 changes its action
        Snapshot next = snapshot("r2", "policies/edge.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 10.0.0.0/8, action: pass}", "{prefix: 192.0.2.0/24, action: drop}")
                .replace("  rules:", "  capacity: 2\n  default: drop\n  rules:"));
        Plan p = f.plan(next);
        List<Change> steps = p.units().getFirst().changes();
        int config = -1;
        int early = -1;
        for (int i = 0; i < steps.size(); i++) {
            if (steps.get(i) instanceof Change.PutEntries put && put.pin().endsWith("config")) {
                config = i;
            }
            if (steps.get(i) instanceof Change.DeleteEntries d && d.early()) {
                early = i;
                assertTrue(d.room().contains(RoomOrder.TRADES + ": until 10.0.0.0/8 is written, packets in 10.1.0.0/16"),
                        d.room());
            }
        }
        assertTrue(config >= 0 && early > config, "the new default is in place first: " + steps);
        assertTrue(p.warnings().getFirst().startsWith("TrafficPolicy/edge-filter (eth0, xdp): rules_v4 is full"),
                p.warnings().toString());
        f.apply(p);
        assertTrue(f.plan(next).inSync());
    }

    @Test
    void aLargeFullMapReplacesHalfItsRulesInOneApplyWithDistinctCounterSlots() {
        int n = 1000;
        List<String> before = new ArrayList<>();
        List<String> after = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            before.add("{prefix: 10." + (i / 250) + "." + (i % 250) + ".0/24, action: drop}");
            after.add(i % 2 == 0 ? before.get(i) : "{prefix: 172.16." + (i / 250) + "." + (i % 250) + "/32, action: drop}");
        }
        f.converge(edge("r1", n, before));
        Snapshot next = edge("r2", n, after);
        Plan p = f.plan(next);
        long steps = p.units().getFirst().changes().stream()
                .filter(c -> c instanceof Change.PutEntries || c instanceof Change.DeleteEntries).count();
        assertEquals(2, steps, "one early removal of what makes room, then the adds; nothing left to remove");
        assertFalse(PlanText.render(p).contains("TRADES SAFETY"));
        f.apply(p);
        assertTrue(f.plan(next).inSync());
        Set<Long> slots = new HashSet<>();
        for (Entry e : f.kernel.entries(RULES)) {
            long slot = TrafficLayout.rule(e.value()).slot();
            assertTrue(slot >= 1 && slot <= n, "slot " + slot);
            assertTrue(slots.add(slot), "slot " + slot + " given twice");
        }
        assertEquals(n, slots.size());
    }
}
