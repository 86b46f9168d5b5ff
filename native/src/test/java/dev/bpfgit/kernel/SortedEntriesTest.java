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
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

    /**
     * {@link SortedEntries#ofPacked} against a TreeMap in which the later of two equal keys wins: keys of 1 to 12
     * bytes (up to 8 the radix sort over longs, above it the byte sort), differing in a few bits, in many bytes,
     * or not at all, with repeated keys.
     */
    @Test
    void packedEntriesAreSortedAndTheLastOfEqualKeysWins() {
        Random r = new Random(15);
        for (int valueSize : new int[]{4, 0, 24}) {   // 24: a traffic rule; 0: no value bytes at all
            for (int keySize : new int[]{1, 2, 3, 4, 7, 8, 12}) {
                for (int spread : new int[]{0, 3, 12, 64}) {
                    int n = 1 + r.nextInt(3000);
                    byte[] keys = new byte[n * keySize];
                    byte[] values = new byte[n * valueSize];
                    java.util.TreeMap<Bytes, Bytes> want = new java.util.TreeMap<>();
                    byte[] fixed = new byte[keySize];
                    r.nextBytes(fixed);
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(fixed, 0, keys, i * keySize, keySize);
                        for (int bit = 0; bit < Math.min(spread, keySize * 8); bit++) {
                            int at = i * keySize + keySize - 1 - (spread == 3 ? bit + 2 : bit) / 8 % keySize;
                            if (r.nextInt(spread == 64 ? 2 : 3) == 0) {
                                keys[at] ^= (byte) (1 << (bit % 8));
                            }
                        }
                        if (valueSize > 0) {
                            le32(values, i * valueSize + valueSize - 4, i);
                        }
                        want.put(Bytes.wrap(java.util.Arrays.copyOfRange(keys, i * keySize, (i + 1) * keySize)),
                                Bytes.wrap(java.util.Arrays.copyOfRange(values, i * valueSize, (i + 1) * valueSize)));
                    }
                    SortedEntries got = SortedEntries.ofPacked(keys, keySize, values, valueSize, n);
                    String where = "key size " + keySize + ", value size " + valueSize + ", spread " + spread + ", n " + n;
                    assertEquals(new ArrayList<>(want.keySet()), new ArrayList<>(got.keySet()), where);
                    assertEquals(new ArrayList<>(want.values()), new ArrayList<>(got.values()), where);
                    assertEquals(want, got, where);
                }
            }
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
     * {@link SortedEntries#claimIn} against a plain reference (a hash lookup per key, values compared byte by byte): the
     * matches, the values with the claimed fields, the entries that claim nothing and those that may change, the live
     * entries not desired, and both bit arrays, on generated tables of 8-byte keys (values of 8 to 40 bytes, the field
     * anywhere 8-aligned, slots unique, shared, 0 and beyond the capacity, bits claimed already by another map);
     * and null for every other shape.
     */
    @Test
    void claimInIsAPlainMergeThatClaimsSlots() {
        int claims = 0;
        int candidates = 0;
        int gone = 0;
        for (int seed = 0; seed < 400; seed++) {
            Random r = new Random(seed);
            int valueSize = 8 * (1 + r.nextInt(5));
            int field = 8 * r.nextInt(valueSize / 8);
            int capacity = 1 + r.nextInt(seed % 4 == 0 ? 20 : 300);
            int space = 1 + r.nextInt(400);
            Map<Bytes, Bytes> a = new HashMap<>();
            Map<Bytes, Bytes> b = new HashMap<>();
            int n = seed % 50 == 0 ? 0 : r.nextInt(200);
            for (int i = 0; i < 2 * n; i++) {
                byte[] k = new byte[8];
                k[0] = 32;
                int addr = r.nextInt(space);
                k[3] = (byte) r.nextInt(2);   // keys that differ in the high bytes too
                k[6] = (byte) (addr >>> 8);
                k[7] = (byte) addr;
                byte[] v = new byte[valueSize];
                for (int o = 0; o < v.length; o++) {
                    v[o] = (byte) r.nextInt(2);
                }
                if (r.nextInt(4) > 0 && i < n) {
                    a.put(Bytes.wrap(k), Bytes.wrap(v));
                }
                if (r.nextInt(4) > 0) {
                    byte[] w = v.clone();
                    if (r.nextInt(4) == 0) {
                        w[r.nextInt(w.length)] ^= 1;   // in the field or beside it
                    }
                    int slot = switch (r.nextInt(8)) {
                        case 0 -> 0;
                        case 1 -> capacity + 1 + r.nextInt(3);
                        case 2 -> -1 - r.nextInt(5);   // the u32 as a high unsigned value
                        default -> 1 + r.nextInt(capacity);
                    };
                    le32(w, field, slot);
                    le32(w, field + 4, r.nextInt());
                    b.put(Bytes.wrap(k), Bytes.wrap(w));
                }
            }
            SortedEntries x = SortedEntries.copyOf(a);
            SortedEntries y = SortedEntries.copyOf(b);
            long[] claimed = new long[(capacity >> 6) + 1];
            long[] seen = new long[claimed.length];
            for (int s = 1; s <= capacity; s++) {
                if (r.nextInt(10) == 0) {
                    claimed[s >>> 6] |= 1L << s;   // another map of the space claimed it first
                }
                if (r.nextInt(10) == 0) {
                    seen[s >>> 6] |= 1L << s;
                }
            }
            long[] claimedRef = claimed.clone();
            long[] seenRef = seen.clone();
            SortedEntries.Claimed c = x.claimIn(y, field, capacity, claimed, seen);
            if (x.isEmpty()) {
                assertNull(c, "seed " + seed);
                continue;
            }
            // the reference
            Map<Bytes, Integer> index = new HashMap<>();
            for (int j = 0; j < y.size(); j++) {
                index.put(y.key(j), j);
                long s = y.valueU32(j, field);
                if (s >= 1 && s <= capacity) {
                    seenRef[(int) (s >>> 6)] |= 1L << s;
                }
            }
            byte[] values = x.copyOfValues();
            List<Integer> unclaimed = new ArrayList<>();
            List<Integer> maybe = new ArrayList<>();
            boolean[] matched = new boolean[y.size()];
            int[] at = new int[x.size()];
            for (int i = 0; i < x.size(); i++) {
                int j = index.getOrDefault(x.key(i), -1);
                at[i] = j;
                boolean claims0 = false;
                boolean same = false;
                if (j >= 0) {
                    matched[j] = true;
                    byte[] xv = x.value(i).toArray();
                    byte[] yv = y.value(j).toArray();
                    same = true;
                    for (int o = 0; o < valueSize; o++) {
                        same &= o >= field && o < field + 8 || xv[o] == yv[o];
                    }
                    long s = y.valueU32(j, field);
                    if (s >= 1 && s <= capacity && (claimedRef[(int) (s >>> 6)] & 1L << s) == 0) {
                        claimedRef[(int) (s >>> 6)] |= 1L << s;
                        System.arraycopy(yv, field, values, x.valueOffset(i) + field, 8);
                        claims0 = true;
                    }
                }
                if (!claims0) {
                    unclaimed.add(i);
                }
                if (j < 0 || !claims0 || !same) {
                    maybe.add(i);
                }
                claims += claims0 ? 1 : 0;
            }
            List<Integer> notDesired = new ArrayList<>();
            for (int j = 0; j < y.size(); j++) {
                if (!matched[j]) {
                    notDesired.add(j);
                }
            }
            String at0 = "seed " + seed;
            assertArrayEquals(at, c.at(), at0);
            assertArrayEquals(values, c.values(), at0);
            assertArrayEquals(unclaimed.stream().mapToInt(Integer::intValue).toArray(), c.unclaimed(), at0);
            assertArrayEquals(maybe.stream().mapToInt(Integer::intValue).toArray(), c.candidates(), at0);
            assertArrayEquals(notDesired.stream().mapToInt(Integer::intValue).toArray(), c.gone(), at0);
            assertArrayEquals(claimedRef, claimed, at0);
            assertArrayEquals(seenRef, seen, at0);
            candidates += maybe.size();
            gone += notDesired.size();
        }
        assertTrue(claims > 5000 && candidates > 3000 && gone > 2000, claims + " claims, " + candidates
                + " candidates, " + gone + " gone");
        // other shapes: none
        long[] bits = new long[2];
        SortedEntries rules = SortedEntries.copyOf(Map.of(Bytes.hex("2000000001020304"), Bytes.wrap(new byte[24])));
        assertNotNull(rules.claimIn(SortedEntries.empty(), 16, 10, bits, bits));
        assertNull(rules.claimIn(SortedEntries.empty(), 4, 10, bits, bits));
        assertNull(rules.claimIn(SortedEntries.empty(), 24, 10, bits, bits));
        assertNull(rules.claimIn(SortedEntries.empty(), -8, 10, bits, bits));
        assertNull(SortedEntries.empty().claimIn(rules, 0, 10, bits, bits));
        assertNull(SortedEntries.copyOf(Map.of(Bytes.hex("2000000001020304"), Bytes.wrap(new byte[20])))
                .claimIn(SortedEntries.empty(), 0, 10, bits, bits));
        assertNull(SortedEntries.copyOf(Map.of(Bytes.wrap(new byte[20]), Bytes.wrap(new byte[24])))
                .claimIn(SortedEntries.empty(), 0, 10, bits, bits));
        assertNull(rules.claimIn(SortedEntries.copyOf(Map.of(Bytes.hex("2000000001020304"), Bytes.wrap(new byte[32]))),
                0, 10, bits, bits));
        assertNull(rules.claimIn(SortedEntries.copyOf(Map.of(Bytes.wrap(new byte[20]), Bytes.wrap(new byte[24]))),
                0, 10, bits, bits));
    }

    /**
     * keyChecksums and valueChecksums are the CRC-32C and CRC-32 that checksum feeds (keys of one size and of several,
     * empty); the keys' pair is kept with the keys: a map made by withValues (other values, the same keys) has it
     * whether it was computed before or after, and its values' pair is its own.
     */
    @Test
    void checksumPairsAreTheChecksumsOfThePackedArrays() {
        Random r = new Random(9);
        for (int round = 0; round < 60; round++) {
            boolean varying = round % 3 == 0;
            SortedEntries s = SortedEntries.copyOf(random(r, round == 0 ? 0 : r.nextInt(500), 8, varying));
            long[] pairs = checksumPairs(s);
            SortedEntries before = s.withValues(s.copyOfValues());   // made before the keys' pair was computed
            assertEquals(pairs[0], s.keyChecksums(), "round " + round);
            assertEquals(pairs[1], s.valueChecksums(), "round " + round);
            assertEquals(s.keyChecksums(), s.keyChecksums());
            byte[] other = s.copyOfValues();
            for (int i = 0; i < other.length; i++) {
                other[i] ^= (byte) (1 + r.nextInt(255));
            }
            SortedEntries after = s.withValues(other);
            for (SortedEntries t : List.of(before, after)) {
                long[] tPairs = checksumPairs(t);
                assertEquals(tPairs[0], t.keyChecksums(), "round " + round);
                assertEquals(tPairs[1], t.valueChecksums(), "round " + round);
            }
            if (other.length > 0) {
                assertFalse(after.valueChecksums() == s.valueChecksums(), "round " + round);
            }
        }
    }

    /** The keys' and the values' CRC-32C (high half) and CRC-32 (low half), through {@link SortedEntries#checksum}. */
    private static long[] checksumPairs(SortedEntries s) {
        java.util.zip.CRC32C kc = new java.util.zip.CRC32C();
        java.util.zip.CRC32C vc = new java.util.zip.CRC32C();
        s.checksum(kc, vc);
        java.util.zip.CRC32 k = new java.util.zip.CRC32();
        java.util.zip.CRC32 v = new java.util.zip.CRC32();
        s.checksum(k, v);
        return new long[] {kc.getValue() << 32 | k.getValue(), vc.getValue() << 32 | v.getValue()};
    }

    private static void le32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
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
