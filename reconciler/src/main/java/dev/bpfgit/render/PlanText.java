package dev.bpfgit.render;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.KernelMemory;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.EntryChanges;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The text plan of design §4:
 * <pre>
 * TrafficPolicy/edge-filter (eth0, xdp)
 *   ~ map rules_v4: +1 -1 ~1 (3 -> 3 entries)
 *       + 198.51.100.0/24  redirect eth1
 * Plan: 0 to create, 1 to change, 0 to remove; entries +1 ~1 -1.
 * </pre>
 * Entry changes are shown under the policy that owns them; changes to the unit itself (maps, programs,
 * links) under the first policy of the unit.
 */
public final class PlanText {
    private PlanText() {
    }

    /**
     * What one policy changes in one unit: the heading line ({@code TrafficPolicy/edge-filter (eth0, xdp)}) and
     * the indented lines under it.
     */
    public record Block(String heading, List<String> lines) {
        public Block {
            lines = List.copyOf(lines);
        }
    }

    public static String render(Plan plan) {
        StringBuilder sb = new StringBuilder();
        write(plan, sb);
        return sb.toString();
    }

    /**
     * {@link #render} straight to {@code out}: the text of a new map of a million entries is tens of MB, and
     * a String of it would be held twice (the builder's and its copy) while it is printed.
     */
    public static void print(Plan plan, java.io.PrintWriter out) {
        write(plan, out);
    }

    private static void write(Plan plan, Appendable sb) {
        try {
            for (Block b : blocks(plan)) {
                sb.append(b.heading()).append('\n');
                for (String l : b.lines()) {
                    sb.append(l).append('\n');
                }
            }
            for (String w : plan.warnings()) {
                sb.append("Warning: ").append(w).append('\n');
            }
            if (plan.inSync()) {
                sb.append("No changes: the host is in sync with revision ").append(plan.revision()).append(".\n");
            } else {
                sb.append(plan.summary().toString()).append('\n');
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);   // neither a StringBuilder nor a PrintWriter throws it
        }
    }

    /** The blocks of every unit that changes, in plan order. */
    public static List<Block> blocks(Plan plan) {
        List<Block> out = new ArrayList<>();
        for (UnitPlan u : plan.units()) {
            if (!u.changes().isEmpty()) {
                unit(out, u);
            }
        }
        return out;
    }

    /** One block per owning policy of the unit. */
    private static void unit(List<Block> out, UnitPlan u) {
        Map<String, List<String>> blocks = new LinkedHashMap<>();
        String firstOwner = u.policies().isEmpty() ? "" : u.policies().getFirst();
        u.policies().forEach(p -> blocks.put(p, new ArrayList<>()));
        blocks.computeIfAbsent(firstOwner, k -> new ArrayList<>());
        // the entry steps of each map, in execution order (several when a full map interleaves them)
        Map<Path, List<Change>> steps = new LinkedHashMap<>();
        Map<Path, String> created = new java.util.HashMap<>();
        Map<Path, dev.bpfgit.kernel.MapSpec> createdSpecs = new java.util.HashMap<>();
        for (Change c : u.changes()) {
            switch (c) {
                case Change.PutEntries e -> steps.computeIfAbsent(e.pin(), k -> new ArrayList<>()).add(e);
                case Change.DeleteEntries e -> steps.computeIfAbsent(e.pin(), k -> new ArrayList<>()).add(e);
                case Change.CreateMap m -> {
                    created.put(m.pin(), objectLine(m).substring(4));
                    createdSpecs.put(m.pin(), m.spec());
                }
                case Change.ReplaceMap m -> {
                    created.put(m.staging(), "");
                    createdSpecs.put(m.staging(), m.spec());
                }
                default -> {
                }
            }
        }
        for (Change c : u.changes()) {
            if (c instanceof Change.CreateMap m && steps.containsKey(m.pin())) {
                continue;   // shown with its entries below
            }
            String line = objectLine(c);
            if (line != null) {
                blocks.get(firstOwner).add(line);
            }
        }
        for (Map.Entry<Path, List<Change>> pinSteps : steps.entrySet()) {
            Path pin = pinSteps.getKey();
            // per owner: its entries in execution order, each early removal led by a note saying why; the
            // entries are read twice (widths, then lines) and not kept: a new map's plan has a million of them
            Map<String, List<String>> entryLines = new LinkedHashMap<>();
            Map<String, int[]> counts = new LinkedHashMap<>();   // owner: {added, changed, removed}
            int before = -1;
            boolean full = false;
            // keys line up within each owner's block, as it is shown
            Map<String, Integer> widths = new java.util.HashMap<>();
            for (Change c : pinSteps.getValue()) {
                List<EntryChange> changes = c instanceof Change.PutEntries p ? p.changes()
                        : ((Change.DeleteEntries) c).changes();
                for (int i = 0; i < changes.size(); i++) {
                    Row e = Row.of(changes, i, false);
                    widths.merge(e.owner().isEmpty() ? firstOwner : e.owner(), e.key().length(), Math::max);
                }
            }
            int added = 0;
            int removed = 0;
            for (Change c : pinSteps.getValue()) {
                List<EntryChange> changes;
                String note = null;
                if (c instanceof Change.PutEntries p) {
                    changes = p.changes();
                    before = before < 0 ? p.before() : before;
                } else {
                    Change.DeleteEntries d = (Change.DeleteEntries) c;
                    changes = d.changes();
                    before = before < 0 ? d.before() : before;
                    if (d.early()) {
                        note = "      ! " + d.room();
                        full = true;
                    }
                }
                java.util.Set<String> noted = new java.util.HashSet<>();
                for (int i = 0; i < changes.size(); i++) {
                    Row e = Row.of(changes, i, true);
                    String owner = e.owner().isEmpty() ? firstOwner : e.owner();
                    int kind = e.symbol() == '+' ? 0 : e.symbol() == '~' ? 1 : 2;
                    counts.computeIfAbsent(owner, k -> new int[3])[kind]++;
                    added += kind == 0 ? 1 : 0;
                    removed += kind == 2 ? 1 : 0;
                    List<String> lines = entryLines.computeIfAbsent(owner, k -> new ArrayList<>());
                    if (note != null && noted.add(owner)) {
                        lines.add(note);
                    }
                    lines.add("      " + e.symbol() + " " + pad(e.key(), widths.get(owner)) + "  " + e.text());
                }
            }
            int after = before + added - removed;
            String name = mapName(pin);
            String fullNote = full ? ", full: removals make room first" : "";
            int b = before;
            counts.forEach((owner, count) -> {
                List<String> lines = blocks.computeIfAbsent(owner, k -> new ArrayList<>());
                int add = count[0];
                int chg = count[1];
                int del = count[2];
                String fresh = created.get(pin);
                StringBuilder head = new StringBuilder("  ").append(fresh != null ? "+ " : "~ ")
                        .append(fresh != null && !fresh.isEmpty() ? fresh : "map " + name).append(':');
                if (add > 0) {
                    head.append(" +").append(add);
                }
                if (del > 0) {
                    head.append(" -").append(del);
                }
                if (chg > 0) {
                    head.append(" ~").append(chg);
                }
                head.append(" (").append(b).append(" -> ").append(after).append(" entries").append(fullNote);
                // a map made now: what it will hold costs kernel memory the operator should see before apply
                if (createdSpecs.containsKey(pin)) {
                    KernelMemory.note(createdSpecs.get(pin), after).ifPresent(n -> head.append(", ").append(n));
                }
                head.append(")");
                lines.add(head.toString());
                lines.addAll(entryLines.get(owner));
            });
        }
        blocks.forEach((owner, lines) -> {
            if (lines.isEmpty()) {
                return;
            }
            out.add(new Block((owner.isEmpty() ? "" : owner + " ") + "(" + u.label() + ")", lines));
        });
    }

    /** The line for a change to an object, or null for entry changes and renames. */
    static String objectLine(Change c) {
        return switch (c) {
            case Change.CreateMap m -> "  + map " + mapName(m.pin()) + " (" + m.spec().type().name()
                    .toLowerCase(Locale.ROOT) + ", max_entries " + m.spec().maxEntries()
                    + (m.spec().type().perCpu() ? KernelMemory.note(m.spec(), m.spec().maxEntries())
                            .map(n -> ", " + n).orElse("") : "") + ")";
            case Change.ReplaceMap m -> "  -/+ map " + mapName(m.pin()) + ": replace (" + String.join(", ",
                    m.reasons()) + (m.spec().type().perCpu() ? KernelMemory.note(m.spec(), m.spec().maxEntries())
                            .map(n -> "; " + n).orElse("") : "") + ")";
            case Change.LoadProgram p -> p.replace()
                    ? "  ~ program " + p.spec().program() + ": reload (" + p.reason() + ")"
                    : "  + program " + p.spec().program() + " (" + p.spec().object() + ")";
            case Change.CreateLink l -> "  + link " + l.at().label();
            case Change.UpdateLink l -> "  ~ link: update (" + l.reason() + ")";
            case Change.Unpin p -> "  - " + p.detail();
            case Change.Rename r -> null;
            case Change.PutEntries e -> null;
            case Change.DeleteEntries e -> null;
        };
    }

    private static String mapName(Path pin) {
        String n = pin.getFileName().toString();
        return n.endsWith("_next") ? n.substring(0, n.length() - 5) : n;
    }

    /** Entry {@code i} of a step as shown, made without an {@link EntryChange} where the step allows it. */
    private record Row(char symbol, String owner, String key, String text) {
        static Row of(List<EntryChange> changes, int i, boolean withText) {
            if (changes instanceof EntryChanges e) {
                return new Row(e.symbol(i), e.owner(i), e.key(i), withText ? e.text(i) : "");
            }
            EntryChange c = changes.get(i);
            return new Row(c.symbol(), c.owner(), c.key(), c.text());
        }
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }
}
