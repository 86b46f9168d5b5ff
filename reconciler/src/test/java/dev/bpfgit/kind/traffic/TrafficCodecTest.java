package dev.bpfgit.kind.traffic;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The diff orders changes by {@link TrafficCodec#specificity}: it must be the key's prefix length, as a Prefix reads it. */
class TrafficCodecTest {
    private final TrafficCodec codec = new TrafficCodec(Map.of());

    @Test
    void ownerIsTheRulesPolicyReadInPlace() {
        java.util.Random r = new java.util.Random(16);
        int[] policies = {0, 1, 7, 255, 256, 65_535, 1 << 24, Integer.MAX_VALUE, -1, Integer.MIN_VALUE, 0x80ff00aa};
        for (int p : policies) {
            for (TrafficPolicySpec.Action a : TrafficPolicySpec.Action.values()) {
                Bytes v = TrafficLayout.rule(p, a, r.nextInt(), r.nextInt() & 0xffffffffL);
                assertEquals(p, codec.owner(v), p + " " + a);
                assertEquals(TrafficLayout.rule(v).policy(), codec.owner(v));
            }
        }
        for (int i = 0; i < 1000; i++) {
            byte[] b = new byte[TrafficLayout.RULE_SIZE];
            r.nextBytes(b);
            Bytes v = Bytes.wrap(b);
            assertEquals(TrafficLayout.rule(v).policy(), codec.owner(v), v.toHex());
        }
        // too short for a rule: the same failure as reading the whole rule
        for (int size : new int[]{0, 4, 12, 20}) {
            Bytes v = Bytes.wrap(new byte[size]);
            Class<? extends Throwable> whole = assertThrows(RuntimeException.class, () -> TrafficLayout.rule(v)).getClass();
            assertEquals(whole, assertThrows(RuntimeException.class, () -> codec.owner(v)).getClass(), "size " + size);
        }
    }

    @Test
    void specificityIsThePrefixLengthOfEveryV4AndV6Key() {
        for (int bytes : new int[]{4, 16}) {
            for (int len = 0; len <= bytes * 8; len++) {
                byte[] a = new byte[bytes];
                a[0] = (byte) 0xc0;
                Bytes key = TrafficLayout.key(new Prefix(a, len));
                assertEquals(len, codec.specificity(key), bytes + " bytes /" + len);
                assertEquals(TrafficLayout.prefix(key).length(), codec.specificity(key));
            }
        }
    }

    @Test
    void specificityInPlaceIsTheSpecificityOfTheCopiedKey() {
        // every v4 and v6 prefix length, in packed maps of one key size each, and a map of both sizes
        Map<Bytes, Bytes> v4 = new HashMap<>();
        Map<Bytes, Bytes> v6 = new HashMap<>();
        Map<Bytes, Bytes> both = new HashMap<>();
        for (int bytes : new int[]{4, 16}) {
            for (int len = 0; len <= bytes * 8; len++) {
                byte[] a = new byte[bytes];
                a[0] = (byte) (0xc0 + len);
                Bytes key = TrafficLayout.key(new Prefix(a, len));
                (bytes == 4 ? v4 : v6).put(key, Bytes.wrap(new byte[24]));
                both.put(key, Bytes.wrap(new byte[24]));
            }
        }
        int asked = 0;
        for (Map<Bytes, Bytes> m : List.of(v4, v6, both)) {
            SortedEntries s = SortedEntries.copyOf(m);
            for (int i = 0; i < s.size(); i++) {
                assertEquals(codec.specificity(s.key(i)), codec.specificity(s, i), "key " + s.key(i));
                asked++;
            }
        }
        assertEquals(2 * (33 + 129), asked);
        // keys that are no prefix fail as the copied key fails
        byte[][] bad = {{33, 0, 0, 0, 10, 0, 0, 1}, {0, 0, 0, (byte) 0x80, 10, 0, 0, 1}, {8, 0, 0, 0, 10, 0, 0},
                {(byte) 0x81, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
        for (byte[] k : bad) {
            SortedEntries s = SortedEntries.copyOf(Map.of(Bytes.wrap(k), Bytes.wrap(new byte[24])));
            assertThrows(IllegalArgumentException.class, () -> codec.specificity(s, 0));
        }
    }

    @Test
    void aKeyThatIsNoPrefixFailsAsBefore() {
        byte[] tooLong = {33, 0, 0, 0, 10, 0, 0, 1};           // a /33 of IPv4
        byte[] negative = {0, 0, 0, (byte) 0x80, 10, 0, 0, 1};  // length 2^31 read as an int
        byte[] oddSize = {8, 0, 0, 0, 10, 0, 0};                 // three address bytes
        for (byte[] k : new byte[][]{tooLong, negative, oddSize}) {
            assertThrows(IllegalArgumentException.class, () -> codec.specificity(Bytes.wrap(k)));
        }
    }

    /** keyLength counts what key writes, for every IPv4 key and for the keys it leaves to key (IPv6, no prefix). */
    @Test
    void keyLengthIsTheKeysTextLength() {
        TrafficCodec codec = new TrafficCodec(Map.of());
        java.util.Random r = new java.util.Random(2811);
        for (int n = 0; n < 50_000; n++) {
            byte[] k = new byte[r.nextInt(8) == 0 ? 20 : 8];
            r.nextBytes(k);
            // mostly valid lengths, sometimes one out of range or a u32 with the high bit set
            int len = r.nextInt(10) == 0 ? r.nextInt() : r.nextInt((k.length - 4) * 8 + 1);
            dev.bpfgit.compile.Le.putU32(k, 0, len & 0xffffffffL);
            if (r.nextBoolean()) {   // small octets too: one and two digits
                for (int i = 4; i < k.length; i++) {
                    k[i] = (byte) r.nextInt(r.nextBoolean() ? 10 : 100);
                }
            }
            Bytes key = Bytes.wrap(k);
            String text;
            try {
                text = codec.key(key);
            } catch (RuntimeException e) {
                assertThrows(e.getClass(), () -> codec.keyLength(key));
                continue;
            }
            assertEquals(text.length(), codec.keyLength(key), text);
        }
        for (byte[] k : new byte[][]{new byte[8], {32, 0, 0, 0, (byte) 255, (byte) 255, (byte) 255, (byte) 255},
                {9, 0, 0, 0, 100, 10, 1, 0}}) {
            assertEquals(codec.key(Bytes.wrap(k)).length(), codec.keyLength(Bytes.wrap(k)));
        }
    }

    /**
     * key and value read in place give what the Prefix and the decoded Rule give: every action (and action bytes
     * past the last, shown as pass), named and unnamed redirect targets, marks with the high bit set, keys of both
     * families; values too short for a rule fail as rule fails.
     */
    @Test
    void keyAndValueTextsAreThePrefixesAndTheRules() {
        TrafficCodec codec = new TrafficCodec(Map.of(2, "eth1", -7, "odd0"));
        java.util.Random r = new java.util.Random(1728);
        for (int n = 0; n < 50_000; n++) {
            byte[] k = new byte[r.nextInt(6) == 0 ? 20 : 8];
            r.nextBytes(k);
            dev.bpfgit.compile.Le.putU32(k, 0, r.nextInt((k.length - 4) * 8 + 1));
            Bytes key = Bytes.wrap(k);
            assertEquals(TrafficLayout.prefix(key).toString(), codec.key(key));

            byte[] v = new byte[TrafficLayout.RULE_SIZE + (r.nextInt(5) == 0 ? r.nextInt(3) - 3 : 0)];
            r.nextBytes(v);
            v[20] = (byte) (r.nextInt(4) == 0 ? r.nextInt(256) : r.nextInt(4));
            if (r.nextBoolean()) {
                dev.bpfgit.compile.Le.putU32(v, 12, new int[]{2, -7, 3}[r.nextInt(3)] & 0xffffffffL);
            }
            Bytes value = Bytes.wrap(v);
            TrafficLayout.Rule rule = TrafficLayout.rule(value);
            String expected = switch (rule.action()) {
                case PASS -> "pass";
                case DROP -> "drop";
                case REDIRECT -> "redirect " + (rule.ifindex() == 2 ? "eth1" : rule.ifindex() == -7 ? "odd0"
                        : "ifindex " + rule.ifindex());
                case MARK -> "mark 0x" + Long.toHexString(rule.mark());
            };
            assertEquals(expected, codec.value(value));
        }
        for (int size = 0; size <= 20; size++) {
            Bytes shortValue = Bytes.wrap(new byte[size]);
            assertThrows(ArrayIndexOutOfBoundsException.class, () -> TrafficLayout.rule(shortValue));
            assertThrows(ArrayIndexOutOfBoundsException.class, () -> codec.value(shortValue));
        }
        assertThrows(IllegalArgumentException.class, () -> codec.key(Bytes.wrap(new byte[]{33, 0, 0, 0, 1, 2, 3, 4})));
        assertEquals("255.0.10.1/0", codec.key(Bytes.wrap(new byte[]{0, 0, 0, 0, (byte) 255, 0, 10, 1})));
    }

    /** owner and value of an entry read in place are those of its copied value, and fail alike for short values. */
    @Test
    void ownerAndValueInPlaceAreThoseOfTheCopiedValue() {
        TrafficCodec codec = new TrafficCodec(Map.of(2, "eth1"));
        java.util.Random r = new java.util.Random(2826);
        Map<Bytes, Bytes> map = new HashMap<>();
        for (int n = 0; n < 5_000; n++) {
            byte[] k = new byte[8];
            r.nextBytes(k);
            byte[] v = new byte[r.nextInt(10) == 0 ? r.nextInt(TrafficLayout.RULE_SIZE) : TrafficLayout.RULE_SIZE];
            r.nextBytes(v);
            if (v.length > 20) {
                v[20] = (byte) (r.nextInt(4) == 0 ? r.nextInt(256) : r.nextInt(4));
            }
            map.put(Bytes.wrap(k), Bytes.wrap(v));
        }
        SortedEntries entries = SortedEntries.copyOf(map);
        int shortOnes = 0;
        for (int i = 0; i < entries.size(); i++) {
            Bytes copy = entries.value(i);
            int at = i;
            if (copy.size() <= 20) {
                shortOnes++;
                assertThrows(ArrayIndexOutOfBoundsException.class, () -> codec.owner(copy));
                assertThrows(ArrayIndexOutOfBoundsException.class, () -> codec.owner(entries, at));
                assertThrows(ArrayIndexOutOfBoundsException.class, () -> codec.value(copy));
                assertThrows(ArrayIndexOutOfBoundsException.class, () -> codec.value(entries, at));
                continue;
            }
            assertEquals(codec.owner(copy), codec.owner(entries, i));
            assertEquals(codec.value(copy), codec.value(entries, i));
        }
        assertEquals(true, shortOnes > 100, shortOnes + " short values");
    }
}
