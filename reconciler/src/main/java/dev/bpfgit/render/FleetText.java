package dev.bpfgit.render;

import dev.bpfgit.diff.Summary;

import java.util.ArrayList;
import java.util.List;

/**
 * The text plan of an inventory: one section per group of hosts with identical plans, then a table of
 * hosts by changes, last so that a terminal shows it without scrolling:
 * <pre>
 * === edge-1, edge-2 ===
 * TrafficPolicy/edge-filter (eth0, xdp)
 *   ~ map rules_v4: ~1 (2 -> 2 entries)
 * ...
 * HOST    AGAINST               CREATE  CHANGE  REMOVE  ENTRIES   EXIT
 * edge-1  revision origin/main       0       1       0  +0 ~1 -0     1
 * Fleet: 2 hosts: 0 in sync, 2 with changes, 0 invalid, 0 failed; exit 1.
 * </pre>
 */
public final class FleetText {
    private FleetText() {
    }

    public static String render(Fleet fleet) {
        StringBuilder sb = new StringBuilder();
        for (Fleet.Group g : fleet.groups()) {
            sb.append("=== ").append(String.join(", ", g.names())).append(" ===\n");
            Fleet.Host h = g.first();
            if (h.plan().isPresent()) {
                sb.append(PlanText.render(h.plan().get()));
            } else {
                h.error().lines().forEach(l -> sb.append(l.startsWith("error") ? "" : "error: ").append(l).append('\n'));
            }
            sb.append('\n');
        }
        table(sb, fleet);
        sb.append("Fleet: ").append(fleet.tally()).append("; exit ").append(fleet.exitCode()).append(".\n");
        return sb.toString();
    }

    /** The columns of one host's row: host, against, create, change, remove, entries, exit. */
    static List<String> row(Fleet.Host h) {
        if (h.plan().isEmpty()) {
            return List.of(h.name(), h.against(), "-", "-", "-", "-", String.valueOf(h.exitCode()));
        }
        Summary s = PlanText.summary(h.plan().get());
        return List.of(h.name(), h.against(), String.valueOf(s.create()), String.valueOf(s.change()),
                String.valueOf(s.remove()), "+" + s.added() + " ~" + s.changed() + " -" + s.removed(),
                String.valueOf(h.exitCode()));
    }

    static final List<String> HEADER = List.of("HOST", "AGAINST", "CREATE", "CHANGE", "REMOVE", "ENTRIES", "EXIT");
    /** Numbers right-aligned, words left-aligned. */
    private static final boolean[] RIGHT = {false, false, true, true, true, false, true};

    private static void table(StringBuilder sb, Fleet fleet) {
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        fleet.hosts().forEach(h -> rows.add(row(h)));
        int[] width = new int[HEADER.size()];
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                String pad = " ".repeat(width[i] - r.get(i).length());
                line.append(i == 0 ? "" : "  ").append(RIGHT[i] ? pad + r.get(i) : r.get(i) + pad);
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
