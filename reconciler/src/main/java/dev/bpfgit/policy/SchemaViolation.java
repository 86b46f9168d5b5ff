package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;

import java.util.List;

/**
 * One failure the JSON Schema validator reported, in the words the message rewriter needs and nothing of the
 * validator's own types: what changes between validator versions stays in {@link PolicySchema}.
 *
 * @param keyword    the failing keyword ({@code required}, {@code enum}, {@code false}...)
 * @param property   the property it names ({@code required}, {@code additionalProperties}), else null
 * @param pointer    JSON pointer of the instance, {@code ""} for the document
 * @param instance   the instance at {@code pointer} (null if absent)
 * @param schemaIri  the schema file, e.g. {@code classpath:schema/trafficpolicy.schema.json}
 * @param schemaPath the keyword's place in that file: names, and indexes as Integer
 * @param message    the validator's English, used only for a keyword the rewriter has no words for
 */
record SchemaViolation(String keyword, String property, String pointer, JsonNode instance, String schemaIri,
                       List<Object> schemaPath, String message) {

    /** "instance-pointer schema-location message", for tests that compare two validations. */
    @Override
    public String toString() {
        return pointer + " " + schemaIri + "#" + schemaPath + " " + keyword + " " + message;
    }
}
