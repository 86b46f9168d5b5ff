package dev.bpfgit.diff;

import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.kernel.Bytes;
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
    record Assigned(SortedEntries entries, SortedEntries have, int[] at) {
    }

    /**
     * @param maps  the maps of one space, each with its desired entries (slot fields 0) and live entries
     * @return the desired entries with slot fields filled, per map in the same order
     */
    static List<Assigned> assign(Slots slots, List<MapDesire> maps, List<Map<Bytes, Bytes>> live, String revision) {
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
        for (int i = 0; i < maps.size(); i++) {
            SortedEntries want = SortedEntries.copyOf(maps.get(i).entries().orElseThrow());
            SortedEntries have = SortedEntries.copyOf(live.get(i));
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
        for (int i = 0; i < maps.size(); i++) {
            SortedEntries want = wants.get(i);
            for (int w : fresh.get(i)) {
                int s;
                while (next <= slots.capacity() && (get(kept, next) || get(held, next))) {
                    next++;
                }
                if (next <= slots.capacity()) {
                    s = next++;
                } else {
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
                setSlot(values.get(i), want, w, off, s, generation(want.key(w), revision));
            }
        }
        List<Assigned> out = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            out.add(new Assigned(wants.get(i).withValues(values.get(i)), haves.get(i), ats.get(i)));
        }
        return out;
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
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < key.size(); i++) {
            h = (h ^ (key.get(i) & 0xff)) * 0x100000001b3L;
        }
        for (byte b : revision.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        long g = (h ^ (h >>> 32)) & 0xffffffffL;
        return g == 0 ? 1 : g;
    }
}
