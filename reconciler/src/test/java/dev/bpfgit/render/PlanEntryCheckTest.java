package dev.bpfgit.render;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PlanEntryCheck} may only ever accept what {@code $defs/entry} accepts: checked here against the validator
 * on random entries, valid and broken in every way the generator knows; and it must have been written against
 * the schema as it is now.
 */
public class PlanEntryCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> FIELDS = List.of("change", "owner", "key", "text", "rawKey", "rawBefore", "rawAfter");

    @Test
    void theCheckWasWrittenAgainstTheCurrentSchema() {
        assertEquals(TreePlan.fingerprint(), TreePlan.checkedAgainst(), "$defs/entry or $defs/hex of"
                + " plan.schema.json changed since PlanEntryCheck was written: check that it still accepts only what"
                + " the schema accepts, then update its FINGERPRINT");
    }

    @Test
    void theCheckAcceptsOnlyWhatTheSchemaAccepts() {
        Random random = new Random(20);
        int accepted = 0, refusedByBoth = 0, leftToTheValidator = 0;
        for (int i = 0; i < 20_000; i++) {
            ObjectNode entry = entry(random);
            JsonNode item = entry;
            if (random.nextBoolean()) {
                item = random.nextInt(20) == 0 ? notAnObject(random) : breakEntry(entry, random);
            }
            boolean fast = TreePlan.fast(item);
            boolean schemaSays = TreePlan.schemaAccepts(item);
            if (fast) {
                assertTrue(schemaSays, "the check accepted an entry the schema refuses: " + item);
                accepted++;
            } else if (schemaSays) {
                leftToTheValidator++;
            } else {
                refusedByBoth++;
            }
        }
        // the generator must exercise both sides, and the check must take the valid entries itself
        assertTrue(accepted > 9000 && refusedByBoth > 6000, accepted + " accepted, " + refusedByBoth + " refused");
        assertTrue(leftToTheValidator < accepted / 20, leftToTheValidator + " valid entries left to the validator");
    }

    static ObjectNode entry(Random random) {
        ObjectNode e = JSON.createObjectNode();
        String change = List.of("+", "~", "-").get(random.nextInt(3));
        e.put("change", change).put("owner", random.nextBoolean() ? "" : "TrafficPolicy/p" + random.nextInt(9))
                .put("key", random.nextInt(256) + ".0.0.0/8").put("text", random.nextBoolean() ? "drop" : "mark 0x1\u00e9")
                .put("rawKey", hex(random, 4 + random.nextInt(17)));
        if (!change.equals("+")) {
            e.put("rawBefore", hex(random, random.nextInt(9)));
        }
        if (!change.equals("-")) {
            e.put("rawAfter", hex(random, random.nextInt(9)));
        }
        return e;
    }

    private static String hex(Random random, int bytes) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < bytes; i++) {
            s.append(String.format("%02x", random.nextInt(256)));
        }
        return s.toString();
    }

    private static JsonNode notAnObject(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> JSON.getNodeFactory().numberNode(3);
            case 1 -> JSON.getNodeFactory().stringNode("+ 10.0.0.0/8");
            case 2 -> JSON.createArrayNode().add("+");
            default -> JSON.getNodeFactory().nullNode();
        };
    }

    /** One mistake in {@code e}, in place; sometimes one the schema lets through. */
    public static ObjectNode breakEntry(ObjectNode e, Random random) {
        String field = FIELDS.get(random.nextInt(FIELDS.size()));
        switch (random.nextInt(12)) {
            case 0 -> e.remove(field);
            case 1 -> e.put(field, random.nextInt(100));
            case 2 -> e.putNull(field);
            case 3 -> e.put(field, random.nextBoolean());
            case 4 -> e.putArray(field).add("00");
            case 5 -> e.putObject(field);
            case 6 -> e.put("rawKey", e.path("rawKey").asString() + "0");                       // odd length
            case 7 -> e.put(random.nextBoolean() ? "rawAfter" : "rawKey", "AB01");            // upper case
            case 8 -> e.put(random.nextBoolean() ? "rawBefore" : "rawKey", "0g");             // not hex
            case 9 -> e.put("change", List.of("*", "", "++", "add", " +").get(random.nextInt(5)));
            case 10 -> e.put(List.of("extra", "rawvalue", "Change").get(random.nextInt(3)), "x");
            default -> e.put(random.nextBoolean() ? "owner" : "text", "any text is fine");   // still valid
        }
        return e;
    }
}
