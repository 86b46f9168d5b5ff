package dev.bpfgit.render;

import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.explain.Explanation;
import dev.bpfgit.explain.Explanation.Verdict;

/** {@code explain -o json}: one object per unit; absent facts are null, never left out. */
public final class ExplainJson {
    public static final String FORMAT = "bpfgit.dev/explain/v1";
    /** As in plans: a reader checks it and refuses a version it does not know. */
    public static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ExplainJson() {
    }

    public static String render(Explanation e) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("address", e.address());
        root.put("source", e.source());
        var units = root.putArray("units");
        for (Verdict v : e.units()) {
            ObjectNode u = units.addObject();
            u.put("kind", v.kind());
            u.put("unit", v.unit());
            u.put("label", v.label());
            u.put("match", v.matchOn());
            u.put("matched", v.matched());
            u.put("prefix", v.prefix().orElse(null));
            u.put("action", v.action());
            u.put("target", v.target().orElse(null));
            if (v.mark().isPresent()) {
                u.put("mark", v.mark().get());
            } else {
                u.putNull("mark");
            }
            u.put("verdict", v.verdict());
            var ps = u.putArray("policies");
            v.policies().forEach(ps::add);
            if (v.counts().isPresent()) {
                u.put("packets", v.counts().get().packets());
                u.put("bytes", v.counts().get().bytes());
            } else {
                u.putNull("packets");
                u.putNull("bytes");
            }
            u.put("declared", v.declared().map(Object::toString).orElse(null));
            u.put("files", v.files().map(Explanation.Agreement::word).orElse(null));
            u.put("drift", v.files().map(Explanation.Agreement::detail).filter(d -> !d.isEmpty()).orElse(null));
        }
        return PlanJson.write(root);
    }
}
