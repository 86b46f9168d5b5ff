package dev.bpfgit.render;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.diff.Plan;

import java.util.function.Consumer;

/** The JSON plan as it was rendered before it streamed: a tree of the whole plan, written as one String. */
public final class TreePlan {
    private TreePlan() {
    }

    public static String render(Plan plan, Consumer<ObjectNode> extra) {
        ObjectNode root = PlanJson.tree(plan);
        extra.accept(root);
        return PlanJson.write(root);
    }

    /** The complaints of the validator about the whole document, as {@code apply --plan} had them. */
    public static java.util.List<String> errors(String text) {
        return PlanSchema.errors(PlanSchema.tree(text));
    }

    /** The fast entry check's verdict, and the validator's ({@code $defs/entry}) on its own. */
    public static boolean fast(tools.jackson.databind.JsonNode entry) {
        return PlanEntryCheck.get().valid(entry);
    }

    public static boolean schemaAccepts(tools.jackson.databind.JsonNode entry) {
        return PlanSchema.entryComplaints(entry, "", "").isEmpty();
    }

    public static String fingerprint() {
        return PlanEntryCheck.fingerprint(PlanEntryCheck.schema());
    }

    public static String checkedAgainst() {
        return PlanEntryCheck.FINGERPRINT;
    }
}
