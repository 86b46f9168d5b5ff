package dev.bpfgit.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Converts one composed YAML document to a Jackson tree, recording the position of every node by JSON pointer.
 * Reports what JSON cannot hold or what YAML tolerates but a policy should not: duplicate keys (the first
 * wins), non-scalar keys, custom tags, recursive aliases.
 */
final class YamlToJson {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private final String file;
    private final LoadSettings settings;
    private final int maxDepth;
    private final Map<String, Location> locations = new HashMap<>();
    private final List<PolicyError> errors = new ArrayList<>();
    /** Nodes being converted, to stop an alias that refers to its own ancestor. */
    private final Set<Node> path = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean tooDeep;

    /** @param maxDepth nesting as converted, aliases expanded: also what bounds this class's recursion */
    YamlToJson(String file, LoadSettings settings, int maxDepth) {
        this.file = file;
        this.settings = settings;
        this.maxDepth = maxDepth;
    }

    static Location location(String file, Mark mark) {
        return new Location(file, mark.getLine() + 1, mark.getColumn() + 1);
    }

    YamlDocument document(Node root) {
        JsonNode json = convert(root, "", 0);
        return new YamlDocument(file, json, locations, locations.get(""), errors.isEmpty());
    }

    List<PolicyError> errors() {
        return errors;
    }

    private Location start(Node node) {
        return node.getStartMark().map(m -> location(file, m)).orElse(new Location(file, 1, 1));
    }

    private JsonNode convert(Node node, String pointer, int depth) {
        locations.put(pointer, start(node));
        if (depth >= maxDepth && !(node instanceof ScalarNode)) {
            if (!tooDeep) {   // once: every alias of a deep node would say it again
                tooDeep = true;
                errors.add(new PolicyError(start(node), "", "nested more than " + maxDepth
                        + " levels deep (counting what aliases expand to); a policy needs far fewer"));
            }
            return JSON.nullNode();
        }
        if (!path.add(node)) {
            errors.add(new PolicyError(start(node), pointer, "an alias may not refer to a node that contains it"));
            return JSON.nullNode();
        }
        try {
            return switch (node) {
                case MappingNode m -> mapping(m, pointer, depth);
                case SequenceNode s -> sequence(s, pointer, depth);
                case ScalarNode s -> scalar(s, pointer);
                default -> throw new IllegalStateException("unknown YAML node " + node.getNodeType());
            };
        } finally {
            path.remove(node);
        }
    }

    private ObjectNode mapping(MappingNode mapping, String pointer, int depth) {
        ObjectNode object = JSON.objectNode();
        Map<String, Node> seen = new HashMap<>();
        for (NodeTuple entry : mapping.getValue()) {
            Node keyNode = entry.getKeyNode();
            if (!(keyNode instanceof ScalarNode key)) {
                errors.add(new PolicyError(start(keyNode), pointer, "a key must be a plain value, not a "
                        + (keyNode instanceof MappingNode ? "mapping" : "list")));
                continue;
            }
            String name = key.getValue();
            String child = JsonPointers.child(pointer, name);
            Node first = seen.putIfAbsent(name, keyNode);
            if (first != null) {
                Location a = start(first), b = start(keyNode);
                errors.add(new PolicyError(b, child, "duplicate key '" + Shown.value(name) + "' (first at "
                        + (a.line() == b.line() ? "column " + a.column() : "line " + a.line()) + ")"));
                continue;
            }
            object.set(name, convert(entry.getValueNode(), child, depth + 1));
        }
        return object;
    }

    private ArrayNode sequence(SequenceNode sequence, String pointer, int depth) {
        ArrayNode array = JSON.arrayNode();
        List<Node> items = sequence.getValue();
        for (int i = 0; i < items.size(); i++) {
            array.add(convert(items.get(i), JsonPointers.child(pointer, i), depth + 1));
        }
        return array;
    }

    private JsonNode scalar(ScalarNode scalar, String pointer) {
        Tag tag = scalar.getTag();
        if (tag.equals(Tag.STR)) {
            return JSON.textNode(scalar.getValue());
        }
        ConstructNode constructor = settings.getSchema().getSchemaTagConstructors().get(tag);
        if (constructor == null || !(tag.equals(Tag.NULL) || tag.equals(Tag.BOOL) || tag.equals(Tag.INT)
                || tag.equals(Tag.FLOAT))) {
            errors.add(new PolicyError(start(scalar), pointer, "unsupported YAML tag " + shortTag(tag)
                    + "; remove it (quote the value to make it a string)"));
            return JSON.textNode(scalar.getValue());
        }
        boolean number = tag.equals(Tag.INT) || tag.equals(Tag.FLOAT);
        if (number && scalar.getValue().length() > YamlReader.MAX_NUMBER_LENGTH) {
            errors.add(new PolicyError(start(scalar), pointer, "a number of " + scalar.getValue().length()
                    + " characters; no field takes more than " + YamlReader.MAX_NUMBER_LENGTH));
            return JSON.nullNode();
        }
        // an explicit tag on a value that is not one ("!!bool maybe", "!!float abc") is not constructed: the
        // constructors return null or throw NumberFormatException; "!!float 1" is a float all the same
        Tag plain = settings.getSchema().getScalarResolver().resolve(scalar.getValue(), true);
        boolean fits = plain.equals(tag) || (tag.equals(Tag.FLOAT) && plain.equals(Tag.INT));
        Object value;
        try {
            if (!fits) {
                throw new IllegalArgumentException();
            }
            value = constructor.construct(scalar);
        } catch (YamlEngineException | IllegalArgumentException e) {
            errors.add(new PolicyError(start(scalar), pointer, "invalid " + shortTag(tag) + " '"
                    + Shown.value(scalar.getValue()) + "'"));
            return JSON.nullNode();
        }
        return switch (value) {
            case null -> JSON.nullNode();
            case Boolean b -> JSON.booleanNode(b);
            case Integer i -> JSON.numberNode(i);
            case Long l -> JSON.numberNode(l);
            case BigInteger b -> JSON.numberNode(b);
            case Double d -> JSON.numberNode(d);
            default -> JSON.textNode(scalar.getValue());
        };
    }

    private static String shortTag(Tag tag) {
        String v = tag.getValue();
        return Shown.value(v.startsWith(Tag.PREFIX) ? "!!" + v.substring(Tag.PREFIX.length()) : v);
    }
}
