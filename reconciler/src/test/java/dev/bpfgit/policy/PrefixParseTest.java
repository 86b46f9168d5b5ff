package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Prefix#parse}'s fast reading of a dotted IPv4 prefix gives the prefix (and the text) that the general
 * reading gives, and leaves every other string, valid or not, to it.
 */
class PrefixParseTest {
    @Test
    void theFastPathAgreesWithTheGeneralReading() throws Exception {
        Random r = new Random(1126);
        int fast = 0, slowValid = 0, errors = 0;
        for (int i = 0; i < 200_000; i++) {
            String s = candidate(r);
            String general = outcome(() -> Prefix.parseAny(s));
            String parsed = outcome(() -> Prefix.parse(s));
            assertEquals(general, parsed, "\"" + s + "\"");
            Prefix dotted = Prefix.dotted(s);
            if (dotted != null) {
                fast++;
                assertEquals(general, "ok " + dotted);
                assertEquals(InetAddress.getByAddress(dotted.address()).getHostAddress() + "/" + dotted.length(),
                        dotted.toString());
            } else if (general.startsWith("ok ")) {
                slowValid++;
            } else {
                errors++;
            }
        }
        assertTrue(fast > 20_000 && slowValid > 5_000 && errors > 40_000, fast + " fast, " + slowValid
                + " valid by the general reading only, " + errors + " errors");
    }

    /**
     * {@link Prefix#canonical} is {@link Prefix#toString}, and the written string itself exactly when it is
     * that text: for every candidate that parses, against its own text and against other prefixes' texts.
     */
    @Test
    void theCanonicalTextIsToStringAndTheWrittenTextWhenEqual() {
        Random r = new Random(2611);
        int same = 0, rewritten = 0;
        String previous = "0.0.0.0/0";
        for (int i = 0; i < 200_000; i++) {
            String s = candidate(r);
            Prefix p;
            try {
                p = Prefix.parse(s);
            } catch (IllegalArgumentException e) {
                continue;
            }
            for (String written : new String[]{s, previous, p.toString()}) {
                String canonical = p.canonical(written);
                assertEquals(p.toString(), canonical, "\"" + written + "\"");
                if (written.equals(canonical) && !p.ipv6()) {
                    assertTrue(canonical == written, "not the written string: \"" + written + "\"");
                }
            }
            if (p.canonical(s) == s) {
                same++;
            } else {
                rewritten++;
            }
            previous = s;
        }
        assertTrue(same > 20_000 && rewritten > 5_000, same + " kept, " + rewritten + " rewritten");
    }

    private static String outcome(java.util.function.Supplier<Prefix> parse) {
        try {
            return "ok " + parse.get();
        } catch (IllegalArgumentException e) {
            return "error " + e.getMessage();
        }
    }

    /** Dotted prefixes, canonical and not: leading zeros, big octets and lengths, host bits, spaces, IPv6. */
    private static String candidate(Random r) {
        if (r.nextInt(10) == 0) {
            String[] other = {"2001:db8::/32", "::/0", "::ffff:1.2.3.4/128", "1.2.3", "", " 1.2.3.4/32", "1.2.3.4/32 ",
                    "1.2.3.4/", "/8", "1.2.3.4//8", "a.b.c.d", "1..2.3", "1.2.3.4.5", "٣.2.3.4", "1.2.3.4/+8"};
            return other[r.nextInt(other.length)];
        }
        StringBuilder sb = new StringBuilder();
        for (int o = 0; o < 4; o++) {
            if (o > 0) {
                sb.append('.');
            }
            int v = r.nextInt(8) == 0 ? r.nextInt(1000) : r.nextInt(4) == 0 ? 0 : r.nextInt(256);
            sb.append(r.nextInt(20) == 0 ? "0" : "").append(v);
        }
        int kind = r.nextInt(10);
        if (kind < 8) {
            int len = r.nextInt(12) == 0 ? r.nextInt(200) : r.nextInt(33);
            sb.append('/').append(r.nextInt(25) == 0 ? "0" : "").append(len);
        }
        if (kind == 8 && r.nextBoolean()) {
            sb.append(r.nextBoolean() ? " " : "x");
        }
        // a prefix with its host bits cleared now and then, so that the long ones are valid too
        String s = sb.toString();
        if (r.nextBoolean()) {
            try {
                return Prefix.parseAny(s).toString();
            } catch (IllegalArgumentException e) {
                return s;
            }
        }
        return s;
    }
}
