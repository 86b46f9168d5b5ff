package dev.bpfgit.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.AnnotationKeyword;
import com.networknt.schema.ApplyDefaultsStrategy;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonNodePath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

    private final JsonSchema validator;
    private final JsonSchema defaulter;
    private final Map<String, JsonNode> documents = new ConcurrentHashMap<>();
    private final ObjectMapper mapper = new ObjectMapper();

    private PolicySchema(String root) {
        // errorMessage and patternErrorMessage are the editors' (vscode-json-languageservice) keywords for a
        // readable failure; declared so that the validator neither warns about them nor treats them as assertions
        JsonMetaSchema meta = JsonMetaSchema.builder(JsonMetaSchema.getV202012())
                .keyword(new AnnotationKeyword("errorMessage"))
                .keyword(new AnnotationKeyword("patternErrorMessage"))
                .build();
        JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
                builder -> builder.metaSchema(meta));
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().pathType(PathType.JSON_POINTER).build();
        validator = factory.getSchema(SchemaLocation.of(root), config);
        validator.initializeValidators();   // fail here, not on the first policy, if a schema is broken
        defaulter = validator.withConfig(SchemaValidatorsConfig.builder().pathType(PathType.JSON_POINTER)
                .applyDefaultsStrategy(new ApplyDefaultsStrategy(true, false, false)).build());
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

    Set<ValidationMessage> validate(JsonNode document) {
        return validator.validate(document);
    }

    /** A copy of a valid document with every absent property that has a schema {@code default} filled in. */
    JsonNode withDefaults(JsonNode document) {
        JsonNode copy = document.deepCopy();
        defaulter.walk(copy, false);
        return copy;
    }

    /**
     * The schema node at a location, after dropping {@code up} trailing segments, e.g. the object schema that
     * holds a failing {@code pattern} keyword is {@code node(location, 1)}.
     */
    Optional<JsonNode> node(SchemaLocation location, int up) {
        JsonNode node = document(location.getAbsoluteIri().toString());
        JsonNodePath fragment = location.getFragment();
        for (int i = 0; i < fragment.getNameCount() - up && node != null; i++) {
            Object element = fragment.getElement(i);
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
