package dev.bpfgit.render;

import dev.bpfgit.explain.Explanation;
import dev.bpfgit.explain.Explanation.Verdict;

/**
 * {@code explain} for a person, one block per unit, e.g.
 * <pre>
 * 198.51.100.7 (from the kernel)
 * TrafficPolicy eth0, xdp: drop
 *   match     source address in 198.51.100.0/24
 *   policy    TrafficPolicy/edge-filter
 *   counters  12 packets, 840 bytes
 *   declared  policies/edge.yaml:12:15
 *   files     in sync
 * </pre>
 */
public final class ExplainText {
    private ExplainText() {
    }

    public static String render(Explanation e) {
        StringBuilder sb = new StringBuilder();
        sb.append(e.address()).append(" (from the ").append(e.source()).append(")\n");
        if (e.units().isEmpty()) {
            sb.append("No unit acts on this address's traffic here: nothing is applied under this pin root"
                    + " (or the filters left nothing).\n");
        }
        for (Verdict v : e.units()) {
            sb.append(v.kind()).append(' ').append(v.label()).append(": ").append(v.verdict()).append('\n');
            if (v.action().equals("none")) {
                // a unit only the files have
            } else if (v.matched()) {
                line(sb, "match", v.matchOn() + " address in " + v.prefix().get());
            } else {
                line(sb, "match", "no prefix holds this " + v.matchOn() + " address: the default " + v.verdict());
            }
            line(sb, v.matched() ? "policy" : "policies", v.policies().isEmpty() ? "-" : String.join(", ", v.policies()));
            v.counts().ifPresent(c -> line(sb, "counters", c.packets() + " packets, " + c.bytes() + " bytes"));
            v.declared().ifPresent(l -> line(sb, "declared", l.toString()));
            v.files().ifPresent(a -> line(sb, "files", a.word() + (a.detail().isEmpty() ? "" : ": " + a.detail())));
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, String value) {
        sb.append("  ").append(String.format("%-9s", label)).append(' ').append(value).append('\n');
    }
}
