package dev.bpfgit.policy;

import tools.jackson.core.JsonPointer;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * Turns the validator's messages into ones a policy author understands: YAML words (mapping, list), the value
 * that was given, the condition of an if/then, a spelling suggestion for an unknown field. The wording comes
 * from the keyword and the schema around it, not from parsing the validator's English.
 */
final class SchemaMessages {
    private final PolicySchema schema;

    SchemaMessages(PolicySchema schema) {
        this.schema = schema;
    }

    List<PolicyError> rewrite(Collection<SchemaViolation> messages, YamlDocument doc) {
        Set<String> misspelt = misspelt(messages);
        Set<PolicyError> errors = new LinkedHashSet<>();   // the same spec error can come from two schemas
        for (SchemaViolation m : messages) {
            if (m.keyword().equals("required") && misspelt.contains(required(m))) {
                continue;   // "prefx: did you mean prefix?" already says it; "prefix is required" is noise
            }
            if (insideWorded(m)) {
                continue;   // a oneOf with its own errorMessage says it once, not once per alternative
            }
            if (m.keyword().equals("oneOf") && alternatives(m).stream().anyMatch(misspelt::contains)) {
                continue;   // the same for "one of prefix or prefixes"
            }
            errors.addAll(rewrite(m, doc));
        }
        return List.copyOf(errors);
    }

    /** The pointers of required properties that an unknown field is a likely misspelling of. */
    private Set<String> misspelt(Collection<SchemaViolation> messages) {
        Set<String> pointers = new HashSet<>();
        for (SchemaViolation m : messages) {
            if (m.keyword().equals("additionalProperties")) {
                DidYouMean.suggest(m.property(), knownFields(m)).ifPresent(s ->
                        pointers.add(JsonPointers.child(m.pointer(), s)));
            }
        }
        return pointers;
    }

    /** Whether the failing keyword sits inside an alternative of a {@code oneOf}/{@code anyOf} that has an errorMessage. */
    private boolean insideWorded(SchemaViolation m) {
        List<Object> fragment = m.schemaPath();
        int n = fragment.size();
        for (int i = 0; i < n - 1; i++) {
            String name = name(fragment, i);
            if ((name.equals("oneOf") || name.equals("anyOf"))
                    && schema.node(m, n - i).map(s -> s.has("errorMessage")).orElse(false)) {
                return true;
            }
        }
        return false;
    }

    /** The pointers of the properties a {@code oneOf} of {@code required} alternatives asks for. */
    private List<String> alternatives(SchemaViolation m) {
        List<String> out = new ArrayList<>();
        String object = m.pointer();
        schema.node(m, 0).ifPresent(alternatives -> alternatives.forEach(a ->
                a.path("required").forEach(r -> out.add(JsonPointers.child(object, r.asString())))));
        return out;
    }

    private static String required(SchemaViolation m) {
        return JsonPointers.child(m.pointer(), m.property());
    }

    private List<PolicyError> rewrite(SchemaViolation m, YamlDocument doc) {
        String pointer = m.pointer();
        JsonNode value = m.instance();
        Optional<Branch> branch = branch(m, pointer);
        if (branch.isPresent() && !branch.get().then() && !conditionDecidable(branch.get(), doc)) {
            // the if failed only because its property is missing: "required" already says so
            return List.of();
        }
        JsonNode keyword = schema.node(m, 0).orElse(null);
        Optional<String> custom = schema.node(m, 1)
                .map(s -> s.path("errorMessage")).filter(JsonNode::isString).map(JsonNode::asString);
        if (custom.isPresent()) {
            // the schema's own words, also what editors show (vscode-json-languageservice "errorMessage")
            return List.of(doc.error(pointer, custom.get()));
        }
        if (m.keyword().equals("uniqueItems")) {
            return duplicates(pointer, value, doc);
        }
        if (pointer.isEmpty() && m.keyword().equals("type")) {
            return List.of(doc.error(pointer, "a policy must be a mapping of apiVersion, kind, metadata and spec"
                    + " (got " + shown(value) + ")"));
        }
        String message = switch (m.keyword()) {
            case "additionalProperties" -> {
                pointer = JsonPointers.child(pointer, m.property());
                yield unknownField(m);
            }
            case "required" -> "'" + m.property() + "' is required"
                    + branch.map(b -> " when " + b.condition()).orElse("");
            case "false" -> "'" + Shown.value(lastSegment(pointer)) + "' is "
                    + branch.map(b -> b.then() ? "not allowed when " + b.condition()
                    : "only allowed when " + b.condition()).orElse("not allowed here");
            case "enum" -> "must be one of " + StreamSupport.stream(keyword.spliterator(), false)
                    .map(JsonNode::asString).collect(Collectors.joining(", ")) + " (got " + shown(value) + ")";
            case "const" -> "must be " + shown(keyword) + " (got " + shown(value) + ")";
            case "type" -> "must be " + typeNames(keyword) + " (got " + shown(value) + ")" + quoteHint(keyword, value);
            case "pattern" -> schema.node(m, 1)
                    .map(s -> s.path("patternErrorMessage").asString(null))
                    .orElse("must match the pattern " + keyword.asString()) + " (got " + shown(value) + ")";
            case "minimum" -> "must be at least " + keyword + " (got " + shown(value) + ")";
            case "maximum" -> "must be at most " + keyword + " (got " + shown(value) + ")";
            case "exclusiveMinimum" -> "must be greater than " + keyword + " (got " + shown(value) + ")";
            case "exclusiveMaximum" -> "must be less than " + keyword + " (got " + shown(value) + ")";
            case "minItems" -> keyword.asInt() == 1 ? "must not be empty"
                    : "must have at least " + keyword + " items (got " + value.size() + ")";
            case "maxItems" -> "must have at most " + keyword + " items (got " + value.size() + ")";
            case "minLength" -> keyword.asInt() == 1 ? "must not be empty"
                    : "must be at least " + keyword + " characters long (got " + shown(value) + ")";
            case "maxLength" -> "must be at most " + keyword + " characters long (got " + shown(value) + ")";
            default -> {
                String text = m.message();
                yield text.startsWith(pointer + ": ") ? text.substring(pointer.length() + 2) : text;
            }
        };
        return List.of(doc.error(pointer, message));
    }

    /** One error per repeated item, at the repetition, so the location points at what to delete. */
    private static List<PolicyError> duplicates(String pointer, JsonNode array, YamlDocument doc) {
        List<PolicyError> errors = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (array.get(i).equals(array.get(j))) {
                    errors.add(doc.error(JsonPointers.child(pointer, i),
                            shown(array.get(i)) + " is listed twice (also item " + j + ")"));
                    break;
                }
            }
        }
        return errors;
    }

    private String unknownField(SchemaViolation m) {
        List<String> known = knownFields(m);
        return "unknown field" + DidYouMean.suggest(m.property(), known)
                .map(s -> " (did you mean \"" + s + "\"?)")
                .orElse(switch (known.size()) {
                    case 0 -> "";
                    case 1 -> " (the only field here is " + known.getFirst() + ")";
                    default -> " (expected one of " + String.join(", ", known) + ")";
                });
    }

    /** The properties declared next to the failing {@code additionalProperties}. */
    private List<String> knownFields(SchemaViolation m) {
        return schema.node(m, 1)
                .map(s -> iterable(s.path("properties").propertyNames().iterator()))
                .orElse(List.of());
    }

    private static List<String> iterable(Iterator<String> names) {
        List<String> list = new ArrayList<>();
        names.forEachRemaining(list::add);
        return list;
    }

    /**
     * The if/then/else a failing keyword sits in: the branch taken, the {@code if} as words ("action is
     * redirect") and the instance the {@code if} looked at.
     */
    private record Branch(boolean then, String condition, JsonNode ifSchema, String object) {
    }

    private Optional<Branch> branch(SchemaViolation m, String pointer) {
        List<Object> fragment = m.schemaPath();
        int n = fragment.size();
        for (int i = n - 1; i >= 0; i--) {
            String name = name(fragment, i);
            boolean isKeyword = i == 0 || !"properties".equals(name(fragment, i - 1));
            if (isKeyword && (name.equals("then") || name.equals("else"))) {
                int up = n - i;
                Optional<JsonNode> ifSchema = schema.node(m, up).map(s -> s.get("if"));
                if (ifSchema.isEmpty() || ifSchema.get() == null) {
                    return Optional.empty();
                }
                // each "properties/<name>" or "items" below the branch is one level deeper in the instance
                String object = pointer;
                for (int j = i + 1; j < n - 1; j++) {
                    String step = name(fragment, j);
                    if (step.equals("properties") || step.equals("items")) {
                        object = JsonPointers.parent(object);
                        j += step.equals("properties") ? 1 : 0;
                    }
                }
                return Optional.of(new Branch(name.equals("then"), condition(ifSchema.get()), ifSchema.get(), object));
            }
        }
        return Optional.empty();
    }

    private static String condition(JsonNode ifSchema) {
        List<String> parts = new ArrayList<>();
        ifSchema.path("properties").properties().forEach(p -> {
            JsonNode s = p.getValue();
            if (s.has("const")) {
                parts.add(p.getKey() + " is " + s.get("const").asString());
            } else if (s.has("enum")) {
                parts.add(p.getKey() + " is one of " + StreamSupport.stream(s.get("enum").spliterator(), false)
                        .map(JsonNode::asString).collect(Collectors.joining(", ")));
            }
        });
        return parts.isEmpty() ? "this condition holds" : String.join(" and ", parts);
    }

    /** Whether every property the {@code if} requires is present, i.e. it failed on a value and not on absence. */
    private static boolean conditionDecidable(Branch b, YamlDocument doc) {
        JsonNode object = doc.root().at(JsonPointer.compile(b.object()));
        for (JsonNode required : b.ifSchema().path("required")) {
            if (!object.has(required.asString())) {
                return false;
            }
        }
        return true;
    }

    private static String name(List<Object> path, int i) {
        return String.valueOf(path.get(i));
    }

    private static String lastSegment(String pointer) {
        return pointer.substring(pointer.lastIndexOf('/') + 1).replace("~1", "/").replace("~0", "~");
    }

    /** A value as the author wrote it: strings quoted, containers by their YAML name. */
    static String shown(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) {
            return "an empty value";
        }
        if (v.isString()) {
            return "\"" + Shown.value(v.asString()) + "\"";
        }
        if (v.isObject()) {
            return "a mapping";
        }
        if (v.isArray()) {
            return "a list";
        }
        return Shown.value(v.toString());
    }

    private static String typeNames(JsonNode type) {
        List<String> names = new ArrayList<>();
        if (type.isArray()) {
            type.forEach(t -> names.add(typeName(t.asString())));
        } else {
            names.add(typeName(type.asString()));
        }
        return String.join(" or ", names);
    }

    private static String typeName(String jsonType) {
        return switch (jsonType) {
            case "object" -> "a mapping";
            case "array" -> "a list";
            case "string" -> "a string";
            case "integer" -> "an integer";
            case "number" -> "a number";
            case "boolean" -> "true or false";
            case "null" -> "empty";
            default -> jsonType;
        };
    }

    /** YAML reads 12 and true as a number and a boolean; a field that only takes strings needs them quoted. */
    private static String quoteHint(JsonNode type, JsonNode value) {
        boolean onlyString = type.isString() && type.asString().equals("string");
        boolean scalar = value != null && (value.isNumber() || value.isBoolean());
        return onlyString && scalar ? "; write \"" + Shown.value(value.asString()) + "\"" : "";
    }
}
