package dev.bpfgit.render;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.diff.Summary;

import java.util.List;

/**
 * The plan of an inventory as JSON (schema/plan.schema.json, {@code $defs/fleetPlan}): a row per host with its
 * exit code and counts, and per group of identical plans the plan itself in the single-host format, made for
 * the group's first host. It is for reading, not for {@code apply --plan}, which refuses it.
 */
public final class FleetJson {
    public static final String FORMAT = "bpfgit.dev/fleet-plan/v1";

    private FleetJson() {
    }

    public static String render(Fleet fleet) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("format", FORMAT);
        root.put("version", PlanJson.VERSION);
        root.put("revision", fleet.revision());
        root.put("exitCode", fleet.exitCode());
        root.putObject("summary").put("hosts", fleet.hosts().size()).put("inSync", fleet.count(Fleet.IN_SYNC))
                .put("changes", fleet.count(Fleet.CHANGES)).put("invalid", fleet.count(Fleet.INVALID))
                .put("failed", fleet.count(Fleet.ERROR));
        List<Fleet.Group> groups = fleet.groups();
        ArrayNode hosts = root.putArray("hosts");
        for (Fleet.Host h : fleet.hosts()) {
            ObjectNode n = hosts.addObject();
            n.put("name", h.name());
            ObjectNode labels = n.putObject("labels");
            h.labels().forEach(labels::put);
            n.put("against", h.against()).put("exitCode", h.exitCode());
            for (int i = 0; i < groups.size(); i++) {
                if (groups.get(i).hosts().contains(h)) {
                    n.put("group", i);
                }
            }
            h.plan().ifPresentOrElse(p -> {
                Summary s = p.summary();
                n.putObject("summary").put("create", s.create()).put("change", s.change()).put("remove", s.remove())
                        .put("entriesAdded", s.added()).put("entriesChanged", s.changed())
                        .put("entriesRemoved", s.removed());
            }, () -> n.put("error", h.error()));
        }
        ArrayNode gs = root.putArray("groups");
        for (Fleet.Group g : groups) {
            ObjectNode n = gs.addObject();
            ArrayNode names = n.putArray("hosts");
            g.names().forEach(names::add);
            n.put("exitCode", g.first().exitCode());
            g.first().plan().ifPresentOrElse(p -> n.set("plan", PlanJson.tree(p)), () -> n.put("error", g.first().error()));
        }
        return PlanJson.write(root);
    }
}
