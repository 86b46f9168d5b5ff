package dev.bpfgit.render;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.KernelMemory;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.EntryChanges;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.Summary;
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
 *   ~ map rules: +1 -1 ~1 (3 -> 3 entries)
 *       + 198.51.100.0/24  redirect eth1
 *       ~ 10.0.0.0/8       mark 0x10 (was 0x20)
 *       - 192.0.2.0/24     drop
 * Plan: 0 to create, 1 to change, 0 to remove; entries +1 ~1 -1.
 * </pre>
 * A policy's prefix table, kept in the kernel as one LPM trie per address family ({@code rules_v4},
 * {@code rules_v6}), reads as the one table it wrote ({@code rules}), v4 entries first (see {@link Table}).
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
                sb.append(summary(plan).toString()).append('\n');
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);   // neither a StringBuilder nor a PrintWriter throws it
        }
    }

    /**
     * The plan's counts as the text shows them: a table kept as two family maps counts once, as it is shown
     * (the JSON plan's summary counts the kernel's maps).
     */
    public static Summary summary(Plan plan) {
        Summary s = plan.summary();
        int create = s.create();
        int change = s.change();
        int remove = s.remove();
        for (UnitPlan u : plan.units()) {
            if (u.changes().isEmpty()) {
                continue;
            }
            Tables tables = Tables.of(u);
            for (Table t : tables.all()) {
                if (!t.pair()) {
                    continue;
                }
                switch (t.state()) {
                    case "new" -> create--;
                    case "replace" -> change--;
                    case "gone" -> remove--;
                    default -> {
                        long touched = t.targets().stream().filter(p -> u.changes().stream().anyMatch(c ->
                                (c instanceof Change.PutEntries || c instanceof Change.DeleteEntries)
                                        && c.pin().equals(p))).count();
                        change -= (int) Math.max(0, touched - 1);
                    }
                }
            }
        }
        return new Summary(create, change, remove, s.added(), s.changed(), s.removed());
    }

    /**
     * The name each map of the unit's changes is shown by (its staging pin's too): a family of a table shown as
     * one ({@code rules_v4} and {@code rules_v6} as {@code rules}) by the table's name, any other map by its own.
     * For the texts that speak of a unit's maps as this plan does ({@code status}'s drift reasons).
     */
    public static Map<Path, String> tableNames(UnitPlan unit) {
        Map<Path, String> names = new LinkedHashMap<>();
        Tables.of(unit).byPin().forEach((pin, table) -> names.put(pin, table.name()));
        return names;
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
        Tables tables = Tables.of(u);
        // the entry steps of each table, in execution order (several when a full map interleaves them)
        Map<String, List<Change>> steps = new LinkedHashMap<>();
        for (Table t : tables.all()) {
            for (Path target : t.targets()) {
                for (Change c : u.changes()) {
                    if ((c instanceof Change.PutEntries || c instanceof Change.DeleteEntries)
                            && c.pin().equals(target)) {
                        steps.computeIfAbsent(t.name(), k -> new ArrayList<>()).add(c);
                    }
                }
            }
        }
        java.util.Set<String> shown = new java.util.HashSet<>();
        for (Change c : u.changes()) {
            Table t = tables.of(c);
            if (t != null && c instanceof Change.CreateMap && steps.containsKey(t.name())) {
                continue;   // shown with its entries below
            }
            String line = t != null ? t.objectLine(c) : objectLine(c);
            if (line != null && (t == null || shown.add(line))) {
                blocks.get(firstOwner).add(line);
            }
        }
        for (Map.Entry<String, List<Change>> tableSteps : steps.entrySet()) {
            Table table = tables.named(tableSteps.getKey());
            // per owner: its entries in execution order, each early removal led by a note saying why; the
            // entries are read twice (widths, then lines) and not kept: a new map's plan has a million of them
            Map<String, List<String>> entryLines = new LinkedHashMap<>();
            Map<String, int[]> counts = new LinkedHashMap<>();   // owner: {added, changed, removed}
            Map<Path, Integer> before = new LinkedHashMap<>();
            Map<Path, Integer> net = new java.util.HashMap<>();   // per target: entries added less removed
            boolean full = false;
            // keys line up within each owner's block, as it is shown; their lengths are counted without their
            // texts where the codec can (EntryCodec.keyLength): the lines below make each text once
            Map<String, int[]> widths = new java.util.HashMap<>();
            for (Change c : tableSteps.getValue()) {
                List<EntryChange> changes = c instanceof Change.PutEntries p ? p.changes()
                        : ((Change.DeleteEntries) c).changes();
                EntryChanges packed = changes instanceof EntryChanges e ? e : null;
                for (int i = 0; i < changes.size(); i++) {
                    String owner;
                    int length;
                    if (packed != null) {
                        owner = packed.owner(i);
                        length = packed.keyLength(i);
                    } else {
                        EntryChange e = changes.get(i);
                        owner = e.owner();
                        length = e.key().length();
                    }
                    int[] width = widths.get(owner.isEmpty() ? firstOwner : owner);
                    if (width == null) {
                        width = new int[1];
                        widths.put(owner.isEmpty() ? firstOwner : owner, width);
                    }
                    width[0] = Math.max(width[0], length);
                }
            }
            int added = 0;
            int removed = 0;
            for (Change c : tableSteps.getValue()) {
                List<EntryChange> changes;
                String note = null;
                if (c instanceof Change.PutEntries p) {
                    changes = p.changes();
                    before.putIfAbsent(p.pin(), p.before());
                } else {
                    Change.DeleteEntries d = (Change.DeleteEntries) c;
                    changes = d.changes();
                    before.putIfAbsent(d.pin(), d.before());
                    if (d.early()) {
                        note = "      ! " + d.room();
                        full = true;
                    }
                }
                java.util.Set<String> noted = new java.util.HashSet<>();
                int stepNet = 0;
                for (int i = 0; i < changes.size(); i++) {
                    Row e = Row.of(changes, i);
                    String owner = e.owner().isEmpty() ? firstOwner : e.owner();
                    int kind = e.symbol() == '+' ? 0 : e.symbol() == '~' ? 1 : 2;
                    counts.computeIfAbsent(owner, k -> new int[3])[kind]++;
                    stepNet += kind == 0 ? 1 : kind == 2 ? -1 : 0;
                    added += kind == 0 ? 1 : 0;
                    removed += kind == 2 ? 1 : 0;
                    List<String> lines = entryLines.computeIfAbsent(owner, k -> new ArrayList<>());
                    if (note != null && noted.add(owner)) {
                        lines.add(note);
                    }
                    lines.add(line(e, widths.get(owner)[0]));
                }
                net.merge(c.pin(), stepNet, Integer::sum);   // once a step: a new map's has a million entries
            }
            // a family whose entries do not change still holds its entries: the table counts them
            int b = 0;
            for (Path target : table.targets()) {
                b += before.containsKey(target) ? before.get(target) : u.held().getOrDefault(target, 0);
            }
            int after = b + added - removed;
            String fullNote = full ? ", full: removals make room first" : "";
            String memory = table.memory(net);
            int was = b;
            counts.forEach((owner, count) -> {
                List<String> lines = blocks.computeIfAbsent(owner, k -> new ArrayList<>());
                int add = count[0];
                int chg = count[1];
                int del = count[2];
                StringBuilder head = new StringBuilder("  ").append(table.head()).append(':');
                if (add > 0) {
                    head.append(" +").append(add);
                }
                if (del > 0) {
                    head.append(" -").append(del);
                }
                if (chg > 0) {
                    head.append(" ~").append(chg);
                }
                head.append(" (").append(was).append(" -> ").append(after).append(" entries").append(fullNote);
                // a map made now: what it will hold costs kernel memory the operator should see before apply
                if (!memory.isEmpty()) {
                    head.append(", ").append(memory);
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

    /**
     * A table as the plan shows it: one map, or the pair {@code <name>_v4} and {@code <name>_v6} shown as the
     * one table {@code <name>} a policy writes (design §4: {@code ~ map rules: +1 -1 ~1 (3 -> 3 entries)}).
     * A pair is shown as one only when both families are in the same state (both made now, both replaced for
     * the same reasons, or both there already); otherwise each family is shown under its own name, as it is.
     *
     * @param name    the name shown
     * @param pins    the maps' pins, v4 first
     * @param targets where their entries are written (the staging pin of a replaced map), v4 first
     * @param state   "new", "replace", "kept" or "gone" (removed with its unit)
     * @param specs   the specs of the maps made now (new or replace), by pin
     * @param goneEntries the entries of a pair removed, -1 when not known
     */
    private record Table(String name, List<Path> pins, List<Path> targets, String state,
                         Map<Path, dev.bpfgit.kernel.MapSpec> specs, long goneEntries) {
        boolean pair() {
            return pins.size() == 2;
        }

        /** The head of its entry lines: {@code + map rules (lpm_trie, max_entries 16384 per family)}. */
        String head() {
            if (state.equals("new")) {
                return "+ " + (pair() ? made()
                        : PlanText.objectLine(new Change.CreateMap(pins.getFirst(), specs.get(pins.getFirst())))
                                .substring(4));
            }
            return (state.equals("replace") ? "+ " : "~ ") + "map " + name;
        }

        private String made() {
            dev.bpfgit.kernel.MapSpec spec = specs.get(pins.getFirst());
            return "map " + name + " (" + spec.type().name().toLowerCase(Locale.ROOT) + ", max_entries "
                    + spec.maxEntries() + (pair() ? " per family" : "") + ")";
        }

        /** The line of a change to one of its maps, once for the pair. */
        String objectLine(Change c) {
            if (!pair()) {
                return PlanText.objectLine(c);
            }
            return switch (c) {
                case Change.CreateMap m -> "  + " + made();
                case Change.ReplaceMap m -> "  -/+ map " + name + ": replace (" + String.join(", ", m.reasons())
                        + ")";
                case Change.Unpin p -> "  - map " + name + (goneEntries < 0 ? "" : " (" + goneEntries + " entries)");
                default -> PlanText.objectLine(c);
            };
        }

        /** The kernel memory note of the maps made now, given the entries each will hold; "" for none. */
        String memory(Map<Path, Integer> entries) {
            if (state.equals("kept")) {
                return "";
            }
            return KernelMemory.note(pins.stream().map(specs::get).toList(),
                    targets.stream().map(t -> (long) entries.getOrDefault(t, 0)).toList()).orElse("");
        }
    }

    /** The detail of a map removed with its unit: {@code map rules_v4 (3 entries)}. */
    private static final java.util.regex.Pattern REMOVED = java.util.regex.Pattern.compile(
            "map (\\S+)( \\((\\d+) entries\\))?");

    /** The tables of one unit, by the pins (and staging pins) of their maps. */
    private record Tables(Map<Path, Table> byPin, Map<String, Table> byName) {
        static Tables of(UnitPlan u) {
            Map<Path, String> state = new LinkedHashMap<>();
            Map<Path, Path> target = new java.util.HashMap<>();
            Map<Path, dev.bpfgit.kernel.MapSpec> specs = new java.util.HashMap<>();
            Map<Path, String> reasons = new java.util.HashMap<>();
            for (Change c : u.changes()) {
                switch (c) {
                    case Change.CreateMap m -> {
                        state.put(m.pin(), "new");
                        specs.put(m.pin(), m.spec());
                        reasons.put(m.pin(), m.spec().type() + "/" + m.spec().maxEntries());
                    }
                    case Change.ReplaceMap m -> {
                        state.put(m.pin(), "replace");
                        target.put(m.pin(), m.staging());
                        specs.put(m.pin(), m.spec());
                        reasons.put(m.pin(), m.spec().type() + "/" + m.spec().maxEntries() + "/" + m.reasons());
                    }
                    case Change.PutEntries e -> state.putIfAbsent(e.pin(), "kept");
                    case Change.DeleteEntries e -> state.putIfAbsent(e.pin(), "kept");
                    default -> {
                    }
                }
            }
            // entry steps on a staging pin belong to the map it replaces
            target.values().forEach(state::remove);
            Map<Path, Table> byPin = new LinkedHashMap<>();
            Map<String, Table> byName = new LinkedHashMap<>();
            for (Path pin : state.keySet()) {
                if (byPin.containsKey(pin)) {
                    continue;
                }
                String name = mapName(pin);
                Table t = null;
                String base = name.length() > 3 ? name.substring(0, name.length() - 3) : "";
                if (name.endsWith("_v4") || name.endsWith("_v6")) {
                    Path v4 = pin.resolveSibling(base + "_v4");
                    Path v6 = pin.resolveSibling(base + "_v6");
                    Path other = pin.equals(v4) ? v6 : v4;
                    String mine = state.get(pin);
                    // the other family, when its entries do not change, is there already if the plan holds its count
                    String theirs = state.getOrDefault(other, u.held().containsKey(other) ? "kept" : null);
                    if (mine.equals(theirs) && java.util.Objects.equals(reasons.get(pin), reasons.get(other))) {
                        List<Path> pins = List.of(v4, v6);
                        t = new Table(base, pins, pins.stream().map(p -> target.getOrDefault(p, p)).toList(), mine,
                                specs, -1);
                    }
                }
                if (t == null) {
                    t = new Table(name, List.of(pin), List.of(target.getOrDefault(pin, pin)), state.get(pin), specs,
                            -1);
                }
                for (Path p : t.pins()) {
                    byPin.put(p, t);
                }
                for (Path p : t.targets()) {
                    byPin.put(p, t);
                }
                byName.put(t.name(), t);
            }
            // a unit removed: its two families go as the one table
            Map<Path, Long> gone = new LinkedHashMap<>();
            for (Change c : u.changes()) {
                if (c instanceof Change.Unpin p && p.type().equals(java.util.Optional.of(dev.bpfgit.kernel.PinType.MAP))) {
                    java.util.regex.Matcher m = REMOVED.matcher(p.detail());
                    if (m.matches() && m.group(1).equals(p.pin().getFileName().toString())) {
                        gone.put(p.pin(), m.group(3) == null ? -1L : Long.parseLong(m.group(3)));
                    }
                }
            }
            for (Path pin : gone.keySet()) {
                String name = pin.getFileName().toString();
                if (!name.endsWith("_v4") || byPin.containsKey(pin)) {
                    continue;
                }
                String base = name.substring(0, name.length() - 3);
                Path v6 = pin.resolveSibling(base + "_v6");
                if (gone.containsKey(v6) && !byName.containsKey(base)) {
                    long n4 = gone.get(pin);
                    long n6 = gone.get(v6);
                    Table t = new Table(base, List.of(pin, v6), List.of(pin, v6), "gone", specs,
                            n4 < 0 || n6 < 0 ? -1 : n4 + n6);
                    byPin.put(pin, t);
                    byPin.put(v6, t);
                    byName.put(base, t);
                }
            }
            return new Tables(byPin, byName);
        }

        List<Table> all() {
            return List.copyOf(byName.values());
        }

        Table named(String name) {
            return byName.get(name);
        }

        /** The table a change to a map acts on, or null for a change to no table. */
        Table of(Change c) {
            return switch (c) {
                case Change.CreateMap m -> byPin.get(m.pin());
                case Change.ReplaceMap m -> byPin.get(m.pin());
                case Change.Unpin p -> byPin.get(p.pin());
                default -> null;
            };
        }
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
        static Row of(List<EntryChange> changes, int i) {
            if (changes instanceof EntryChanges e) {
                return new Row(e.symbol(i), e.owner(i), e.key(i), e.text(i));
            }
            EntryChange c = changes.get(i);
            return new Row(c.symbol(), c.owner(), c.key(), c.text());
        }
    }

    /** {@code "      + 10.0.0.0/8   drop"}: the key padded to {@code width}, in one builder of the line's size. */
    static String line(char symbol, String key, String text, int width) {
        StringBuilder b = new StringBuilder(10 + Math.max(width, key.length()) + text.length());
        b.append("      ").append(symbol).append(' ').append(key);
        for (int pad = key.length(); pad < width; pad++) {
            b.append(' ');
        }
        return b.append("  ").append(text).toString();
    }

    private static String line(Row e, int width) {
        return line(e.symbol(), e.key(), e.text(), width);
    }
}
