package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The schemas are read by editors too: every field they declare must explain itself, and resolve offline. */
class SchemaFilesTest {
    private static final Path SCHEMA = Path.of("../schema");
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void everyPropertyHasADescription() throws IOException {
        Map<String, JsonNode> files = load();
        List<String> missing = new ArrayList<>();
        files.forEach((name, schema) -> walk(name, "", schema, files, missing));
        assertEquals(List.of(), missing);
    }

    @Test
    void idsAndReferencesAreRelativeSoTheFilesResolveFromAnyDirectory() throws IOException {
        for (Map.Entry<String, JsonNode> e : load().entrySet()) {
            assertEquals(e.getKey(), e.getValue().path("$id").asString(), "$id of " + e.getKey());
            assertEquals("https://json-schema.org/draft/2020-12/schema", e.getValue().path("$schema").asString());
            assertTrue(e.getValue().findValuesAsString("$ref").stream().noneMatch(r -> r.contains("://")), e.getKey());
        }
    }

    private Map<String, JsonNode> load() throws IOException {
        Map<String, JsonNode> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(SCHEMA)) {
            for (Path p : list.filter(p -> p.toString().endsWith(".schema.json")).toList()) {
                files.put(p.getFileName().toString(), json.readTree(p.toFile()));
            }
        }
        assertTrue(files.containsKey("policy.schema.json"), files.keySet().toString());
        return files;
    }

    /** Properties under if/then/else/not only restate conditions; the ones that declare a field must describe it. */
    private static void walk(String file, String at, JsonNode node, Map<String, JsonNode> files, List<String> missing) {
        node.properties().forEach(e -> {
            String key = e.getKey();
            if (List.of("if", "then", "else", "not").contains(key) || !e.getValue().isContainer()) {
                return;
            }
            if (key.equals("properties")) {
                e.getValue().properties().forEach(p -> {
                    if (!described(p.getValue(), file, files)) {
                        missing.add(file + "#" + at + "/properties/" + p.getKey());
                    }
                });
            }
            if (e.getValue().isObject()) {
                walk(file, at + "/" + key, e.getValue(), files, missing);
            } else {
                for (int i = 0; i < e.getValue().size(); i++) {
                    walk(file, at + "/" + key + "/" + i, e.getValue().get(i), files, missing);
                }
            }
        });
    }

    private static boolean described(JsonNode property, String file, Map<String, JsonNode> files) {
        if (property.has("description")) {
            return true;
        }
        String ref = property.path("$ref").asString("");
        if (ref.isEmpty()) {
            return false;
        }
        String target = ref.startsWith("#") ? file : ref.substring(0, Math.max(0, ref.indexOf('#')));
        String fragment = ref.contains("#") ? ref.substring(ref.indexOf('#') + 1) : "";
        JsonNode node = files.get(target.isEmpty() ? ref : target);
        return node != null && node.at(fragment).has("description");
    }
}
