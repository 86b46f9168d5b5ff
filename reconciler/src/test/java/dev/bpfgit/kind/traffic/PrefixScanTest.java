package dev.bpfgit.kind.traffic;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written scan of a prefix says what the schema's pattern (with no line break allowed) says. */
class PrefixScanTest {
    private static final Pattern PATTERN = Pattern.compile(TrafficRuleCheck.PREFIX_PATTERN);
    private static final Pattern LINE_BREAK = Pattern.compile("[\n\r\u0085\u2028\u2029]");
    private static final String ALPHABET = "0123456789abcdefABCDEFgG:./ \n-x\u0660";

    @Test
    void theScanAgreesWithThePattern() {
        Random r = new Random(20261126);
        int matched = 0;
        for (int i = 0; i < 300_000; i++) {
            String s = i % 3 == 0 ? prefixLike(r) : random(r);
            boolean pattern = !LINE_BREAK.matcher(s).find() && PATTERN.matcher(s).find();
            assertEquals(pattern, TrafficRuleCheck.scanPrefix(s), "\"" + s + "\"");
            matched += pattern ? 1 : 0;
        }
        assertTrue(matched > 50_000, matched + " matched");
    }

    private static String random(Random r) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(12);
        for (int i = 0; i < n; i++) {
            sb.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return sb.toString();
    }

    /** Near misses of a prefix: a length of 0-4 digits, a stray character, a trailing line break. */
    private static String prefixLike(Random r) {
        StringBuilder sb = new StringBuilder();
        sb.append(r.nextInt(256)).append('.').append(r.nextInt(256)).append(r.nextBoolean() ? "::" : ".0.1");
        if (r.nextInt(4) > 0) {
            sb.append('/');
            for (int i = r.nextInt(5); i > 0; i--) {
                sb.append((char) ('0' + r.nextInt(10)));
            }
        }
        if (r.nextInt(8) == 0) {
            sb.insert(r.nextInt(sb.length() + 1), ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return sb.toString();
    }
}
