package dev.bpfgit.policy;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Writer;
import java.util.Arrays;
import java.util.Iterator;

/**
 * A tree written as {@code ObjectMapper} with {@code WRITE_PROPERTIES_SORTED} writes it, byte for byte, without
 * its {@code TreeMap} copy of every object (a tenth of what a 100,000-rule load allocated): objects and arrays
 * are walked here with the keys sorted in a reused array, and every value is written by Jackson's own
 * {@code serialize}, so escapes and numbers are Jackson's. {@code DigestTest} compares both on random trees.
 */
final class CanonicalJson {
    private final ObjectMapper mapper;
    private final SerializerProvider provider;
    /** Keys of the object being written, per nesting level. */
    private String[][] keys = new String[8][];

    CanonicalJson(ObjectMapper mapper) {
        this.mapper = mapper;
        this.provider = mapper.getSerializerProviderInstance();
    }

    /** Writes {@code tree} to {@code out}, and closes {@code out} as {@code ObjectMapper.writeValue} does. */
    void write(Writer out, JsonNode tree) throws IOException {
        try (JsonGenerator g = mapper.getFactory().createGenerator(out)) {
            write(g, tree, 0);
        }
    }

    private void write(JsonGenerator g, JsonNode node, int depth) throws IOException {
        if (node instanceof ObjectNode object) {
            int n = object.size();
            if (depth == keys.length) {
                keys = Arrays.copyOf(keys, depth * 2);
            }
            String[] names = keys[depth];
            if (names == null || names.length < n) {
                names = new String[Math.max(n, 4)];
                keys[depth] = names;
            }
            Iterator<String> it = object.fieldNames();
            for (int i = 0; i < n; i++) {
                names[i] = it.next();
            }
            Arrays.sort(names, 0, n);   // String's order: a TreeMap's
            g.writeStartObject(object);
            for (int i = 0; i < n; i++) {
                String name = names[i];
                names[i] = null;
                g.writeFieldName(name);
                write(g, object.get(name), depth + 1);
            }
            g.writeEndObject();
        } else if (node instanceof ArrayNode array) {
            int n = array.size();
            g.writeStartArray(array, n);
            for (int i = 0; i < n; i++) {
                write(g, array.get(i), depth + 1);
            }
            g.writeEndArray();
        } else {
            node.serialize(g, provider);
        }
    }
}
