package dev.bpfgit.diff;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.SortedEntries;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Slot assignment's merge path ({@code Slotting.Merge}: 8-byte keys, values of one size) against the general loop,
 * on generated tables: the same slotted entries, the same merge, and the entry changes it reports equal to the ones
 * the entry diff finds by comparing every entry (what Differ did before the merge reported them).
 */
class SlottingTest {
    // the value size of the generated tables: a rule trie's 24 bytes (SortedEntries.claimIn's one pass), or another
    private static int VALUE = 24;

    @Test
    void theMergePathAssignsAsTheGeneralLoopAndFindsTheSameChanges() {
        int kept = 0;
        int puts = 0;
        int removals = 0;
        int reused = 0;
        int onePass = 0;
        for (int seed = 1; seed <= 300; seed++) {
            Random r = new Random(seed);
            // values of 24 and 32 bytes with 8-aligned slot fields: the one pass; 20 bytes or offset 4: the other path
            VALUE = seed % 5 == 0 ? 20 : seed % 7 == 0 ? 32 : 24;
            int offset = seed % 11 == 0 ? 4 : r.nextBoolean() ? 0 : 8;
            int capacity = 8 + r.nextInt(seed % 3 == 0 ? 40 : 400);
            Slots slots = new Slots("counters", capacity, offset);
            int space = 16 + r.nextInt(300);   // addresses drawn from a small space: desired and live overlap
            // two maps of one space: an IPv4 trie (the merge path) and a map of 20-byte keys (the general loop)
            Map<Bytes, Bytes> want4 = table(r, 8, space, r.nextInt(Math.min(capacity, 200)), offset, false, capacity);
            Map<Bytes, Bytes> want6 = table(r, 20, space, r.nextInt(Math.clamp(capacity - want4.size(), 1, 8)), offset,
                    false, capacity);
            Map<Bytes, Bytes> live4 = live(r, want4, 8, space, offset, capacity);
            Map<Bytes, Bytes> live6 = live(r, want6, 20, space, offset, capacity);
            List<MapDesire> maps = List.of(desire("rules_v4", 8, want4, capacity, slots),
                    desire("rules_v6", 20, want6, capacity, slots));
            List<Map<Bytes, Bytes>> lives = List.of(live4, live6);
            List<Slotting.Assigned> merged = Slotting.assign(slots, maps, lives, "rev" + seed, true);
            List<Slotting.Assigned> general = Slotting.assign(slots, maps, lives, "rev" + seed, false);
            List<Slotting.Assigned> twoPass = Slotting.assign(slots, maps, lives, "rev" + seed, true, false);
            for (int i = 0; i < 2; i++) {
                Slotting.Assigned m = merged.get(i);
                Slotting.Assigned g = general.get(i);
                Slotting.Assigned t = twoPass.get(i);
                assertEquals(g.entries(), m.entries(), "seed " + seed + " map " + i);
                assertArrayEquals(g.at(), m.at(), "seed " + seed + " map " + i);
                assertNull(g.changes());
                // the merge without SortedEntries.claimIn's one pass: the same entries, matches and changes
                assertEquals(m.entries(), t.entries(), "seed " + seed + " map " + i);
                assertArrayEquals(m.at(), t.at(), "seed " + seed + " map " + i);
                assertEquals(m.changes() == null, t.changes() == null, "seed " + seed + " map " + i);
                if (m.changes() != null) {
                    assertArrayEquals(t.changes().puts(), m.changes().puts(), "seed " + seed + " puts");
                    assertArrayEquals(t.changes().removals(), m.changes().removals(), "seed " + seed + " removals");
                }
                if (VALUE == 24 && offset % 8 == 0 && !want4.isEmpty() && i == 0) {
                    onePass++;
                }
                if (i == 1 || want4.isEmpty()) {
                    continue;
                }
                assertNotNull(m.changes(), "seed " + seed);
                int[][] expected = changes(m.entries(), m.have(), m.at());
                assertArrayEquals(expected[0], m.changes().puts(), "seed " + seed + " puts");
                assertArrayEquals(expected[1], m.changes().removals(), "seed " + seed + " removals");
                puts += expected[0].length;
                removals += expected[1].length;
                for (int w = 0; w < m.at().length; w++) {
                    if (m.at()[w] >= 0 && m.entries().sameValue(w, m.have(), m.at()[w])) {
                        kept++;
                    }
                }
                if (want4.size() + want6.size() > capacity - 4) {
                    reused++;
                }
            }
        }
        // the generated cases cover each outcome many times
        assertTrue(kept > 1000 && puts > 1000 && removals > 300 && reused > 5 && onePass > 100,
                kept + " kept, " + puts + " puts, " + removals + " removals, " + reused + " nearly full, "
                        + onePass + " in one pass");
    }

    @AfterEach
    void rulesSize() {
        VALUE = 24;
    }

    /** What the entry diff finds comparing every entry: puts in key order, then removals in key order. */
    private static int[][] changes(SortedEntries want, SortedEntries have, int[] at) {
        List<Integer> puts = new ArrayList<>();
        boolean[] stays = new boolean[have.size()];
        for (int w = 0; w < want.size(); w++) {
            if (at[w] < 0 || !want.sameValue(w, have, at[w])) {
                puts.add(w);
            }
            if (at[w] >= 0) {
                stays[at[w]] = true;
            }
        }
        List<Integer> removals = new ArrayList<>();
        for (int j = 0; j < have.size(); j++) {
            if (!stays[j]) {
                removals.add(j);
            }
        }
        return new int[][]{puts.stream().mapToInt(Integer::intValue).toArray(),
                removals.stream().mapToInt(Integer::intValue).toArray()};
    }

    private static MapDesire desire(String name, int keySize, Map<Bytes, Bytes> entries, int capacity, Slots slots) {
        return new MapDesire(Path.of("/sys/fs/bpf/t/" + name), new MapSpec(name, MapType.LPM_TRIE, keySize, VALUE,
                capacity, 1, Optional.empty()), Optional.of(entries), EntryCodec.HEX, Optional.of(slots));
    }

    /** Up to n entries; desired ones have slot fields 0, live ones any slot (see live). */
    private static Map<Bytes, Bytes> table(Random r, int keySize, int space, int n, int offset, boolean slotted,
                                           int capacity) {
        Map<Bytes, Bytes> out = new HashMap<>();
        for (int i = 0; i < n; i++) {
            out.put(key(r, keySize, space), value(r, offset, slotted ? r.nextInt(capacity + 2) : 0, 0));
        }
        return out;
    }

    /**
     * A live table: most desired keys with their value and a slot (unique, duplicated, 0 or beyond the capacity),
     * some with another value, and keys that are not desired.
     */
    private static Map<Bytes, Bytes> live(Random r, Map<Bytes, Bytes> want, int keySize, int space, int offset,
                                          int capacity) {
        Map<Bytes, Bytes> out = new HashMap<>();
        int next = 1;
        for (Map.Entry<Bytes, Bytes> e : want.entrySet()) {
            int dice = r.nextInt(20);
            if (dice == 0) {
                continue;   // an add
            }
            int slot = dice == 1 ? 0 : dice == 2 ? capacity + 1 + r.nextInt(3) : dice == 3 ? Math.max(1, next - 1)
                    : Math.min(next++, capacity);
            byte[] v = e.getValue().toArray();
            if (dice == 4) {
                v[(offset == 0 ? 8 : 0) + r.nextInt(8)] ^= 1;   // a changed rule
            }
            putU32(v, offset, slot);
            putU32(v, offset + 4, r.nextInt());
            out.put(e.getKey(), Bytes.wrap(v));
        }
        for (int i = r.nextInt(want.size() / 10 + 3); i > 0; i--) {
            out.putIfAbsent(key(r, keySize, space), value(r, offset, r.nextInt(capacity + 2), r.nextInt()));
        }
        return out;
    }

    private static Bytes key(Random r, int keySize, int space) {
        byte[] k = new byte[keySize];
        putU32(k, 0, (keySize - 4) * 8);
        int a = r.nextInt(space);
        k[keySize - 2] = (byte) (a >>> 8);
        k[keySize - 1] = (byte) a;
        return Bytes.wrap(k);
    }

    private static Bytes value(Random r, int offset, int slot, int generation) {
        byte[] v = new byte[VALUE];
        for (int i = 0; i < VALUE; i++) {
            v[i] = (byte) r.nextInt(3);   // few distinct rules, so that many desired values equal live ones
        }
        putU32(v, offset, slot);
        putU32(v, offset + 4, generation);
        return Bytes.wrap(v);
    }

    private static void putU32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    @Test
    void keysOfAnotherSizeTakeTheGeneralLoop() {
        Slots slots = new Slots("counters", 10, 0);
        Random r = new Random(7);
        Map<Bytes, Bytes> want = table(r, 20, 50, 5, 0, false, 10);
        List<Slotting.Assigned> a = Slotting.assign(slots, List.of(desire("rules_v6", 20, want, 10, slots)),
                List.of(Map.of()), "rev", true);
        assertNull(a.getFirst().changes());
        assertEquals(want.size(), a.getFirst().entries().size());
        assertTrue(Arrays.stream(a.getFirst().at()).allMatch(j -> j == -1));
    }
    @Test
    void nextClearIsTheLowestSlotFreeInBoth() {
        Random r = new Random(3);
        for (int t = 0; t < 2000; t++) {
            int limit = 1 + r.nextInt(300);
            long[] a = new long[(limit >> 6) + 1];
            long[] b = new long[a.length];
            int dense = r.nextInt(100);
            for (int i = 1; i <= limit; i++) {
                if (r.nextInt(100) < dense) {
                    a[i >>> 6] |= 1L << i;
                }
                if (r.nextInt(100) < dense / 2) {
                    b[i >>> 6] |= 1L << i;
                }
            }
            int from = 1 + r.nextInt(limit + 1);
            for (long[] other : new long[][]{b, null}) {
                int expected = from;
                while (expected <= limit && ((a[expected >>> 6] & 1L << expected) != 0
                        || other != null && (other[expected >>> 6] & 1L << expected) != 0)) {
                    expected++;
                }
                assertEquals(Math.min(expected, limit + 1), Slotting.nextClear(a, other, from, limit),
                        "case " + t + " from " + from + " limit " + limit);
            }
        }
    }
}
