package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.JsonNodeFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A YAML file that is not a policy (the daemon's {@code bpfgit.yaml}) read like one: checked against its
 * schema in {@code schema/}, its mistakes reported the same way (every one, file:line:column, the field's
 * JSON pointer, a did-you-mean for a misspelt field), so that a typo in a setting is not silently a default.
 */
public final class SettingsFile {
    /** {@code schema/config.schema.json}: bpfgit.yaml. */
    public static final String CONFIG = "classpath:schema/config.schema.json";

    private final YamlDocument doc;

    private SettingsFile(YamlDocument doc) {
        this.doc = doc;
    }

    /**
     * @param name the file as named in messages
     * @throws PolicyException with every mistake: YAML syntax, more than one document, the schema's
     */
    public static SettingsFile read(String name, String text, String schemaIri) {
        YamlReader.Result yaml = YamlReader.read(name, text);
        List<PolicyError> errors = new ArrayList<>(yaml.errors());
        if (yaml.documents().size() > 1) {
            errors.add(yaml.documents().get(1).error("", "a settings file is one YAML document; remove this '---'"));
        }
        YamlDocument doc = yaml.documents().isEmpty()
                ? new YamlDocument(name, JsonNodeFactory.instance.objectNode(), Map.of(), new Location(name, 1, 1), true)
                : yaml.documents().getFirst();
        if (errors.isEmpty()) {
            PolicySchema schema = PolicySchema.of(schemaIri);
            var invalid = schema.validate(doc.root());
            if (!invalid.isEmpty()) {
                errors.addAll(new SchemaMessages(schema).rewrite(invalid, doc));
            }
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(errors.stream().map(SettingsFile::named).distinct().sorted(java.util.Comparator
                    .comparingInt((PolicyError e) -> e.location().line())
                    .thenComparingInt(e -> e.location().column())).toList());
        }
        return new SettingsFile(doc);
    }

    /**
     * The error with its field named as the file's documentation names settings ({@code reconcile.drift}) rather
     * than by JSON pointer ({@code /reconcile/drift}).
     */
    private static PolicyError named(PolicyError e) {
        return e.pointer().startsWith("/") ? new PolicyError(e.location(), e.pointer().substring(1).replace('/', '.'),
                e.message()) : e;
    }

    /** The document as plain Java values (maps, lists, strings, numbers, booleans); an empty file is an empty map. */
    public Map<?, ?> values() {
        JsonNode root = doc.root();
        return root.isObject() ? new ObjectMapper().convertValue(root, Map.class) : Map.of();
    }

    /** A mistake the schema cannot express, at the field {@code pointer} (e.g. {@code /source/git/url}). */
    public PolicyException error(String pointer, String message) {
        return new PolicyException(List.of(named(doc.error(pointer, message))));
    }
}
