package dev.bpfgit.render;

import dev.bpfgit.diff.Plan;

import java.util.ArrayList;
import java.util.List;

/**
 * The plan as a pull-request comment: the summary first, then each policy's changes in a diff block, folded
 * in a {@code <details>} when long. A plan with no change is one line. The comment stays under GitHub's
 * limit ({@link #GITHUB_LIMIT} characters) minus room for what a CI step adds (a marker to find the
 * comment again): what does not fit is cut at a line, its blocks closed, and a note says so.
 */
public final class PlanMarkdown {
    /** GitHub refuses an issue or pull-request comment longer than this many characters. */
    public static final int GITHUB_LIMIT = 65_536;
    /** What a comment of bpfgit may use: 1 KiB is left for a CI step's marker and header. */
    public static final int BUDGET = GITHUB_LIMIT - 1024;
    /** A policy block longer than this many lines is folded. */
    static final int FOLD_LINES = 20;
    /** Room kept for the closing of an open fence and details, and the truncation note. */
    private static final int RESERVE = 600;

    private PlanMarkdown() {
    }

    public static String render(Plan plan) {
        return render(plan, BUDGET);
    }

    static String render(Plan plan, int budget) {
        if (plan.inSync()) {
            // one line; a warning (a foreign program coexisting) is still worth a reviewer's eye
            List<String> lines = new ArrayList<>();
            lines.add("bpfgit plan for revision `" + plan.revision() + "`: no changes, the host is in sync.");
            plan.warnings().forEach(w -> lines.add("> **Warning:** " + w));
            return fit(lines, budget);
        }
        List<String> lines = new ArrayList<>();
        lines.add("### bpfgit plan for revision `" + plan.revision() + "`");
        lines.add("");
        plan(lines, plan);
        return fit(lines, budget);
    }

    public static String render(Fleet fleet) {
        return render(fleet, BUDGET);
    }

    static String render(Fleet fleet, int budget) {
        if (fleet.inSync() && fleet.hosts().stream().allMatch(h -> h.plan().orElseThrow().warnings().isEmpty())) {
            return "bpfgit plan for revision `" + fleet.revision() + "`: no changes on " + fleet.hosts().size()
                    + (fleet.hosts().size() == 1 ? " host" : " hosts") + ", all in sync.\n";
        }
        List<String> lines = new ArrayList<>();
        lines.add("### bpfgit plan for revision `" + fleet.revision() + "` on " + fleet.hosts().size()
                + (fleet.hosts().size() == 1 ? " host" : " hosts"));
        lines.add("");
        lines.add("**" + fleet.tally() + "; exit " + fleet.exitCode() + ".**");
        lines.add("");
        List<String> table = new ArrayList<>();
        table.add("| " + String.join(" | ", FleetText.HEADER).toLowerCase(java.util.Locale.ROOT) + " |");
        table.add("|---|---|--:|--:|--:|---|--:|");
        for (Fleet.Host h : fleet.hosts()) {
            table.add(row(FleetText.row(h)));
        }
        if (table.stream().mapToInt(String::length).sum() > budget / 4) {
            // thousands of hosts in a few roles: a row per group leaves room for what the groups change
            table.subList(2, table.size()).clear();
            table.set(0, table.getFirst().replaceFirst("^\\| host ", "| hosts "));
            for (Fleet.Group g : fleet.groups()) {
                List<String> row = new ArrayList<>(FleetText.row(g.first()));
                row.set(0, names(g.names()));
                List<String> against = g.hosts().stream().map(Fleet.Host::against).distinct().toList();
                row.set(1, against.size() == 1 ? against.getFirst() : against.size() + " different");
                table.add(row(row));
            }
        }
        lines.addAll(table);
        for (Fleet.Group g : fleet.groups()) {
            lines.add("");
            lines.add("#### " + (g.names().size() > 50 ? names(g.names()) : String.join(", ", g.names())));
            lines.add("");
            Fleet.Host h = g.first();
            if (h.plan().isEmpty()) {
                lines.add("**" + (h.exitCode() == Fleet.INVALID ? "Invalid input" : "Error") + " (exit "
                        + h.exitCode() + "):**");
                lines.add("");
                lines.add("```");
                h.error().lines().forEach(lines::add);
                lines.add("```");
            } else if (h.plan().get().inSync()) {
                lines.add("No changes: in sync.");
                h.plan().get().warnings().forEach(w -> lines.add("\n> **Warning:** " + w));
            } else {
                plan(lines, h.plan().get());
            }
        }
        return fit(lines, budget);
    }

    private static String row(List<String> cells) {
        List<String> row = new ArrayList<>(cells);
        row.set(1, "`" + row.get(1) + "`");
        return "| " + String.join(" | ", row.stream().map(c -> c.replace("|", "\\|")).toList()) + " |";
    }

    /** "a, b, c and 997 more (1000 hosts)" */
    private static String names(List<String> names) {
        if (names.size() <= 5) {
            return String.join(", ", names);
        }
        return String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more (" + names.size()
                + " hosts)";
    }

    /** The summary line, one block per policy, and the warnings. */
    private static void plan(List<String> lines, Plan plan) {
        lines.add("**" + PlanText.summary(plan) + "**");
        for (PlanText.Block b : PlanText.blocks(plan)) {
            lines.add("");
            boolean fold = b.lines().size() > FOLD_LINES;
            if (fold) {
                lines.add("<details><summary><code>" + html(b.heading()) + "</code>: " + counts(b) + "</summary>");
                lines.add("");
            }
            lines.add("```diff");
            lines.add(b.heading());
            b.lines().forEach(l -> lines.add(diffLine(l)));
            lines.add("```");
            if (fold) {
                lines.add("");
                lines.add("</details>");
            }
        }
        for (String w : plan.warnings()) {
            lines.add("");
            lines.add("> **Warning:** " + w);
        }
    }

    /** A diff block colours a line by its first character: the sign moves to the front, ~ becomes !. */
    private static String diffLine(String line) {
        String t = line.stripLeading();
        if (t.startsWith("+ ") || t.startsWith("- ") || t.startsWith("~ ") || t.startsWith("-/+ ")) {
            char sign = t.charAt(0) == '~' ? '!' : t.charAt(0);
            return sign + line.substring(1);
        }
        return line;
    }

    /** "+300 ~2 -0 entries, 305 lines": what a folded block holds. */
    private static String counts(PlanText.Block b) {
        int add = 0, chg = 0, del = 0;
        for (String l : b.lines()) {
            if (l.startsWith("      ")) {
                switch (l.stripLeading().charAt(0)) {
                    case '+' -> add++;
                    case '~' -> chg++;
                    case '-' -> del++;
                    default -> {
                    }
                }
            }
        }
        return "entries +" + add + " ~" + chg + " -" + del + ", " + b.lines().size() + " lines";
    }

    private static String html(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /**
     * The lines joined, or as many as fit in {@code budget} characters with the open fence and details
     * closed and a note of what was cut: a comment that is too long is refused whole by GitHub.
     */
    static String fit(List<String> lines, int budget) {
        int total = lines.stream().mapToInt(l -> l.length() + 1).sum();
        if (total <= budget) {
            return String.join("\n", lines) + "\n";
        }
        StringBuilder sb = new StringBuilder();
        boolean fence = false;
        int details = 0;
        int kept = 0;
        for (String l : lines) {
            if (sb.length() + l.length() + 1 + RESERVE > budget) {
                break;
            }
            sb.append(l).append('\n');
            kept++;
            if (l.startsWith("```")) {
                fence = !fence;
            } else if (!fence && l.startsWith("<details>")) {
                details++;
            } else if (!fence && l.startsWith("</details>")) {
                details--;
            }
        }
        if (fence) {
            sb.append("```\n");
        }
        for (int i = 0; i < details; i++) {
            sb.append("\n</details>\n");
        }
        sb.append("\n> **Truncated:** this plan is ").append(total).append(" characters, more than a comment holds (")
                .append(GITHUB_LIMIT).append("); its last ").append(lines.size() - kept)
                .append(" lines are not shown. The whole plan is in the job log (`bpfgit plan ... -o text`).\n");
        return sb.toString();
    }
}
