package dev.bpfgit.diff;

import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.IndexRun;
import dev.bpfgit.kernel.SortedEntries;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Gives the entries of the maps of one slot space their counter slot and generation (see {@link Slots}):
 * an entry that stays keeps its live slot; a new entry gets the lowest slot that no live entry holds
 * (so a rule being removed in the same plan does not share its counter with a new one), falling back to
 * the slots of removed entries only when the space is otherwise full.
 */
final class Slotting {
    private Slotting() {
    }

    /**
     * The desired entries of one map with their slots, and the merge that placed them: {@code at[w]} is the index
     * of desired entry {@code w}'s key in {@code have} (the live entries, sorted), or -1. The entry diff of the same
     * map against the same live entries is the same merge, so it reuses it.
     */
    record Assigned(SortedEntries entries, SortedEntries have, int[] at, Changes changes) {
    }

    /**
     * The entry diff of one map, found by the same merge: {@code puts}, the desired entries whose value (slot
     * included) is not the live one, new keys included, and {@code removals}, the live entries whose key is not
     * desired; both indices in key order. Null when the merge did not find them (entries of several sizes).
     */
    record Changes(int[] puts, int[] removals) {
    }

    /**
     * @param maps  the maps of one space, each with its desired entries (slot fields 0) and live entries
     * @return the desired entries with slot fields filled, per map in the same order
     */
    static List<Assigned> assign(Slots slots, List<MapDesire> maps, List<Map<Bytes, Bytes>> live, String revision) {
        return assign(slots, maps, live, revision, true);
    }

    /** @param merge whether a map may take {@link Merge}'s path (false: the general loop only, for tests) */
    static List<Assigned> assign(Slots slots, List<MapDesire> maps, List<Map<Bytes, Bytes>> live, String revision,
                                 boolean merge) {
        return assign(slots, maps, live, revision, merge, true);
    }

    /**
     * @param onePass whether {@link Merge} may take {@link SortedEntries#claimIn}'s one pass (false: its path for any
     *                value size only, for tests)
     */
    static List<Assigned> assign(Slots slots, List<MapDesire> maps, List<Map<Bytes, Bytes>> live, String revision,
                                 boolean merge, boolean onePass) {
        // one merge of the sorted desired and live entries per map, on packed arrays (see SortedEntries)
        int off = slots.offset();
        // plain bit arrays, not BitSets: a BitSet's set grows its words in use one call at a time (expandTo), and
        // with a bit per live entry that was a tenth of the diff at 10k
        long[] kept = new long[(slots.capacity() >> 6) + 1];
        long[] held = new long[kept.length];
        List<SortedEntries> wants = new ArrayList<>();
        List<SortedEntries> haves = new ArrayList<>();
        List<int[]> ats = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        List<int[]> fresh = new ArrayList<>();
        List<Merge> merges = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            SortedEntries want = SortedEntries.copyOf(maps.get(i).entries().orElseThrow());
            SortedEntries have = SortedEntries.copyOf(live.get(i));
            Merge fast = merge ? Merge.of(want, have, slots, kept, held, onePass) : null;
            merges.add(fast);
            if (fast != null) {
                wants.add(want);
                haves.add(have);
                ats.add(fast.at);
                values.add(fast.merged);
                fresh.add(fast.fresh);
                continue;
            }
            for (int j = 0; j < have.size(); j++) {
                long s = have.valueU32(j, off);
                if (s >= 1 && s <= slots.capacity()) {
                    set(held, (int) s);
                }
            }
            int[] at = want.indexIn(have);
            byte[] merged = want.copyOfValues();
            int[] todo = new int[want.size()];
            int todos = 0;
            for (int w = 0; w < want.size(); w++) {   // in key order
                int j = at[w];
                long s = j < 0 ? 0 : have.valueU32(j, off);
                if (s >= 1 && s <= slots.capacity() && !get(kept, (int) s)) {
                    set(kept, (int) s);
                    // the desired value with the live slot and generation: for an unchanged rule, the live value
                    setSlot(merged, want, w, off, s, have.valueU32(j, off + 4));
                } else {
                    todo[todos++] = w;   // in key order, as sorted before
                }
            }
            wants.add(want);
            haves.add(have);
            ats.add(at);
            values.add(merged);
            fresh.add(Arrays.copyOf(todo, todos));
        }
        int next = 1;
        int reuse = 1;
        byte[] rev = revision.getBytes(StandardCharsets.UTF_8);   // once, not once per new entry
        for (int i = 0; i < maps.size(); i++) {
            SortedEntries want = wants.get(i);
            for (int w : fresh.get(i)) {
                int s;
                if (merge) {
                    // a word at a time: with 10k rules staying, the first free slot is 10k bits on
                    next = nextClear(kept, held, next, slots.capacity());
                } else {
                    while (next <= slots.capacity() && (get(kept, next) || get(held, next))) {
                        next++;
                    }
                }
                if (next <= slots.capacity()) {
                    s = next++;
                } else {
                    if (merge) {
                        reuse = nextClear(kept, null, reuse, slots.capacity());
                    }
                    while (reuse <= slots.capacity() && get(kept, reuse)) {
                        reuse++;
                    }
                    if (reuse > slots.capacity()) {
                        throw new IllegalStateException("slot space " + slots.space() + " is full ("
                                + slots.capacity() + "); validation should have refused this");
                    }
                    s = reuse++;
                }
                set(kept, s);
                setSlot(values.get(i), want, w, off, s, generation(want.key(w), rev));
            }
        }
        List<Assigned> out = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            SortedEntries entries = wants.get(i).withValues(values.get(i));
            Merge m = merges.get(i);
            out.add(new Assigned(entries, haves.get(i), ats.get(i), m == null ? null : m.changes(entries, haves.get(i))));
        }
        return out;
    }

    /**
     * One merge of a map's desired and live entries when both have keys of 8 bytes and values of one size (a rule
     * trie's): the live slots in one pass, then one pass over the desired entries in key order that keeps each
     * staying entry's slot, collects the entries that need a new one, and tells which entries change and which live
     * ones go, so that the entry diff need not compare the same entries again. The same results as the general
     * loop of {@link #assign}.
     */
    private static final class Merge {
        final int[] at;          // as Assigned.at
        final byte[] merged;     // the desired values with the kept slots
        final int[] fresh;       // desired entries that need a new slot, in key order
        final int[] candidates;  // desired entries that may change (new key, other value, or a new slot), key order
        final int[] removals;    // live entries whose key is not desired, in key order

        private Merge(int[] at, byte[] merged, int[] fresh, int[] candidates, int[] removals) {
            this.at = at;
            this.merged = merged;
            this.fresh = fresh;
            this.candidates = candidates;
            this.removals = removals;
        }

        static Merge of(SortedEntries want, SortedEntries have, Slots slots, long[] kept, long[] held,
                        boolean onePass) {
            int off = slots.offset();
            int v = want.fixedValueSize();
            if (want.fixedKeySize() != Long.BYTES || have.size() > 0 && (have.fixedKeySize() != Long.BYTES
                    || have.fixedValueSize() != v) || v < off + 8 || off < 0) {
                return null;
            }
            // the trie's shape (values a multiple of 8 bytes, the slot fields 8-aligned): one pass (SortedEntries)
            SortedEntries.Claimed c = onePass ? want.claimIn(have, off, slots.capacity(), kept, held) : null;
            if (c != null) {
                return new Merge(c.at(), c.values(), c.unclaimed(), c.candidates(), c.gone());
            }
            return ofAnySize(want, have, slots, kept, held);
        }

        /** {@link #of} for values of other sizes: the live slots, the matches, then a pass over them. */
        private static Merge ofAnySize(SortedEntries want, SortedEntries have, Slots slots, long[] kept, long[] held) {
            int off = slots.offset();
            long capacity = slots.capacity();
            long[] live = have.valueLongsLE(off);   // slot (low half) and generation (high half) of each live entry
            for (long sg : live) {
                long s = sg & 0xffffffffL;
                if (s >= 1 && s <= capacity) {
                    set(held, (int) s);
                }
            }
            // at[w] as SortedEntries.matchIn: the value compared beside the slot fields, which a kept slot copies
            int[] match = want.matchIn(have, off, off + 8);
            int n = want.size();
            int[] at = new int[n];
            byte[] merged = want.copyOfValues();
            IndexRun todo = new IndexRun(n);
            IndexRun maybe = new IndexRun(n);
            IndexRun gone = new IndexRun(have.size());
            int prev = -1;   // the last live entry matched: those between two matched ones are not desired
            for (int w = 0; w < n; w++) {
                int m = match[w];
                int j = m >= -1 ? m : -2 - m;
                at[w] = j;
                boolean change = m < 0;   // a new key (-1), or a value that differs beside the slot (-2 - j)
                if (j >= 0) {
                    for (int r = prev + 1; r < j; r++) {
                        gone.add(r);
                    }
                    prev = j;
                    long sg = live[j];
                    long s = sg & 0xffffffffL;
                    if (s >= 1 && s <= capacity && !get(kept, (int) s)) {
                        set(kept, (int) s);
                        // the desired value with the live slot and generation: for an unchanged rule, the live value
                        putU64(merged, want.valueOffset(w) + off, sg);
                    } else {
                        todo.add(w);
                        change = true;   // a new slot: compared once it is known
                    }
                } else {
                    todo.add(w);
                }
                if (change) {
                    maybe.add(w);
                }
            }
            for (int r = prev + 1; r < have.size(); r++) {
                gone.add(r);
            }
            return new Merge(at, merged, todo.toArray(), maybe.toArray(), gone.toArray());
        }

        /**
         * With the slots all assigned: the desired entries that change, as the entry diff compares them. Only a
         * candidate that took a new slot for a live key is compared again: a new key is a put, and a candidate
         * that kept its live slot is one whose value differs beside the slot (the merge compared it), so a put.
         */
        Changes changes(SortedEntries entries, SortedEntries have) {
            int[] puts = new int[candidates.length];
            int k = 0;
            int u = 0;   // fresh is a subset of candidates, both in key order
            for (int w : candidates) {
                boolean slotted = u < fresh.length && fresh[u] == w;
                if (slotted) {
                    u++;
                }
                if (at[w] < 0 || !slotted || !entries.sameValue(w, have, at[w])) {
                    puts[k++] = w;
                }
            }
            if (u != fresh.length) {
                throw new IllegalStateException("an entry with a new slot is no candidate");
            }
            return new Changes(Arrays.copyOf(puts, k), removals);
        }
    }

    /** Eight bytes as a little-endian u64 (slot, then generation), as byte stores (see {@link #putU32}). */
    private static void putU64(byte[] b, int at, long v) {
        Objects.checkFromIndexSize(at, 8, b.length);
        putU32(b, at, (int) v);
        putU32(b, at + 4, (int) (v >>> 32));
    }

    /**
     * The lowest {@code i >= from} set in neither {@code a} nor {@code b} (null: none), or {@code limit + 1} when
     * there is none up to {@code limit}; whole words of set bits are skipped at once.
     */
    static int nextClear(long[] a, long[] b, int from, int limit) {
        if (from > limit) {
            return limit + 1;
        }
        int w = from >>> 6;
        long free = ~(a[w] | (b == null ? 0 : b[w])) & -1L << (from & 63);
        while (free == 0) {
            if (++w >= a.length) {
                return limit + 1;
            }
            free = ~(a[w] | (b == null ? 0 : b[w]));
        }
        int i = (w << 6) + Long.numberOfTrailingZeros(free);
        return i <= limit ? i : limit + 1;
    }

    private static boolean get(long[] bits, int i) {
        return (bits[i >>> 6] & 1L << i) != 0;
    }

    private static void set(long[] bits, int i) {
        bits[i >>> 6] |= 1L << i;
    }

    /** Writes slot and generation into value {@code w} of {@code entries}, packed in {@code values}. */
    private static void setSlot(byte[] values, SortedEntries entries, int w, int off, long slot, long gen) {
        Objects.checkFromIndexSize(off, 8, entries.valueSize(w));
        int at = entries.valueOffset(w) + off;
        putU32(values, at, (int) slot);
        putU32(values, at + 4, (int) gen);
    }

    /**
     * Slot and generation are little-endian u32s in the value (the datapath's struct). Byte stores, not a byte-array
     * VarHandle: in this loop the JIT left the VarHandle's set and index calls out of line, 17% of a 10k diff's
     * samples (JFR).
     */
    private static void putU32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    /** A non-zero generation that differs for a different key or revision, and is the same when re-planned. */
    static long generation(Bytes key, String revision) {
        return generation(key, revision.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #generation(Bytes, String)} of the revision's UTF-8 bytes. */
    private static long generation(Bytes key, byte[] revision) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < key.size(); i++) {
            h = (h ^ (key.get(i) & 0xff)) * 0x100000001b3L;
        }
        for (byte b : revision) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long g = (h ^ (h >>> 32)) & 0xffffffffL;
        return g == 0 ? 1 : g;
    }
}
