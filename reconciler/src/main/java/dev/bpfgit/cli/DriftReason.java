package dev.bpfgit.cli;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.observe.Fingerprint;
import dev.bpfgit.observe.LiveLink;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.render.PlanText;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Why a unit is drifted, in a few words, for {@code status}: e.g. {@code 3 entries differ in rules},
 * {@code link missing}.
 *
 * <p>The text names a table as the text plan shows it ({@link PlanText#tableNames}): a TrafficPolicy's prefix
 * table, kept as one LPM trie per address family, reads {@code rules}; the JSON reason keeps naming the kernel's
 * maps ({@code rules_v4}), as the JSON plan does.
 *
 * <p>The bookkeeping keeps one fingerprint per unit, not the entries applied, so what differs in a map can only
 * be counted against the policies ({@link #fromPlan}: the plan of the unit, as {@code plan} would show it).
 * Without them ({@link #fromKernel}) the kernel alone still tells a detached link, a link running another
 * program and a missing program; whether the rest of the difference lies in the maps is told by rebuilding the
 * recorded fingerprint from what those checks expect.
 */
final class DriftReason {
    /** Said when only the policies could tell what changed. */
    static final String CHANGED = "map entries or pins changed (give PATH to count them)";

    private DriftReason() {
    }

    /**
     * Why one unit drifted: {@code text} as {@code status} prints it (the tables the policies wrote), {@code json}
     * as its JSON has always said it (the kernel's maps). The same when no map is named.
     */
    record Reason(String text, String json) {
        static Reason both(String reason) {
            return new Reason(reason, reason);
        }
    }

    /** The reason of each drifted unit's changes in {@code plan}, by the unit's directory. */
    static Map<Path, Reason> fromPlan(Plan plan) {
        Map<Path, Reason> reasons = new TreeMap<>();
        for (UnitPlan u : plan.units()) {
            String json = of(u, Map.of());
            if (!json.isEmpty()) {
                reasons.put(u.dir(), new Reason(of(u, PlanText.tableNames(u)), json));
            }
        }
        return reasons;
    }

    /** What the changes to one unit would restore, joined: {@code 3 entries differ in rules_v4, link missing}. */
    static String of(UnitPlan unit) {
        return of(unit, Map.of());
    }

    /**
     * @param names the name a map is said by ({@link PlanText#tableNames}); a pin not in it by its file name. The
     *              two families of a table shown as one are said once: their entries counted together, a change
     *              to both said once
     */
    static String of(UnitPlan unit, Map<Path, String> names) {
        Map<String, Integer> entries = new LinkedHashMap<>();
        java.util.Set<String> pins = new LinkedHashSet<>();
        for (Change c : unit.changes()) {
            String name = names.getOrDefault(c.pin(), c.pin().getFileName().toString());
            switch (c) {
                case Change.PutEntries p -> entries.merge(name, p.changes().size(), Integer::sum);
                case Change.DeleteEntries d -> entries.merge(name, d.changes().size(), Integer::sum);
                case Change.CreateMap m -> pins.add(name + " missing");
                case Change.ReplaceMap m -> pins.add(name + " " + (m.reasons().isEmpty() ? "changed"
                        : String.join(", ", m.reasons())));
                case Change.LoadProgram p -> pins.add(name + " " + (p.reason() == null || p.reason().isEmpty()
                        ? (p.replace() ? "changed" : "missing") : p.reason()));
                case Change.CreateLink l -> pins.add(name + " missing");
                case Change.UpdateLink l -> pins.add(name + " " + (l.reason() == null || l.reason().isEmpty()
                        ? "runs another program" : l.reason()));
                case Change.Rename r -> {
                    // the second half of a ReplaceMap, already said
                }
                case Change.Unpin p -> pins.add(name + " not expected" + (p.detail() == null || p.detail().isEmpty()
                        ? "" : " (" + p.detail() + ")"));
            }
        }
        List<String> parts = new ArrayList<>();
        entries.forEach((map, n) -> parts.add(n + (n == 1 ? " entry differs" : " entries differ") + " in " + map));
        parts.addAll(pins);
        return String.join(", ", parts);
    }

    /**
     * The reason told by the kernel and the bookkeeping alone.
     *
     * @param recorded the fingerprint apply recorded for the unit
     */
    static String fromKernel(LiveState live, Path dir, String recorded) {
        Path root = live.root();
        List<String> parts = new ArrayList<>();
        // the programs apply loaded, and the identity it recorded for each
        Map<String, String> programs = new TreeMap<>();
        String prefix = Meta.programKey(root.relativize(dir) + "/");
        live.meta().values().forEach((k, v) -> {
            if (k.startsWith(prefix) && !k.substring(prefix.length()).contains("/")) {
                programs.put(k.substring(prefix.length()), v);
            }
        });
        programs.keySet().stream().filter(n -> !live.programs().containsKey(dir.resolve(n)))
                .forEach(n -> parts.add(n + " missing"));
        Fingerprint expected = new Fingerprint();
        live.maps().values().stream().filter(m -> dir.equals(m.pin().getParent()) && m.entries().isPresent())
                .forEach(m -> expected.map(m.pin().getFileName().toString(), m.entries().get()));
        programs.forEach(expected::program);
        for (LiveLink l : live.links().values()) {
            if (!dir.equals(l.pin().getParent())) {
                continue;
            }
            String name = l.pin().getFileName().toString();
            boolean runsPinned = live.programs().values().stream()
                    .anyMatch(p -> dir.equals(p.pin().getParent()) && p.info().id() == l.info().progId());
            if (l.info().defunct()) {
                parts.add(name + " detached (its device is gone)");
            } else if (!runsPinned) {
                parts.add(name + " runs another program");
            }
            expected.link(name, true);
        }
        // what the checks above expect, with the maps as they are now: if that is what apply recorded, the maps
        // are as applied and the checks said it all
        if (!expected.matches(recorded)) {
            parts.add(CHANGED);
        }
        return String.join(", ", parts);
    }
}
