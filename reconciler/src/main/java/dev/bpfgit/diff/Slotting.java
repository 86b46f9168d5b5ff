package dev.bpfgit.diff;

import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.kernel.Bytes;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
     * @param maps  the maps of one space, each with its desired entries (slot fields 0) and live entries
     * @return the desired entries with slot fields filled, per map in the same order
     */
    static List<Map<Bytes, Bytes>> assign(Slots slots, List<MapDesire> maps, List<Map<Bytes, Bytes>> live,
                                          String revision) {
        int off = slots.offset();
        BitSet kept = new BitSet(slots.capacity() + 1);
        BitSet held = new BitSet(slots.capacity() + 1);
        List<Map<Bytes, Bytes>> out = new ArrayList<>();
        List<List<Bytes>> fresh = new ArrayList<>();
        for (int i = 0; i < maps.size(); i++) {
            Map<Bytes, Bytes> want = maps.get(i).entries().orElseThrow();
            Map<Bytes, Bytes> have = live.get(i);
            Map<Bytes, Bytes> merged = HashMap.newHashMap(want.size());
            List<Bytes> todo = new ArrayList<>();
            for (Bytes v : have.values()) {
                long s = u32(v, off);
                if (s >= 1 && s <= slots.capacity()) {
                    held.set((int) s);
                }
            }
            for (Map.Entry<Bytes, Bytes> e : want.entrySet()) {
                Bytes lv = have.get(e.getKey());
                long s = lv == null ? 0 : u32(lv, off);
                if (s >= 1 && s <= slots.capacity() && !kept.get((int) s)) {
                    kept.set((int) s);
                    merged.put(e.getKey(), withSlot(e.getValue(), off, s, u32(lv, off + 4)));
                } else {
                    todo.add(e.getKey());
                }
            }
            todo.sort(null);
            fresh.add(todo);
            out.add(merged);
        }
        int next = 1;
        int reuse = 1;
        for (int i = 0; i < maps.size(); i++) {
            Map<Bytes, Bytes> want = maps.get(i).entries().orElseThrow();
            for (Bytes key : fresh.get(i)) {
                int s;
                while (next <= slots.capacity() && (kept.get(next) || held.get(next))) {
                    next++;
                }
                if (next <= slots.capacity()) {
                    s = next++;
                } else {
                    while (reuse <= slots.capacity() && kept.get(reuse)) {
                        reuse++;
                    }
                    if (reuse > slots.capacity()) {
                        throw new IllegalStateException("slot space " + slots.space() + " is full ("
                                + slots.capacity() + "); validation should have refused this");
                    }
                    s = reuse++;
                }
                kept.set(s);
                out.get(i).put(key, withSlot(want.get(key), off, s, generation(key, revision)));
            }
        }
        return out;
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

    static long u32(Bytes v, int off) {
        return (v.get(off) & 0xffL) | (v.get(off + 1) & 0xffL) << 8 | (v.get(off + 2) & 0xffL) << 16
                | (v.get(off + 3) & 0xffL) << 24;
    }

    static Bytes withSlot(Bytes v, int off, long slot, long gen) {
        byte[] b = v.toArray();
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (slot >>> (8 * i));
            b[off + 4 + i] = (byte) (gen >>> (8 * i));
        }
        return Bytes.wrap(b);
    }
}
