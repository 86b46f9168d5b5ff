package dev.bpfgit.policy;

import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.Writer;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * A tree written as {@code ObjectMapper} with {@code WRITE_PROPERTIES_SORTED} writes it, byte for byte, without
 * its {@code TreeMap} copy of every object (a tenth of what a 100,000-rule load allocated): objects and arrays
 * are walked here with the entries sorted in a reused array, and every value is written by Jackson's own
 * {@code writeTree}, so escapes and numbers are Jackson's. {@code DigestTest} compares both on random trees.
 */
final class CanonicalJson {
    private final ObjectMapper mapper;
    /** Keys of the object being written, per nesting level. */
    @SuppressWarnings("unchecked")
    private Map.Entry<String, JsonNode>[][] keys = new Map.Entry[8][];

    @SuppressWarnings("unchecked")
    private static Map.Entry<String, JsonNode>[] newEntries(int n) {
        return new Map.Entry[n];
    }

    CanonicalJson(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** Writes {@code tree} to {@code out}, and closes {@code out} as {@code ObjectMapper.writeValue} does. */
    void write(Writer out, JsonNode tree) throws IOException {
        try (JsonGenerator g = mapper.createGenerator(out)) {
            write(g, tree, 0);
        }
    }

    private void write(JsonGenerator g, JsonNode node, int depth) throws IOException {
        if (node instanceof ObjectNode object) {
            int n = object.size();
            if (depth == keys.length) {
                keys = Arrays.copyOf(keys, depth * 2);
            }
            Map.Entry<String, JsonNode>[] names = keys[depth];
            if (names == null || names.length < n) {
                names = newEntries(Math.max(n, 4));
                keys[depth] = names;
            }
            Iterator<Map.Entry<String, JsonNode>> it = object.properties().iterator();
            for (int i = 0; i < n; i++) {
                names[i] = it.next();
            }
            Arrays.sort(names, 0, n, Map.Entry.comparingByKey());   // String's order: a TreeMap's
            g.writeStartObject(object);
            for (int i = 0; i < n; i++) {
                Map.Entry<String, JsonNode> e = names[i];
                names[i] = null;
                g.writeName(e.getKey());
                write(g, e.getValue(), depth + 1);
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
            g.writeTree(node);
        }
    }
}
