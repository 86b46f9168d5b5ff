package dev.bpfgit.kernel;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SortedEntriesTest {

    private static Map<Bytes, Bytes> random(Random r, int n, int keySize, boolean varying) {
        Map<Bytes, Bytes> m = new HashMap<>();
        while (m.size() < n) {
            byte[] k = new byte[varying ? 1 + r.nextInt(keySize) : keySize];
            r.nextBytes(k);
            byte[] v = new byte[varying ? r.nextInt(30) : 24];
            r.nextBytes(v);
            m.put(Bytes.wrap(k), Bytes.wrap(v));
        }
        return m;
    }

    /** The digest every caller computed before: entries sorted by key, key bytes then value bytes. */
    private static byte[] digestBySorting(Map<Bytes, Bytes> m) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        m.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            md.update(e.getKey().toArray());
            md.update(e.getValue().toArray());
        });
        return md.digest();
    }

    private static byte[] digest(SortedEntries s) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        s.digest(md);
        return md.digest();
    }

    @Test
    void isTheSameMapInKeyOrder() throws Exception {
        Random r = new Random(7);
        for (boolean varying : new boolean[]{false, true}) {
            for (int n : new int[]{0, 1, 2, 17, 5000, 10_000}) {
                Map<Bytes, Bytes> m = random(r, n, varying ? 6 : 8, varying);
                SortedEntries s = SortedEntries.copyOf(m);
                assertEquals(m, s);
                assertEquals(s, m);
                assertEquals(m.hashCode(), s.hashCode());
                assertEquals(m.size(), s.size());
                List<Bytes> keys = new ArrayList<>(s.keySet());
                assertEquals(m.keySet().stream().sorted().toList(), keys);
                m.forEach((k, v) -> assertEquals(v, s.get(k)));
                assertNull(s.get(Bytes.hex("ffffffffffffffffff")));
                assertFalse(s.containsKey("not bytes"));
                assertArrayEquals(digestBySorting(m), digest(s), "digest, n=" + n + " varying=" + varying);
                assertSame(s, SortedEntries.copyOf(s));
                byte[] other = s.copyOfValues();
                if (other.length > 0) {
                    other[other.length - 1] ^= 1;
                    SortedEntries changed = s.withValues(other);
                    assertArrayEquals(digestBySorting(Map.copyOf(changed)), digest(changed), "digest with values");
                }
            }
        }
        for (int[] sizes : new int[][]{{16, 8}, {8, 0}, {4, 8}, {8, 20}}) {   // fixed sizes, long-aligned or not
            Map<Bytes, Bytes> m = new HashMap<>();
            while (m.size() < 3000) {
                byte[] k = new byte[sizes[0]];
                byte[] v = new byte[sizes[1]];
                r.nextBytes(k);
                r.nextBytes(v);
                m.put(Bytes.wrap(k), Bytes.wrap(v));
            }
            assertArrayEquals(digestBySorting(m), digest(SortedEntries.copyOf(m)), "digest, sizes " + sizes[0] + "/" + sizes[1]);
        }
    }

    @Test
    void theLastOfRepeatedKeysWins() {
        Bytes a = Bytes.hex("0001");
        Bytes b = Bytes.hex("0000");
        SortedEntries s = SortedEntries.of(List.of(new dev.bpfgit.kernel.Entry(a, Bytes.hex("01")), new dev.bpfgit.kernel.Entry(b, Bytes.hex("02")),
                new dev.bpfgit.kernel.Entry(a, Bytes.hex("03"))));
        assertEquals(Map.of(a, Bytes.hex("03"), b, Bytes.hex("02")), s);
        assertEquals(List.of(b, a), new ArrayList<>(s.keySet()));
        SortedEntries packed = SortedEntries.ofPacked(new byte[]{0, 1, 0, 0, 0, 1, 9, 9}, 2, new byte[]{1, 2, 3, 9}, 1, 3);
        assertEquals(s, packed);
        assertEquals(packed, s);
    }

    @Test
    void mergesAndComparesByIndex() {
        Random r = new Random(3);
        Map<Bytes, Bytes> have = random(r, 300, 8, false);
        Map<Bytes, Bytes> want = new HashMap<>(random(r, 100, 8, false));
        have.keySet().stream().limit(150).forEach(k -> want.put(k, have.get(k)));
        SortedEntries w = SortedEntries.copyOf(want);
        SortedEntries h = SortedEntries.copyOf(have);
        int[] at = w.indexIn(h);
        for (int i = 0; i < w.size(); i++) {
            Bytes k = w.key(i);
            if (have.containsKey(k)) {
                assertEquals(k, h.key(at[i]));
                assertTrue(w.sameValue(i, h, at[i]));
            } else {
                assertEquals(-1, at[i]);
            }
        }
        SortedEntries one = SortedEntries.copyOf(Map.of(Bytes.hex("01"), Bytes.hex("0102030405060708aabb")));
        SortedEntries other = SortedEntries.copyOf(Map.of(Bytes.hex("01"), Bytes.hex("0102ffffffff0708aabb")));
        assertTrue(one.sameValueBeside(0, other, 0, 2, 6));
        assertFalse(one.sameValueBeside(0, other, 0, 2, 5));
        assertEquals(0x08070605L, one.valueU32(0, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> one.valueU32(0, 8));
        byte[] v = one.copyOfValues();
        v[one.valueOffset(0)] = 9;
        assertEquals(Bytes.hex("0902030405060708aabb"), one.withValues(v).get(Bytes.hex("01")));
        assertEquals(Bytes.hex("0102030405060708aabb"), one.value(0));
    }

    @Test
    void mergesKeysOfOneSizeAsTheGenericComparisonDoes() {
        Random r = new Random(11);
        for (int keySize : new int[]{8, 16, 20}) {
            Map<Bytes, Bytes> have = random(r, 400, keySize, false);
            Map<Bytes, Bytes> want = new HashMap<>(random(r, 200, keySize, false));
            have.keySet().stream().limit(250).forEach(k -> want.put(k, have.get(k)));
            SortedEntries w = SortedEntries.copyOf(want);
            SortedEntries h = SortedEntries.copyOf(have);
            int[] at = w.indexIn(h);
            for (int i = 0; i < w.size(); i++) {
                Bytes k = w.key(i);
                assertEquals(have.containsKey(k) ? k : null, at[i] < 0 ? null : h.key(at[i]), "key size " + keySize);
            }
            // packed input already in key order is taken as it is, and equals the sorted copy
            byte[] keys = new byte[h.size() * keySize];
            byte[] values = new byte[h.size() * 24];
            for (int i = 0; i < h.size(); i++) {
                h.key(i).copyTo(keys, i * keySize);
                h.value(i).copyTo(values, i * 24);
            }
            assertEquals(have, SortedEntries.ofPacked(keys, keySize, values, 24, h.size()));
            assertEquals(new ArrayList<>(h.keySet()),
                    new ArrayList<>(SortedEntries.ofPacked(keys, keySize, values, 24, h.size()).keySet()));
        }
    }

    @Test
    void isImmutable() {
        SortedEntries s = SortedEntries.copyOf(Map.of(Bytes.hex("01"), Bytes.hex("02")));
        assertThrows(UnsupportedOperationException.class, () -> s.put(Bytes.hex("03"), Bytes.hex("04")));
        assertThrows(UnsupportedOperationException.class, () -> s.remove(Bytes.hex("01")));
        assertThrows(UnsupportedOperationException.class, () -> s.entrySet().iterator().remove());
        assertThrows(NullPointerException.class, () -> SortedEntries.copyOf(new HashMap<>(java.util.Collections.singletonMap(Bytes.hex("01"), null))));
    }
    /**
     * matchIn is indexIn plus sameValueBeside: 8-byte keys with values of one size (its long-at-a-time path, ranges
     * aligned or not), and other shapes; overlapping tables with values that differ inside the range, outside it,
     * or not at all. Also valueLongsLE against valueU32 and the size queries.
     */
    @Test
    void matchInIsIndexInAndSameValueBeside() {
        int differ = 0;
        int same = 0;
        for (int seed = 0; seed < 200; seed++) {
            Random r = new Random(seed);
            int keySize = seed % 4 == 3 ? 20 : 8;
            int valueSize = seed % 5 == 4 ? 20 : 24;
            boolean varying = seed % 7 == 6;
            Map<Bytes, Bytes> a = new HashMap<>();
            Map<Bytes, Bytes> b = new HashMap<>();
            for (int i = 0; i < 100; i++) {
                byte[] k = new byte[varying ? 1 + r.nextInt(keySize) : keySize];
                k[k.length - 1] = (byte) r.nextInt(150);
                byte[] v = new byte[varying ? 8 + r.nextInt(20) : valueSize];
                for (int o = 0; o < v.length; o++) {
                    v[o] = (byte) r.nextInt(2);
                }
                if (r.nextInt(4) > 0) {
                    a.put(Bytes.wrap(k), Bytes.wrap(v));
                }
                if (r.nextInt(4) > 0) {
                    byte[] w = v.clone();
                    if (r.nextInt(3) == 0) {
                        w[r.nextInt(w.length)] ^= 1;
                    }
                    b.put(Bytes.wrap(k), Bytes.wrap(w));
                }
            }
            SortedEntries x = SortedEntries.copyOf(a);
            SortedEntries y = SortedEntries.copyOf(b);
            int from = r.nextBoolean() ? 8 * r.nextInt(3) : r.nextInt(24);
            int to = from + (r.nextBoolean() ? 8 : r.nextInt(10));
            int[] index = x.indexIn(y);
            int[] match = x.matchIn(y, from, to);
            for (int i = 0; i < x.size(); i++) {
                int j = index[i];
                int expected = j < 0 || x.sameValueBeside(i, y, j, from, to) ? j : -2 - j;
                assertEquals(expected, match[i], "seed " + seed + " entry " + i + " range " + from + "-" + to);
                differ += expected < -1 ? 1 : 0;
                same += expected >= 0 ? 1 : 0;
            }
            assertEquals(varying ? -1 : keySize, x.fixedKeySize());
            if (!varying) {
                assertEquals(valueSize, y.fixedValueSize());
                long[] sg = y.valueLongsLE(8);
                for (int j = 0; j < y.size(); j++) {
                    assertEquals(y.valueU32(j, 8) | y.valueU32(j, 12) << 32, sg[j]);
                }
                assertThrows(IndexOutOfBoundsException.class, () -> y.valueLongsLE(valueSize - 4));
                assertEquals(valueSize, y.withValues(y.copyOfValues()).fixedValueSize());
            }
        }
        assertTrue(differ > 500 && same > 500, differ + " differ, " + same + " same");
        assertEquals(-1, SortedEntries.empty().fixedKeySize());
    }

    /**
     * {@link SortedEntries#with} against a plain map: random bases (keys of one size, and of several), puts that
     * replace and add, removals of present and absent keys, keys both put and removed (put wins), runs at both ends.
     */
    @Test
    void withPutsAndRemovesAsAPlainMapWould() {
        Random r = new Random(42);
        for (int round = 0; round < 400; round++) {
            boolean varying = round % 3 == 0;
            int n = round % 50 == 0 ? 0 : r.nextInt(round < 200 ? 40 : 3000);
            Map<Bytes, Bytes> base = random(r, n, varying ? 6 : 8, varying);
            List<Bytes> keys = new ArrayList<>(base.keySet());
            Map<Bytes, Bytes> put = random(r, r.nextInt(20), varying ? 6 : 8, varying);
            Map<Bytes, Bytes> removed = new HashMap<>(random(r, r.nextInt(5), varying ? 6 : 8, varying));
            for (int i = 0, m = keys.isEmpty() ? 0 : r.nextInt(30); i < m; i++) {
                Bytes k = keys.get(r.nextInt(keys.size()));
                byte[] v = new byte[varying ? r.nextInt(30) : 24];
                r.nextBytes(v);
                if (r.nextBoolean()) {
                    put.put(k, Bytes.wrap(v));
                } else {
                    removed.put(k, Bytes.wrap(v));
                }
            }
            if (!keys.isEmpty() && r.nextInt(4) == 0) {   // one key both put and removed
                Bytes k = keys.get(r.nextInt(keys.size()));
                put.put(k, Bytes.wrap(new byte[]{9}));
                removed.put(k, Bytes.wrap(new byte[]{8}));
            }
            Map<Bytes, Bytes> model = new HashMap<>(base);
            removed.keySet().forEach(model::remove);
            model.putAll(put);

            SortedEntries got = SortedEntries.copyOf(base).with(SortedEntries.copyOf(put), SortedEntries.copyOf(removed));
            SortedEntries want = SortedEntries.copyOf(model);
            assertEquals(want, got, "round " + round);
            assertEquals(model, new HashMap<>(got), "round " + round);
            assertEquals(want.hashCode(), got.hashCode());
            assertEquals(model.size(), got.size());
            for (int i = 0; i + 1 < got.size(); i++) {
                assertTrue(got.key(i).compareTo(got.key(i + 1)) < 0, "sorted, no key twice");
            }
            model.forEach((k, v) -> assertEquals(v, got.get(k)));
        }
        SortedEntries one = SortedEntries.copyOf(Map.of(Bytes.wrap(new byte[]{1}), Bytes.wrap(new byte[]{2})));
        assertSame(one, one.with(SortedEntries.empty(), SortedEntries.empty()), "nothing to change: the same map");
        assertSame(SortedEntries.empty(), one.with(SortedEntries.empty(), one));
    }
}
