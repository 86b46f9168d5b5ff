package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.resolver.ScalarResolver;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * YamlToJson's shortcut around the core schema's regular expressions gives the resolver's answer: 200,000
 * random plain values built from the characters the core schema's types are made of, plus '/' and ':'
 * (prefixes), compared with snakeyaml-engine's resolver, and the values a policy writes.
 */
class ResolveShortcutTest {
    private static final ScalarResolver RESOLVER = new CoreSchema().getScalarResolver();
    private static final String ALPHABET = "0123456789abcdefxoABCDEFXOinftrulsNTRUELSaIF.+-_~<:/ \t e";

    private static void same(String value, boolean implicit) {
        assertEquals(RESOLVER.resolve(value, implicit), YamlToJson.resolve(RESOLVER, value, implicit),
                () -> "'" + value + "' implicit " + implicit);
    }

    @Test
    void randomValuesResolveAsTheCoreSchemaResolvesThem() {
        Random random = new Random(10);
        int shortcut = 0;
        for (int i = 0; i < 200_000; i++) {
            StringBuilder sb = new StringBuilder();
            for (int n = random.nextInt(12); n > 0; n--) {
                sb.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
            }
            String v = sb.toString();
            same(v, true);
            same(v, false);
            shortcut += v.indexOf('/') >= 0 || v.indexOf(':') >= 0 ? 1 : 0;
        }
        assertEquals(true, shortcut > 20_000, "the shortcut was taken " + shortcut + " times");
    }

    @Test
    void policyValuesAndTheTypesNextToThem() {
        for (String v : new String[]{"203.0.113.0/24", "2001:db8::/32", "::1", "10.0.0.1", "1:2", "0x10", "0o17",
                "1e3", ".inf", "-.Inf", ".NaN", "~", "null", "true", "False", "<<", "12:30", "1/2", "1_000", ""}) {
            same(v, true);
            same(v, false);
        }
        assertEquals(Tag.STR, YamlToJson.resolve(RESOLVER, "198.51.100.7/32", true));
    }
}
