package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kind's {@link PolicyKind.ItemCheck} may only ever accept what the schema accepts: checked here against the
 * validator on random rules, valid and broken in every way the generator knows; and it must have been written
 * against the schema as it is now.
 */
class ItemCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PolicySchema schema = PolicySchema.get();

    @Test
    void eachCheckWasWrittenAgainstTheCurrentSchema() {
        for (PolicyKind k : Kinds.BUILT_IN.all()) {
            k.itemCheck().ifPresent(c -> assertEquals(schema.fingerprint(k.name()), c.fingerprint(),
                    k.name() + "'s schema changed since its ItemCheck was written: check that the check still"
                            + " accepts only what the schema accepts, then update its fingerprint"));
        }
    }

    @Test
    void theTrafficRuleCheckAcceptsOnlyWhatTheSchemaAccepts() {
        PolicyKind.ItemCheck check = Kinds.BUILT_IN.named("TrafficPolicy").itemCheck().orElseThrow();
        Random random = new Random(10);
        int accepted = 0, refusedByBoth = 0, leftToTheValidator = 0;
        for (int i = 0; i < 20_000; i++) {
            ObjectNode doc = document(random.nextBoolean() ? "xdp" : random.nextBoolean() ? "tc-ingress" : "tc-egress");
            ObjectNode spec = (ObjectNode) doc.get("spec");
            JsonNode rule = rule(random);
            ((ArrayNode) spec.get("rules")).add(rule);
            boolean fast = check.valid().test(spec, rule);
            boolean schemaSays = schema.validate(doc).isEmpty();
            if (fast) {
                assertTrue(schemaSays, "the check accepted a rule the schema refuses: " + doc);
                accepted++;
            } else if (schemaSays) {
                leftToTheValidator++;
            } else {
                refusedByBoth++;
            }
        }
        // the generator must exercise both sides, and the check must take the common rules itself
        assertTrue(accepted > 4000 && refusedByBoth > 4000, accepted + " accepted, " + refusedByBoth + " refused");
        assertTrue(leftToTheValidator < accepted / 4, leftToTheValidator + " valid rules left to the validator");
    }

    @Test
    void aLargeDocumentValidatesTheSameWithAndWithoutTheCheck() {
        Random random = new Random(12);
        for (int round = 0; round < 300; round++) {
            ObjectNode doc = document(random.nextBoolean() ? "xdp" : "tc-egress");
            ArrayNode rules = (ArrayNode) doc.get("spec").get("rules");
            for (int i = 0; i < PolicySchema.BULK_ITEMS + 10; i++) {
                rules.add(JSON.createObjectNode().put("prefix", "10.0." + i + ".0/24").put("action", "drop"));
            }
            if (round % 3 > 0) {
                rules.set(random.nextInt(rules.size()), rule(random));
            }
            if (round % 5 == 0) {
                ((ObjectNode) doc.get("spec")).put("hook", "nope");
            }
            assertEquals(messages(schema.validate(doc)), messages(schema.validate(doc, Kinds.BUILT_IN)), doc.toString());
        }
    }

    @Test
    void oneRuleWithManyPrefixesValidatesTheSameWithAndWithoutTheCheck() {
        Random random = new Random(13);
        for (int round = 0; round < 200; round++) {
            ObjectNode doc = document(random.nextBoolean() ? "xdp" : "tc-egress");
            ArrayNode rules = (ArrayNode) doc.get("spec").get("rules");
            ObjectNode rule = rules.addObject().put("action", "drop");
            ArrayNode list = rule.putArray("prefixes");
            for (int i = 0; i < PolicySchema.BULK_ITEMS + 10; i++) {
                list.add("10.0." + i + ".0/24");
            }
            if (round % 3 > 0) {
                JsonNode broken = rule(random);
                list.set(random.nextInt(list.size()), broken.path("prefix").isMissingNode() ? broken : broken.get("prefix"));
            }
            if (round % 4 == 0) {
                rules.add(rule(random));
            }
            if (round % 5 == 0) {
                ((ObjectNode) doc.get("spec")).put("hook", "nope");
            }
            assertEquals(messages(schema.validate(doc)), messages(schema.validate(doc, Kinds.BUILT_IN)), doc.toString());
        }
    }

    private static List<String> messages(List<SchemaViolation> m) {
        List<String> out = new ArrayList<>();
        m.forEach(v -> out.add(v.toString()));
        out.sort(null);
        return out;
    }

    private static ObjectNode document(String hook) {
        ObjectNode doc = JSON.createObjectNode().put("apiVersion", "bpfgit.dev/v1").put("kind", "TrafficPolicy");
        doc.putObject("metadata").put("name", "p");
        ObjectNode spec = doc.putObject("spec");
        spec.putArray("interfaces").add("eth0");
        if (hook != null) {
            spec.put("hook", hook);
        }
        spec.putArray("rules");
        return doc;
    }

    private static final String[] PREFIXES = {"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "10.0.0.0/8\n", "x", "",
            "10.0.0.0/1234", "::/0", "1.2.3.4/ 8"};
    private static final String[] ACTIONS = {"pass", "drop", "redirect", "mark", "reject", "Drop"};
    private static final String[] IFACES = {"eth1", "eth1:0", "a-very-long-interface-name", "..", ".", "e\n", "lo"};
    private static final Object[] MARKS = {16, 0, 4294967295L, 4294967296L, "0x10", "0x0", "16", 1.5, 1.0, -1,
            "0X00000001", "0x100000000", true};

    /** A rule, usually well-formed, with random mistakes. */
    private static JsonNode rule(Random r) {
        if (r.nextInt(50) == 0) {
            return r.nextBoolean() ? JSON.getNodeFactory().stringNode("10.0.0.0/8") : JSON.createArrayNode();
        }
        ObjectNode rule = JSON.createObjectNode();
        int form = r.nextInt(10);
        if (form < 5 || form == 9) {
            rule.put("prefix", pick(r, PREFIXES));
        }
        if (form >= 5) {
            ArrayNode list = rule.putArray("prefixes");
            int n = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (r.nextInt(15) == 0) {
                    list.add(7);
                } else {
                    list.add(pick(r, PREFIXES));
                }
            }
            if (r.nextInt(20) == 0) {
                rule.put("prefixes", "10.0.0.0/8");
            }
        }
        if (r.nextInt(12) > 0) {
            String a = r.nextInt(3) == 0 ? pick(r, ACTIONS) : ACTIONS[r.nextInt(4)];
            if (r.nextInt(30) == 0) {
                rule.put("action", 3);
            } else {
                rule.put("action", a);
            }
            if (a.equals("redirect") ? r.nextInt(8) > 0 : r.nextInt(10) == 0) {
                rule.put("to", pick(r, IFACES));
            }
            if (a.equals("mark") ? r.nextInt(8) > 0 : r.nextInt(10) == 0) {
                Object m = MARKS[r.nextInt(MARKS.length)];
                switch (m) {
                    case Integer n -> rule.put("mark", n);
                    case Long n -> rule.put("mark", n);
                    case Double n -> rule.put("mark", n);
                    case Boolean b -> rule.put("mark", b);
                    default -> rule.put("mark", (String) m);
                }
            }
        }
        if (r.nextInt(25) == 0) {
            rule.put("comment", "x");
        }
        return rule;
    }

    private static String pick(Random r, String[] values) {
        return r.nextInt(4) > 0 ? values[r.nextInt(3)] : values[r.nextInt(values.length)];
    }
}
