package dev.bpfgit.render;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * schema/plan.schema.json through the validator bpfgit itself uses: every JSON document a test gets from
 * bpfgit (plans, fleet plans, state exports) is checked against it.
 */
public final class OutputSchema {
    private static final Schema SCHEMA = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
            .getSchema(SchemaLocation.of("classpath:schema/plan.schema.json"));
    private static final ObjectMapper JSON = new ObjectMapper();

    private OutputSchema() {
    }

    /** The schema's complaints about a document, empty when it is valid. */
    public static List<String> errors(JsonNode document) {
        // the validator reads Jackson 3 trees: the document is handed over as JSON text
        return SCHEMA.validate(document.toString(), InputFormat.JSON).stream()
                .map(e -> e.getInstanceLocation() + ": " + e.getMessage()).sorted().toList();
    }

    /** Throws with every complaint when the document does not follow the schema; returns it parsed. */
    public static JsonNode assertValid(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (tools.jackson.core.JacksonException e) {
            throw new AssertionError("not JSON: " + e.getMessage(), e);
        }
        List<String> errors = errors(n);
        if (!errors.isEmpty()) {
            throw new AssertionError("not valid against schema/plan.schema.json:\n  " + String.join("\n  ", errors)
                    + "\n" + json);
        }
        return n;
    }
}
