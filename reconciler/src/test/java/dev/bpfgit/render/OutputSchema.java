package dev.bpfgit.render;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * schema/plan.schema.json through the validator bpfgit itself uses: every JSON document a test gets from
 * bpfgit (plans, fleet plans, state exports) is checked against it.
 */
public final class OutputSchema {
    private static final JsonSchema SCHEMA = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(SchemaLocation.of("classpath:schema/plan.schema.json"));
    private static final ObjectMapper JSON = new ObjectMapper();

    private OutputSchema() {
    }

    /** The schema's complaints about a document, empty when it is valid. */
    public static List<String> errors(JsonNode document) {
        return SCHEMA.validate(document).stream().map(ValidationMessage::getMessage).sorted().toList();
    }

    /** Throws with every complaint when the document does not follow the schema; returns it parsed. */
    public static JsonNode assertValid(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> errors = errors(n);
        if (!errors.isEmpty()) {
            throw new AssertionError("not valid against schema/plan.schema.json:\n  " + String.join("\n  ", errors)
                    + "\n" + json);
        }
        return n;
    }
}
