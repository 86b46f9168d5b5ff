package dev.bpfgit.render;

import tools.jackson.core.JsonParser;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.MissingNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.SavedEntryChanges;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A plan file ({@code apply --plan FILE}) read as it streams: the document as a tree, except each step's
 * {@code entries}, which are checked one item at a time and packed ({@link SavedEntryChanges}) while they are
 * read; the tree keeps an empty array in their place.
 *
 * <p>It exists for memory: a saved first plan of the geo-routing table is 1.16M entries, and as one String,
 * then a tree of a node per field, then an {@link dev.bpfgit.diff.EntryChange} each, it took gigabytes. The
 * check is as strict as the validator on the whole document: the tree goes to the validator
 * ({@code $defs/plan}), and each entry to {@link PlanEntryCheck}, or, when that is not sure, to the validator
 * ({@code $defs/entry}), whose complaints carry the entry's place in the plan and its line in the file.
 */
public final class SavedPlan {
    /** Reads a value at a time from the document's parser: what follows it is the rest of the document. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();
    /** Entries the validator words complaints for; past that they are counted. */
    static final int MAX_ENTRY_COMPLAINTS = 1000;

    private final JsonNode tree;
    private final Map<JsonNode, SavedEntryChanges> entries = new IdentityHashMap<>();
    private final List<PlanSchema.Complaint> entryComplaints = new ArrayList<>();
    private long uncheckedEntries;
    private final PlanEntryCheck check = PlanEntryCheck.get();

    private SavedPlan(JsonParser p) throws IOException {
        JsonToken first = p.nextToken();
        tree = first == null ? MissingNode.getInstance() : value(p, Where.ROOT, "");
    }

    /** @throws IllegalArgumentException when the text is not JSON (with the line and column Jackson names) */
    public static SavedPlan read(InputStream in) throws IOException {
        try (JsonParser p = JSON.createParser(in)) {
            return new SavedPlan(p);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not a bpfgit plan: " + e.getOriginalMessage() + location(e));
        }
    }

    public static SavedPlan read(Reader in) throws IOException {
        try (JsonParser p = JSON.createParser(in)) {
            return new SavedPlan(p);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("not a bpfgit plan: " + e.getOriginalMessage() + location(e));
        }
    }

    private static String location(JacksonException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ")";
    }

    /** The document, each streamed {@code entries} array left empty. */
    public JsonNode tree() {
        return tree;
    }

    /**
     * The complaints about a plan this bpfgit should read ({@link PlanSchema#current}), one line each, in document
     * order, as {@link PlanSchema#errors} words them for the whole document; those about an entry end with its
     * line. Empty for a plan of another format or version: {@link #plan} refuses it in its own words.
     */
    public List<String> errors() {
        if (!PlanSchema.current(tree)) {
            return List.of();
        }
        List<String> lines = new ArrayList<>(PlanSchema.lines(Stream.concat(PlanSchema.complaints(tree).stream(),
                entryComplaints.stream())));
        if (uncheckedEntries > 0) {
            lines.add("... and " + uncheckedEntries + " more entries the fast check did not accept, not worded after "
                    + MAX_ENTRY_COMPLAINTS);
        }
        return lines;
    }

    /**
     * The plan, its entry steps packed.
     *
     * @throws IllegalArgumentException for another format or version, or an entry the schema refuses
     */
    public Plan plan() {
        return PlanJson.parse(this);
    }

    /** The packed entries read in place of {@code change}'s {@code entries}, if they were an array. */
    SavedEntryChanges entries(JsonNode change) {
        return entries.get(change);
    }

    boolean entriesRefused() {
        return !entryComplaints.isEmpty() || uncheckedEntries > 0;
    }

    String firstEntryComplaint() {
        return entryComplaints.stream().sorted(PlanSchema.Complaint.ORDER).findFirst()
                .map(c -> c.at() + ": " + c.message()).orElse("entries refused");
    }

    // where in a plan the parser is: only units, their changes and those's entries are read specially
    private enum Where { ROOT, UNITS, UNIT, CHANGES, CHANGE, OTHER }

    private JsonNode value(JsonParser p, Where where, String at) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_OBJECT && (where == Where.ROOT || where == Where.UNIT || where == Where.CHANGE)) {
            ObjectNode o = JSON.createObjectNode();
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String f = p.currentName();
                p.nextToken();
                if (where == Where.CHANGE && f.equals("entries") && p.currentToken() == JsonToken.START_ARRAY) {
                    entries.put(o, entries(p, at + "/entries"));
                    o.putArray(f);
                    continue;
                }
                Where inner = where == Where.ROOT && f.equals("units") ? Where.UNITS
                        : where == Where.UNIT && f.equals("changes") ? Where.CHANGES : Where.OTHER;
                if (where == Where.CHANGE && f.equals("entries")) {
                    entries.remove(o);   // a later "entries" replaces an earlier one, as in a tree
                }
                o.set(f, value(p, inner, at + "/" + pointer(f)));
            }
            return o;
        }
        if (t == JsonToken.START_ARRAY && (where == Where.UNITS || where == Where.CHANGES)) {
            ArrayNode a = JSON.createArrayNode();
            int i = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
                a.add(value(p, where == Where.UNITS ? Where.UNIT : Where.CHANGE, at + "/" + i++));
            }
            return a;
        }
        return JSON.readTree(p);
    }

    private SavedEntryChanges entries(JsonParser p, String at) throws IOException {
        SavedEntryChanges.Builder b = new SavedEntryChanges.Builder();
        int i = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            int line = p.currentTokenLocation().getLineNr();
            JsonNode e = JSON.readTree(p);
            String here = at + "/" + i++;
            if (!check.valid(e)) {
                if (entryComplaints.size() >= MAX_ENTRY_COMPLAINTS) {
                    uncheckedEntries++;
                    continue;
                }
                List<PlanSchema.Complaint> c = PlanSchema.entryComplaints(e, here, " (line " + line + ")");
                if (!c.isEmpty()) {
                    entryComplaints.addAll(c);
                    continue;
                }
            }
            try {
                b.add(e.get("rawKey").stringValue(), text(e, "rawBefore"), text(e, "rawAfter"),
                        e.get("owner").stringValue(), e.get("key").stringValue(), e.get("text").stringValue());
            } catch (IllegalArgumentException x) {
                // what the schema's pattern lets through and is still no hex (a final line break)
                entryComplaints.add(new PlanSchema.Complaint(here + "/" + x.getMessage().substring(0,
                        x.getMessage().indexOf(':')), x.getMessage().substring(x.getMessage().indexOf(':') + 2)
                        + " (line " + line + ")"));
            }
        }
        return b.build();
    }

    private static String text(JsonNode e, String field) {
        JsonNode v = e.get(field);
        return v == null ? null : v.stringValue();
    }

    private static String pointer(String field) {
        return field.replace("~", "~0").replace("/", "~1");
    }
}
