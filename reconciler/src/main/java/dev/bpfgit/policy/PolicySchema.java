package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.core.JsonPointer;
import tools.jackson.core.JacksonException;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.AnnotationKeyword;
import com.networknt.schema.path.NodePath;
import com.networknt.schema.path.PathType;

import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The JSON Schemas of {@code schema/} (shipped in the jar), compiled once. Besides validating, it lets the
 * message rewriter read the keywords around a failing one (a pattern's {@code patternErrorMessage}, the
 * {@code if} of a failing {@code then}), so the schema stays the one place the API is described.
 */
final class PolicySchema {
    static final String ROOT = "classpath:schema/policy.schema.json";
    static final String INVENTORY = "classpath:schema/inventory.schema.json";

    private static final PolicySchema INSTANCE = new PolicySchema(ROOT);

    /** The inventory of {@code plan --hosts}: read rarely, so compiled on first use. */
    private static final class Inventory {
        static final PolicySchema INSTANCE = new PolicySchema(INVENTORY);
    }

    private final String root;
    private final Schema validator;
    private final Map<String, JsonNode> documents = new ConcurrentHashMap<>();
    private final ObjectMapper mapper = new ObjectMapper();

    private PolicySchema(String root) {
        // errorMessage and patternErrorMessage are the editors' (vscode-json-languageservice) keywords for a
        // readable failure; declared so that the validator neither warns about them nor treats them as assertions
        Dialect dialect = Dialect.builder(Dialects.getDraft202012())
                .keyword(new AnnotationKeyword("errorMessage"))
                .keyword(new AnnotationKeyword("patternErrorMessage"))
                .build();
        SchemaRegistryConfig config = SchemaRegistryConfig.builder().pathType(PathType.JSON_POINTER).build();
        SchemaRegistry registry = SchemaRegistry.withDefaultDialect(dialect,
                builder -> builder.schemaRegistryConfig(config));
        validator = registry.getSchema(SchemaLocation.of(root));
        validator.initializeValidators();   // fail here, not on the first policy, if a schema is broken
        this.root = root;
    }

    static PolicySchema get() {
        return INSTANCE;
    }

    private static final Map<String, PolicySchema> OTHERS = new ConcurrentHashMap<>();

    /** The policy schema rooted at {@code root} (e.g. a test's registry of kinds), compiled once. */
    static PolicySchema of(String root) {
        return root.equals(ROOT) ? INSTANCE : OTHERS.computeIfAbsent(root, PolicySchema::new);
    }

    static PolicySchema inventory() {
        return Inventory.INSTANCE;
    }

    List<SchemaViolation> validate(JsonNode document) {
        return violations(validator.validate(document), document);
    }

    private static List<SchemaViolation> violations(List<Error> errors, JsonNode document) {
        List<SchemaViolation> out = new ArrayList<>(errors.size());
        for (Error e : errors) {
            String pointer = e.getInstanceLocation().toString();
            JsonNode instance = document.at(JsonPointer.compile(pointer));
            NodePath fragment = e.getSchemaLocation().getFragment();
            List<Object> path = new ArrayList<>(fragment.getNameCount());
            for (int i = 0; i < fragment.getNameCount(); i++) {
                path.add(fragment.getElement(i));
            }
            out.add(new SchemaViolation(e.getKeyword(), e.getProperty(), pointer,
                    instance.isMissingNode() ? null : instance,
                    e.getSchemaLocation().getAbsoluteIri().toString(), List.copyOf(path), e.getMessage()));
        }
        return List.copyOf(out);
    }

    /** Arrays shorter than this go through the validator item by item: the fast path is for feeds. */
    static final int BULK_ITEMS = 64;

    /**
     * {@link #validate(JsonNode)}, with the items of a kind's large array checked by its
     * {@link PolicyKind.ItemCheck} instead of the validator when every item passes it (the rest of the
     * document still goes through the validator). When one item does not pass, or the kind's schema is not
     * the one the check was written against, the whole document goes through the validator: the result is
     * the same either way, only the time differs.
     */
    List<SchemaViolation> validate(JsonNode document, Kinds kinds) {
        Optional<JsonNode> rest = withoutBulkItems(document, kinds);
        if (rest.isPresent()) {
            List<SchemaViolation> messages = validate(rest.get());
            if (messages.isEmpty()) {
                return messages;
            }
        }
        return validate(document);
    }

    /** The document with the kind's array emptied, if every item passed the kind's check. */
    private Optional<JsonNode> withoutBulkItems(JsonNode document, Kinds kinds) {
        if (!(document instanceof ObjectNode top) || !(top.get("kind") instanceof JsonNode kind) || !kind.isString()
                || !(top.get("spec") instanceof ObjectNode spec)) {
            return Optional.empty();
        }
        Optional<PolicyKind> k = kinds.find(kind.asString());
        // no lambdas or method references on this path: a cold plan or apply of a large directory is the first
        // to run it, and each would be a class generated then, outside the AOT cache (the examples it is
        // trained on have no bulk array)
        Optional<PolicyKind.ItemCheck> check = k.isPresent() ? k.get().itemCheck() : Optional.empty();
        if (check.isEmpty() || !(spec.get(check.get().array()) instanceof ArrayNode items)
                || bulk(items) < BULK_ITEMS || !check.get().fingerprint().equals(fingerprintOnce(k.get().name()))) {
            return Optional.empty();
        }
        for (JsonNode item : items) {
            if (!check.get().valid().test(spec, item)) {
                return Optional.empty();
            }
        }
        ObjectNode restSpec = mapper.createObjectNode().setAll(spec);
        restSpec.set(check.get().array(), mapper.createArrayNode());
        ObjectNode rest = mapper.createObjectNode().setAll(top);
        rest.set("spec", restSpec);
        return Optional.of(rest);
    }

    private final Map<String, String> fingerprints = new ConcurrentHashMap<>();

    /**
     * The items and the elements of the arrays directly in them, up to {@link #BULK_ITEMS}: one rule with
     * 100,000 {@code prefixes} is as much a feed as 100,000 rules.
     */
    private static int bulk(ArrayNode items) {
        int n = items.size();
        for (int i = 0; i < items.size() && n < BULK_ITEMS; i++) {
            if (items.get(i) instanceof ObjectNode item) {
                for (JsonNode value : item) {
                    n += value.isArray() ? value.size() : 0;
                }
            }
        }
        return n;
    }

    /**
     * Fills in, in place, every absent property of a valid document that has a {@code default} in the
     * envelope's schema or in its kind's ({@code kindSchema}, e.g. {@code trafficpolicy.schema.json}) and
     * only there: the validator's own defaults walk went through every kind's branch of the root schema and
     * gave a document the defaults of other kinds. Followed: {@code properties}, {@code items},
     * {@code $ref} and {@code allOf}; a default under a condition ({@code if}/{@code then}, {@code oneOf})
     * is not applied. Arrays whose item schema has no default anywhere (a TrafficPolicy's rules) are not
     * walked.
     */
    void applyDefaults(ObjectNode document, String kind) {
        fill(document(root), root, document, 0);
        if (document.get("spec") instanceof ObjectNode spec) {
            String kindIri = kindSchema(kind);
            fill(document(kindIri), kindIri, spec, 0);
        }
    }

    /**
     * The schema the root gives the spec of a kind: the {@code $ref} of {@code spec} in the {@code then} of the
     * root's {@code if kind is <kind>}.
     */
    private String kindSchema(String kind) {
        for (JsonNode branch : document(root).path("allOf")) {
            if (branch.at("/if/properties/kind/const").asString("").equals(kind)
                    && branch.at("/then/properties/spec/$ref") instanceof JsonNode ref && ref.isString()) {
                return ref.asString().contains(":") ? ref.asString() : resolve(ref.asString(), root);
            }
        }
        throw new IllegalStateException("the root schema " + root + " does not dispatch kind " + kind);
    }

    private void fill(JsonNode schema, String base, JsonNode instance, int depth) {
        if (schema == null || !schema.isObject() || depth > 64) {
            return;
        }
        if (schema.get("$ref") instanceof JsonNode ref && ref.isString()) {
            Resolved r = ref(ref.asString(), base);
            fill(r.node(), r.base(), instance, depth + 1);
        }
        for (JsonNode sub : schema.path("allOf")) {
            fill(sub, base, instance, depth + 1);
        }
        if (instance instanceof ObjectNode object) {
            for (var p : schema.path("properties").properties()) {
                JsonNode value = object.get(p.getKey());
                if (value == null) {
                    if (p.getValue().has("default")) {
                        object.set(p.getKey(), p.getValue().get("default").deepCopy());
                    }
                } else {
                    fill(p.getValue(), base, value, depth + 1);
                }
            }
        } else if (instance instanceof ArrayNode array && schema.has("items")
                && hasDefaults(schema.get("items"), base, 0)) {
            for (JsonNode item : array) {
                fill(schema.get("items"), base, item, depth + 1);
            }
        }
    }

    /** Whether a default is anywhere below this schema (through $ref); memoized per schema node. */
    private boolean hasDefaults(JsonNode schema, String base, int depth) {
        if (!schema.isContainer() || depth > 64) {
            return false;
        }
        Boolean known = withDefaults.get(schema);
        if (known != null) {
            return known;
        }
        boolean found = schema.has("default");
        if (!found && schema.get("$ref") instanceof JsonNode ref && ref.isString()) {
            Resolved r = ref(ref.asString(), base);
            found = r.node() != null && hasDefaults(r.node(), r.base(), depth + 1);
        }
        for (var it = schema.iterator(); !found && it.hasNext(); ) {
            found = hasDefaults(it.next(), base, depth + 1);
        }
        withDefaults.put(schema, found);
        return found;
    }

    private final Map<JsonNode, Boolean> withDefaults = java.util.Collections.synchronizedMap(new java.util.IdentityHashMap<>());

    private record Resolved(JsonNode node, String base) {
    }

    /** A {@code $ref} such as {@code #/$defs/rule} or {@code common.schema.json#/$defs/prefix}, from {@code base}. */
    private Resolved ref(String ref, String base) {
        int hash = ref.indexOf('#');
        String file = hash < 0 ? ref : ref.substring(0, hash);
        String iri = file.isEmpty() ? base : resolve(file, base);
        JsonNode node = document(iri);
        if (hash >= 0 && hash + 1 < ref.length()) {
            node = node.at(ref.substring(hash + 1));
        }
        return new Resolved(node.isMissingNode() ? null : node, iri);
    }

    /** A schema file named relative to another one: both are in {@code schema/} on the classpath. */
    private static String resolve(String file, String base) {
        return base.substring(0, base.lastIndexOf('/') + 1) + file;
    }

    /** {@link #fingerprint} once per kind (two threads that ask at once may both compute it: the same value). */
    private String fingerprintOnce(String kind) {
        String known = fingerprints.get(kind);
        if (known == null) {
            known = fingerprint(kind);
            fingerprints.put(kind, known);
        }
        return known;
    }

    /**
     * A short digest of a kind's schema file and of {@code common.schema.json}, without their descriptions:
     * what a {@link dev.bpfgit.kind.PolicyKind.ItemCheck} was written against.
     */
    String fingerprint(String kind) {
        ObjectNode both = mapper.createObjectNode();
        both.set("kind", withoutDescriptions(document(kindSchema(kind)).deepCopy()));
        both.set("common", withoutDescriptions(document(resolve("common.schema.json", root)).deepCopy()));
        return PolicyReader.digest(both).substring(0, 16);
    }

    private static JsonNode withoutDescriptions(JsonNode node) {
        if (node instanceof ObjectNode o) {
            o.remove("description");
            for (JsonNode child : o) {
                withoutDescriptions(child);
            }
        } else if (node instanceof ArrayNode a) {
            for (JsonNode child : a) {
                withoutDescriptions(child);
            }
        }
        return node;
    }

    /**
     * The schema node of a failing keyword, after dropping {@code up} trailing segments of its place, e.g. the
     * object schema that holds a failing {@code pattern} keyword is {@code node(v, 1)}.
     */
    Optional<JsonNode> node(SchemaViolation v, int up) {
        JsonNode node = document(v.schemaIri());
        List<Object> fragment = v.schemaPath();
        for (int i = 0; i < fragment.size() - up && node != null; i++) {
            Object element = fragment.get(i);
            node = element instanceof Integer index ? node.get(index) : node.get(element.toString());
        }
        return Optional.ofNullable(node).filter(n -> !n.isMissingNode());
    }

    private JsonNode document(String iri) {
        return documents.computeIfAbsent(iri, key -> {
            String resource = key.replaceFirst("^classpath:/*", "");
            try (InputStream in = PolicySchema.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("schema " + key + " is not on the classpath");
                }
                return mapper.readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException("read schema " + key, e);
            }
        });
    }
}
