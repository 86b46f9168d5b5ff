package dev.bpfgit.render;

import dev.bpfgit.diff.Plan;

/** The plan for a pull-request comment: a heading, the summary, and the text plan in a diff block. */
public final class PlanMarkdown {
    private PlanMarkdown() {
    }

    public static String render(Plan plan) {
        StringBuilder sb = new StringBuilder("### bpfgit plan for revision `").append(plan.revision()).append("`\n\n");
        if (plan.inSync()) {
            sb.append("No changes: the host is in sync.\n");
            return sb.toString();
        }
        sb.append("**").append(plan.summary()).append("**\n\n```diff\n");
        String text = PlanText.render(plan);
        // a diff block colours lines by their first character: move the sign to the front
        for (String line : text.split("\n")) {
            if (line.startsWith("Plan:") || line.startsWith("No changes")) {
                continue;
            }
            String t = line.stripLeading();
            if (t.startsWith("+ ") || t.startsWith("- ") || t.startsWith("~ ") || t.startsWith("-/+ ")) {
                char sign = t.charAt(0) == '~' ? '!' : t.charAt(0);
                sb.append(sign).append(line.substring(1)).append('\n');
            } else {
                sb.append(line).append('\n');
            }
        }
        sb.append("```\n");
        for (String w : plan.warnings()) {
            sb.append("\n> **Warning:** ").append(w).append('\n');
        }
        return sb.toString();
    }
}
