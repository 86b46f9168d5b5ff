package dev.bpfgit.render;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * The items of a saved plan's {@code entries} checked directly: a first plan of the geo-routing table has 1.16M of
 * them, and the JSON Schema validator costs microseconds per item (and wants the whole document as one text).
 * It accepts only what {@code $defs/entry} of schema/plan.schema.json accepts and is not sure of the rest: those
 * go to the validator, which decides and words the errors ({@link PlanSchema#entryComplaints}). Its words (the
 * fields, the change symbols) are read from the schema; {@link #FINGERPRINT} is the schema it was written
 * against, so a changed {@code entry} or {@code hex} turns it off rather than letting it drift
 * ({@code PlanEntryCheckTest} says so, and compares it with the validator on random items).
 */
final class PlanEntryCheck {
    /** {@link #fingerprint} of the schema this class follows. */
    static final String FINGERPRINT = "c394a0a4f99923f5";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HEX_PATTERN = "^([0-9a-f]{2})*$";

    private final Set<String> changes = new HashSet<>();
    private final Set<String> required = new HashSet<>();
    private final Set<String> hexFields = new HashSet<>();
    private final Set<String> textFields = new HashSet<>();
    private final boolean on;

    private PlanEntryCheck() {
        JsonNode schema = schema();
        JsonNode entry = schema.at("/$defs/entry");
        entry.at("/properties/change/enum").forEach(c -> changes.add(c.asString()));
        entry.at("/required").forEach(r -> required.add(r.asString()));
        entry.at("/properties").properties().forEach(p -> {
            if (p.getValue().path("$ref").asString().equals("#/$defs/hex")) {
                hexFields.add(p.getKey());
            } else if (p.getValue().path("type").asString().equals("string")) {
                textFields.add(p.getKey());
            }
        });
        on = fingerprint(schema).equals(FINGERPRINT)
                && schema.at("/$defs/hex/pattern").asString().equals(HEX_PATTERN);
    }

    private static final class Holder {
        static final PlanEntryCheck INSTANCE = new PlanEntryCheck();
    }

    static PlanEntryCheck get() {
        return Holder.INSTANCE;
    }

    /** True only if {@code $defs/entry} accepts {@code item}; false also when unsure or when the check is off. */
    boolean valid(JsonNode item) {
        if (!on || !(item instanceof ObjectNode o)) {
            return false;
        }
        int known = 0;
        for (String r : required) {
            if (!o.has(r)) {
                return false;
            }
        }
        for (String f : hexFields) {
            JsonNode v = o.get(f);
            if (v != null) {
                if (!v.isString() || !hex(v.stringValue())) {
                    return false;
                }
                known++;
            }
        }
        for (String f : textFields) {
            JsonNode v = o.get(f);
            if (v != null) {
                if (!v.isString()) {
                    return false;
                }
                known++;
            }
        }
        JsonNode change = o.get("change");
        // change is an enum, not a type: every other field is a string or hex
        return known + 1 == o.size() && change != null && change.isString() && changes.contains(change.stringValue());
    }

    /** {@code ^([0-9a-f]{2})*$}, without the final line terminator Java's {@code $} lets through: that goes to the validator. */
    private static boolean hex(String s) {
        int n = s.length();
        if ((n & 1) != 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    static JsonNode schema() {
        try (InputStream in = PlanEntryCheck.class.getClassLoader().getResourceAsStream("schema/plan.schema.json")) {
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What the check depends on: {@code $defs/entry} and {@code $defs/hex}, as the schema file writes them. */
    static String fingerprint(JsonNode schema) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(schema.at("/$defs/entry").toString().getBytes(StandardCharsets.UTF_8));
            md.update(schema.at("/$defs/hex").toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
