package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;
import org.snakeyaml.engine.v2.api.ConstructNode;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.Anchor;
import org.snakeyaml.engine.v2.events.AliasEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.NodeEvent;
import org.snakeyaml.engine.v2.events.ScalarEvent;
import org.snakeyaml.engine.v2.exceptions.ComposerException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.parser.Parser;
import org.snakeyaml.engine.v2.resolver.ScalarResolver;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Converts the parser's events of one YAML document to a Jackson tree, recording the position of every node by
 * JSON pointer. Reports what JSON cannot hold or what YAML tolerates but a policy should not: duplicate keys
 * (the first wins), non-scalar keys, custom tags, recursive aliases.
 * <p>
 * It reads events, not snakeyaml's composed nodes: composing a 100,000-rule file built half a million nodes
 * with comment lists and marks only to walk them once, and took several times as long as parsing it. An
 * anchored node is kept as converted (its tree, the positions below it, its errors) and an alias is a copy of
 * it, which is what converting the composer's shared node again gave.
 */
final class YamlToJson {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** An anchored node as converted: copied wherever an alias names it. */
    private record Anchored(JsonNode json, Optional<String> scalar, Location at, Map<String, Location> locations,
                            String origin, List<PolicyError> errors, int height) {
    }

    private final String file;
    private final LoadSettings settings;
    /** Once: the schema makes a new resolver (a dozen regular expressions) on every call. */
    private final ScalarResolver resolver;
    private final Parser parser;
    private final int maxDepth;
    /** False on the first read: positions are recorded only when asked for ({@link LazyLocations}). */
    private final boolean positions;
    /**
     * False when any error makes the caller read the file again with snakeyaml (the fast reader's pass): no
     * JSON pointer is then made, as none is kept or shown (a string per node was a tenth of a 100k load).
     */
    private final boolean pointers;
    /** The resolver's tag of each plain value seen (a pure function of the value): a feed repeats its actions. */
    private final Map<String, Tag> plainTags = new HashMap<>();
    /** A mapping's keys so far, per nesting level: reused, as a mapping's keys are only needed while it is read. */
    private final List<List<Event>> keysAt = new ArrayList<>();
    private final List<List<String>> keyNamesAt = new ArrayList<>();
    private final Map<String, Location> locations = new HashMap<>();
    /** Pointers in the order they were recorded, so that an anchored node's are the ones since it began. */
    private final List<String> recorded = new ArrayList<>();
    private final List<PolicyError> errors = new ArrayList<>();
    private final Map<Anchor, Anchored> anchors = new HashMap<>();
    /** Anchors of the nodes being converted: an alias to one of them would contain itself. */
    private final Set<Anchor> open = new HashSet<>();
    private boolean tooDeep;
    /** Converting the value of a duplicate key: built to consume its events, then dropped with what it reported. */
    private int discarding;
    private int height;

    /** @param maxDepth nesting as converted, aliases expanded: also what bounds this class's recursion */
    YamlToJson(String file, LoadSettings settings, Parser parser, int maxDepth, boolean positions) {
        this(file, settings, parser, maxDepth, positions, true);
    }

    /** @param pointers false only when the caller drops the result on any error (no pointer is then made) */
    YamlToJson(String file, LoadSettings settings, Parser parser, int maxDepth, boolean positions, boolean pointers) {
        this.file = file;
        this.positions = positions;
        this.pointers = positions || pointers;
        this.settings = settings;
        this.resolver = settings.getSchema().getScalarResolver();
        this.parser = parser;
        this.maxDepth = maxDepth;
    }

    static Location location(String file, Mark mark) {
        return new Location(file, mark.getLine() + 1, mark.getColumn() + 1);
    }

    /**
     * The next document, after its DocumentStart event; empty for a document of nothing (a bare "---").
     *
     * @param later its positions, when this reader does not record them
     */
    Optional<YamlDocument> document(Supplier<Map<String, Location>> later) {
        Event start = parser.next();   // DocumentStart
        Event first = parser.peekEvent();
        if (first instanceof ScalarEvent s && s.getValue().isEmpty() && tag(s).equals(Tag.NULL)) {
            parser.next();
            parser.next();   // DocumentEnd
            return Optional.empty();
        }
        Location whole = first instanceof AliasEvent ? start(start) : start(first);
        JsonNode json = convert("", 0);
        parser.next();   // DocumentEnd
        Map<String, Location> at = positions ? java.util.Collections.unmodifiableMap(locations)
                : new LazyLocations(later);
        return Optional.of(new YamlDocument(file, json, at, whole, errors.isEmpty()));
    }

    List<PolicyError> errors() {
        return errors;
    }

    private Location start(Event event) {
        return event.getStartMark().map(m -> location(file, m)).orElse(new Location(file, 1, 1));
    }

    private void error(PolicyError e) {
        if (discarding == 0) {
            errors.add(e);
        }
    }

    private void locate(String pointer, Location at) {
        if (positions && discarding == 0 && locations.put(pointer, at) == null) {
            recorded.add(pointer);
        }
    }

    private JsonNode convert(String pointer, int depth) {
        Event event = parser.next();
        if (event instanceof AliasEvent alias) {
            return alias(alias, pointer, depth);
        }
        Optional<Anchor> anchor = ((NodeEvent) event).getAnchor();
        // a position is made only where one is kept: a valid 100,000-rule file without positions makes none
        Location at = positions || anchor.isPresent() ? start(event) : null;
        locate(pointer, at);
        if (event instanceof ScalarEvent s) {
            JsonNode json = scalar(s, pointer);
            height = 0;
            if (anchor.isPresent()) {   // not ifPresent: a capturing lambda per scalar
                anchors.put(anchor.get(), new Anchored(json, Optional.of(s.getValue()), at, Map.of("", at), pointer,
                        List.of(), 0));
            }
            return json;
        }
        if (depth >= maxDepth) {
            if (!tooDeep) {   // once: every alias of a deep node would say it again
                tooDeep = true;
                error(new PolicyError(start(event), "", "nested more than " + maxDepth
                        + " levels deep (counting what aliases expand to); a policy needs far fewer"));
            }
            skip();
            return JSON.nullNode();
        }
        int errorsBefore = errors.size(), recordedBefore = recorded.size() - 1;
        if (anchor.isPresent()) {
            anchors.remove(anchor.get());
            open.add(anchor.get());
        }
        JsonNode json;
        int below;
        if (event.getEventId() == Event.ID.MappingStart) {
            // a rule has 2 or 3 keys: a LinkedHashMap of them (its table and an entry per key) was most of the
            // tree of a 100k-rule file
            json = new ObjectNode(JSON, new SmallMap());
            below = mapping((ObjectNode) json, pointer, depth);
        } else {
            json = JSON.arrayNode();
            below = sequence((ArrayNode) json, pointer, depth);
        }
        height = below + 1;
        if (anchor.isPresent()) {
            open.remove(anchor.get());
            anchors.put(anchor.get(), new Anchored(json, Optional.empty(), at, below(pointer, recordedBefore), pointer,
                    List.copyOf(errors.subList(errorsBefore, errors.size())), height));
        }
        return json;
    }

    /** @return the height of the tallest value */
    private int mapping(ObjectNode object, String pointer, int depth) {
        // the keys so far are the object's own (merges come after): a duplicate is found by the object, and
        // only then is the first key's event looked for (a HashMap per mapping was a twentieth of a 100k load)
        while (keysAt.size() <= depth) {
            keysAt.add(new ArrayList<>(4));
            keyNamesAt.add(new ArrayList<>(4));
        }
        List<Event> keys = keysAt.get(depth);
        List<String> keyNames = keyNamesAt.get(depth);   // as they were read: an anchor may be redefined since
        keys.clear();
        keyNames.clear();
        Map<String, Event> firstKeys = null;
        List<Merged> merges = List.of();
        int tallest = 0;
        while (!parser.checkEvent(Event.ID.MappingEnd)) {
            Event keyEvent = parser.peekEvent();
            String name = keyName(keyEvent);
            if (name == null) {
                Location keyAt = start(keyEvent);
                boolean mapping = keyKind(keyEvent) == Event.ID.MappingStart;
                discard(() -> convert(pointer, depth + 1));
                error(new PolicyError(keyAt, pointer, "a key must be a plain value, not a "
                        + (mapping ? "mapping" : "list")));
                discard(() -> convert(pointer, depth + 1));
                continue;
            }
            // only "<<" or an explicit tag can be a merge: the resolver is not asked about every key
            if (keyEvent instanceof ScalarEvent k && (k.getTag().isPresent() || k.getValue().equals("<<"))
                    && tag(k).equals(Tag.MERGE)) {
                parser.next();
                if (merges.isEmpty()) {
                    merges = new ArrayList<>(1);
                }
                merges.add(merge(pointer, depth));
                tallest = Math.max(tallest, height);
                continue;
            }
            parser.next();   // the key
            String child = pointers ? JsonPointers.child(pointer, name) : pointer;
            Event firstEvent = null;
            if (object.has(name)) {
                if (firstKeys == null) {   // once, at the first duplicate: many duplicates stay linear
                    firstKeys = new HashMap<>();
                    for (int i = 0; i < keys.size(); i++) {
                        firstKeys.putIfAbsent(keyNames.get(i), keys.get(i));
                    }
                }
                firstEvent = firstKeys.get(name);
            }
            keys.add(keyEvent);
            keyNames.add(name);
            if (firstKeys != null) {
                firstKeys.putIfAbsent(name, keyEvent);
            }
            if (firstEvent != null) {
                Location keyAt = start(keyEvent), first = start(firstEvent);
                error(new PolicyError(keyAt, child, "duplicate key '" + Shown.value(name) + "' (first at "
                        + (first.line() == keyAt.line() ? "column " + first.column() : "line " + first.line()) + ")"));
                discard(() -> convert(child, depth + 1));
                continue;
            }
            object.set(name, convert(child, depth + 1));
            tallest = Math.max(tallest, height);
        }
        parser.next();
        // "<<: *defaults": keys written here win, then the merged mappings in order
        for (Merged m : merges) {
            m.json().properties().forEach(e -> {
                if (!object.has(e.getKey())) {
                    object.set(e.getKey(), e.getValue());
                    String from = JsonPointers.child("", e.getKey());
                    m.locations().forEach((p, l) -> {
                        if (p.equals(from) || p.startsWith(from + "/")) {
                            locate(pointer + p, l);
                        }
                    });
                }
            });
        }
        return tallest;
    }

    /** A mapping merged into another, its fields' positions relative to it. */
    private record Merged(ObjectNode json, Map<String, Location> locations) {
    }

    /**
     * The value of a {@code <<} key, as the composer merged it: a mapping, or a list of mappings (the first
     * one's keys win); converted where it is written, its positions then moved to the keys it adds.
     */
    private Merged merge(String pointer, int depth) {
        String at = JsonPointers.child(pointer, "<<");
        int from = recorded.size();
        Event first = parser.peekEvent();
        JsonNode value = convert(at, depth + 1);
        Map<String, Location> moved = new HashMap<>();
        for (String p : new ArrayList<>(recorded.subList(from, recorded.size()))) {
            moved.put(p.substring(at.length()), locations.remove(p));
        }
        recorded.subList(from, recorded.size()).clear();
        if (value instanceof ObjectNode object) {
            return new Merged(object, moved);
        }
        if (value instanceof ArrayNode list) {
            ObjectNode merged = JSON.objectNode();
            Map<String, Location> positions = new HashMap<>();
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof ObjectNode item)) {
                    throw notMergeable(first);
                }
                String prefix = "/" + i;
                for (var e : item.properties()) {
                    if (!merged.has(e.getKey())) {
                        merged.set(e.getKey(), e.getValue());
                        String key = JsonPointers.child("", e.getKey());
                        moved.forEach((p, l) -> {
                            if (p.equals(prefix + key) || p.startsWith(prefix + key + "/")) {
                                positions.put(p.substring(prefix.length()), l);
                            }
                        });
                    }
                }
            }
            return new Merged(merged, positions);
        }
        throw notMergeable(first);
    }

    private static ComposerException notMergeable(Event at) {
        return new ComposerException("expected a mapping or list of mappings for merging", at.getStartMark());
    }

    private int sequence(ArrayNode array, String pointer, int depth) {
        int tallest = 0;
        for (int i = 0; !parser.checkEvent(Event.ID.SequenceEnd); i++) {
            array.add(convert(pointers ? JsonPointers.child(pointer, i) : pointer, depth + 1));
            tallest = Math.max(tallest, height);
        }
        parser.next();
        return tallest;
    }

    /** A key's text if it is a scalar (or an alias of one), else null. */
    private String keyName(Event key) {
        if (key instanceof ScalarEvent s) {
            return s.getValue();
        }
        if (key instanceof AliasEvent a && anchors.get(a.getAlias()) instanceof Anchored stored) {
            return stored.scalar().orElse(null);
        }
        return null;
    }

    private Event.ID keyKind(Event key) {
        if (key instanceof AliasEvent a && anchors.get(a.getAlias()) instanceof Anchored stored) {
            return stored.json().isObject() ? Event.ID.MappingStart : Event.ID.SequenceStart;
        }
        return key.getEventId();
    }

    private void discard(Runnable convert) {
        discarding++;
        try {
            convert.run();
        } finally {
            discarding--;
        }
    }

    /** Consumes a node's events without converting it (below the nesting limit). */
    private void skip() {
        for (int level = 1; level > 0; ) {
            switch (parser.next().getEventId()) {
                case MappingStart, SequenceStart -> level++;
                case MappingEnd, SequenceEnd -> level--;
                default -> {
                }
            }
        }
    }

    private JsonNode alias(AliasEvent alias, String pointer, int depth) {
        Anchor name = alias.getAlias();
        Location at = start(alias);
        if (open.contains(name)) {
            locate(pointer, at);
            error(new PolicyError(at, pointer, "an alias may not refer to a node that contains it"));
            height = 0;
            return JSON.nullNode();
        }
        Anchored stored = anchors.get(name);
        if (stored == null) {
            throw new ComposerException("found undefined alias " + name, alias.getStartMark());
        }
        height = stored.height();
        if (depth + stored.height() >= maxDepth && stored.height() > 0) {
            locate(pointer, stored.at());
            if (!tooDeep) {
                tooDeep = true;
                error(new PolicyError(stored.at(), "", "nested more than " + maxDepth
                        + " levels deep (counting what aliases expand to); a policy needs far fewer"));
            }
            return JSON.nullNode();
        }
        stored.locations().forEach((p, l) -> locate(pointer + p, l));
        for (PolicyError e : stored.errors()) {
            error(!e.pointer().startsWith(stored.origin()) ? e : new PolicyError(e.location(),
                    pointer + e.pointer().substring(stored.origin().length()), e.message()));
        }
        return stored.json().deepCopy();
    }

    /** The positions recorded since {@code from} (the node at {@code pointer} and below), relative to it. */
    private Map<String, Location> below(String pointer, int from) {
        Map<String, Location> out = new HashMap<>();
        for (String p : recorded.subList(Math.max(from, 0), recorded.size())) {
            if (p.startsWith(pointer)) {
                out.put(p.substring(pointer.length()), locations.get(p));
            }
        }
        return out;
    }

    private Tag tag(ScalarEvent s) {
        Optional<String> tag = s.getTag();
        if (tag.isEmpty() || tag.get().equals("!")) {
            return s.getImplicit().canOmitTagInPlainScalar() ? plainTag(s.getValue())
                    : resolve(resolver, s.getValue(), false);
        }
        return new Tag(tag.get());
    }

    /**
     * The core schema's resolution, without its regular expressions for a plain value with a '/' or ':' in
     * it (every prefix): none of the core schema's implicit types (null, bool, int, float, merge) has either
     * character, so such a value is a string ({@code YamlToJsonTest} checks this against the resolver).
     */
    static Tag resolve(ScalarResolver resolver, String value, boolean implicit) {
        if (implicit && (value.indexOf('/') >= 0 || value.indexOf(':') >= 0)) {
            return Tag.STR;
        }
        return resolver.resolve(value, implicit);
    }

    /** The resolver's tag of a plain value, remembered for short values (a feed's actions, booleans, numbers). */
    private Tag plainTag(String value) {
        if (value.length() > 32 || value.indexOf('/') >= 0 || value.indexOf(':') >= 0) {
            // a prefix is a string (resolve says so without the resolver): not hashed and looked up first, as
            // 100,000 prefixes were, each new to the map
            return resolve(resolver, value, true);
        }
        Tag tag = plainTags.get(value);
        if (tag == null) {
            tag = resolve(resolver, value, true);
            if (plainTags.size() < 4096) {
                plainTags.put(value, tag);
            }
        }
        return tag;
    }

    /** The last plain word's string and node ({@link #word}). */
    private String lastWord;
    private JsonNode lastWordNode;

    /**
     * A string's node, the same node as the last time for the same word: FastYamlParser gives a repeated short word
     * (a feed's action) as the same string, and a StringNode cannot change, so one node serves every rule that
     * writes it (a node per rule was 16 bytes of a 100k-rule file's tree each). Only words (a letter first) are
     * remembered: a prefix between two actions would otherwise replace it each time.
     */
    private JsonNode word(String text) {
        if (text == lastWord) {
            return lastWordNode;
        }
        JsonNode node = JSON.stringNode(text);
        if (!text.isEmpty() && (text.charAt(0) | 0x20) >= 'a' && (text.charAt(0) | 0x20) <= 'z') {
            lastWord = text;
            lastWordNode = node;
        }
        return node;
    }

    private JsonNode scalar(ScalarEvent event, String pointer) {
        Tag tag = tag(event);
        String text = event.getValue();
        if (tag.equals(Tag.STR)) {
            return word(text);
        }
        ConstructNode constructor = settings.getSchema().getSchemaTagConstructors().get(tag);
        if (constructor == null || !(tag.equals(Tag.NULL) || tag.equals(Tag.BOOL) || tag.equals(Tag.INT)
                || tag.equals(Tag.FLOAT))) {
            error(new PolicyError(start(event), pointer, "unsupported YAML tag " + shortTag(tag)
                    + "; remove it (quote the value to make it a string)"));
            return JSON.stringNode(text);
        }
        boolean number = tag.equals(Tag.INT) || tag.equals(Tag.FLOAT);
        if (number && text.length() > YamlReader.MAX_NUMBER_LENGTH) {
            error(new PolicyError(start(event), pointer, "a number of " + text.length()
                    + " characters; no field takes more than " + YamlReader.MAX_NUMBER_LENGTH));
            return JSON.nullNode();
        }
        // an explicit tag on a value that is not one ("!!bool maybe", "!!float abc") is not constructed: the
        // constructors return null or throw NumberFormatException; "!!float 1" is a float all the same
        Tag plain = plainTag(text);
        boolean fits = plain.equals(tag) || (tag.equals(Tag.FLOAT) && plain.equals(Tag.INT));
        Object value;
        try {
            if (!fits) {
                throw new IllegalArgumentException();
            }
            value = constructor.construct(new ScalarNode(tag, true, text, event.getScalarStyle(),
                    event.getStartMark(), event.getEndMark()));
        } catch (YamlEngineException | IllegalArgumentException e) {
            error(new PolicyError(start(event), pointer, "invalid " + shortTag(tag) + " '" + Shown.value(text) + "'"));
            return JSON.nullNode();
        }
        // instanceof, not a pattern switch: each such switch is a class the JVM generates on its first run
        // (SwitchBootstraps), outside the AOT cache, on the parse of a cold plan or apply
        if (value == null) {
            return JSON.nullNode();
        } else if (value instanceof Boolean b) {
            return JSON.booleanNode(b);
        } else if (value instanceof Integer i) {
            return JSON.numberNode(i);
        } else if (value instanceof Long l) {
            return JSON.numberNode(l);
        } else if (value instanceof BigInteger b) {
            return JSON.numberNode(b);
        } else if (value instanceof Double d) {
            return JSON.numberNode(d);
        }
        return JSON.stringNode(text);
    }

    private static String shortTag(Tag tag) {
        String v = tag.getValue();
        return Shown.value(v.startsWith(Tag.PREFIX) ? "!!" + v.substring(Tag.PREFIX.length()) : v);
    }
}
