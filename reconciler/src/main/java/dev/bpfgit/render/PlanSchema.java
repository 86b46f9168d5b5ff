package dev.bpfgit.render;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.PathType;

import java.io.IOException;
import java.util.Comparator;
import java.util.List;

/**
 * A saved plan ({@code apply --plan FILE}) checked against {@code $defs/plan} of schema/plan.schema.json before
 * anything reads it: a plan edited by hand or cut short is refused naming the field, rather than read with a
 * default in place of what is missing.
 */
public final class PlanSchema {
    private static final ObjectMapper JSON = new ObjectMapper();
    // compiled on first use: only apply --plan needs it
    private static final class Holder {
        static final Schema PLAN = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                        b -> b.schemaRegistryConfig(SchemaRegistryConfig.builder().pathType(PathType.JSON_POINTER).build()))
                .getSchema(SchemaLocation.of("classpath:schema/plan.schema.json#/$defs/plan"));
    }

    private PlanSchema() {
    }

    /** @throws IllegalArgumentException when the text is not JSON */
    public static JsonNode tree(String text) {
        try {
            return JSON.readTree(text);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not a bpfgit plan: " + e.getMessage());
        }
    }

    /**
     * Whether the document says it is a plan of the format and version this bpfgit writes (a plan written before
     * {@code version} existed is version 1); anything else {@link PlanJson#parse} refuses with its own words.
     */
    public static boolean current(JsonNode root) {
        return root.path("format").asString().equals(PlanJson.FORMAT)
                && (!root.has("version") || root.get("version").isInt() && root.get("version").asInt() == PlanJson.VERSION);
    }

    /**
     * The complaints about a plan, one line each ({@code /units/0/changes/2/op: ...}), in document order;
     * empty when it follows the schema.
     */
    public static List<String> errors(JsonNode root) {
        return lines(complaints(root).stream());
    }

    /** One complaint: where ({@code /units/0/changes/2/op}, "" for the root) and what. */
    record Complaint(String at, String message) {
        static final Comparator<Complaint> ORDER = Comparator.comparing(Complaint::at).thenComparing(Complaint::message);
    }

    static List<Complaint> complaints(JsonNode root) {
        JsonNode checked = root;
        if (root instanceof ObjectNode o && !o.has("version")) {
            checked = o.deepCopy().put("version", PlanJson.VERSION);
        }
        // the validator reads Jackson 3 trees: the plan is handed over as JSON text
        return complaints(Holder.PLAN, checked, "", "");
    }

    /**
     * The complaints about one item of a step's {@code entries} ({@code $defs/entry}), at {@code at} (its
     * pointer in the plan), each message followed by {@code suffix} (where it is in the file).
     */
    static List<Complaint> entryComplaints(JsonNode entry, String at, String suffix) {
        return complaints(EntryHolder.ENTRY, entry, at, suffix);
    }

    private static List<Complaint> complaints(Schema schema, JsonNode node, String prefix, String suffix) {
        return schema.validate(node.toString(), InputFormat.JSON).stream()
                .map(m -> {
                    String at = m.getInstanceLocation().toString();
                    String message = m.getMessage();
                    // the validator starts its message with the location; say it once
                    if (message.startsWith(at + ": ")) {
                        message = message.substring(at.length() + 2);
                    }
                    return new Complaint(prefix + at, message + suffix);
                })
                .toList();
    }

    static List<String> lines(java.util.stream.Stream<Complaint> complaints) {
        return complaints.sorted(Complaint.ORDER)
                .map(c -> (c.at().isEmpty() ? "/" : c.at()) + ": " + c.message())
                .distinct()
                .toList();
    }

    private static final class EntryHolder {
        static final Schema ENTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
                        b -> b.schemaRegistryConfig(SchemaRegistryConfig.builder().pathType(PathType.JSON_POINTER).build()))
                .getSchema(SchemaLocation.of("classpath:schema/plan.schema.json#/$defs/entry"));
    }
}
