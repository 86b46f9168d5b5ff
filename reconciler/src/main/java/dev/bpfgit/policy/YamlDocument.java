package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;

import java.util.Map;

/**
 * One YAML document of a policy file, converted to JSON for schema validation, with where each node came from.
 *
 * @param root      the document as JSON
 * @param locations JSON pointer to the start of that node in the file ({@code ""} is the document itself)
 * @param start     where the document starts
 * @param clean     false when converting it found errors (a duplicate key, a custom tag): it is still
 *                  validated, to report everything at once, but never becomes a policy
 */
record YamlDocument(String file, JsonNode root, Map<String, Location> locations, Location start, boolean clean) {

    /** @param locations read-only, and not copied: 400,000 entries for 100,000 rules */
    YamlDocument {
    }

    /** Where a pointer is, falling back to the nearest enclosing node that exists (a missing field's object). */
    Location at(String pointer) {
        return Policy.nearest(locations, pointer, start);
    }

    PolicyError error(String pointer, String message) {
        return new PolicyError(at(pointer), pointer, message);
    }
}
