package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.PackedEntries;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.observe.LiveMap;
import dev.bpfgit.observe.LiveState;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-rule packet and byte counts of one TrafficPolicy unit: the per-CPU slots summed over CPUs, counting
 * only CPUs whose slot generation is the rule's (a slot still holding an older rule's counts reads 0).
 */
public final class TrafficCounters {
    /** @param policy owning policy id (32-bit), 0 for the unit's default verdict */
    public record Count(int policy, String prefix, Bytes rule, long packets, long bytes) {
    }

    private TrafficCounters() {
    }

    /** Counts of every rule in the unit at {@code dir}, and the default slot last (prefix "default"). */
    public static List<Count> read(Kernel kernel, LiveState live, Path dir) {
        return read(kernel, live, dir, Integer.MAX_VALUE).counts();
    }

    /** The first {@code counts} of {@link #read}'s list, and how many that list has in all. */
    public record Page(List<Count> counts, int total) {
    }

    /** At most this many counts read slot by slot; more, and the whole counters map is read in one batch. */
    static final int LOOKUPS = 1024;

    /**
     * The first {@code limit} counts of {@link #read} (the rules in key order, v4 then v6, then the default
     * slot): only those rules' prefixes are formatted and only their counters summed, so a capped scrape of a
     * large table costs the dump of its keys, not an object per rule.
     */
    public static Page read(Kernel kernel, LiveState live, Path dir, int limit) {
        Shown shown = shown(live, dir, limit);
        if (shown == null) {
            return new Page(List.of(), 0);
        }
        long[] counts = counts(kernel, dir, shown);
        List<Count> out = new ArrayList<>(shown.size());
        for (int i = 0; i < shown.size(); i++) {
            Bytes rule = shown.rule(i);
            out.add(rule == null
                    ? new Count(0, "default", null, counts[2 * i], counts[2 * i + 1])
                    : new Count(TrafficLayout.rule(rule).policy(), shown.prefix(i), rule, counts[2 * i],
                            counts[2 * i + 1]));
        }
        return new Page(out, shown.total());
    }

    /**
     * Which rules a read capped at some limit shows, in order (the rules in key order, v4 then v6, then the default
     * slot when it fits), and in which counter slot and generation each one counts. It depends on the unit's rule
     * maps and the cap alone: a scrape that finds the same rule maps ({@link #sameRules}) can keep what it made of
     * them (the label sets) and read only the counters again ({@link #counts}).
     */
    public static final class Shown {
        private final List<SortedEntries> tables;
        private final int limit;
        private final int total;
        private final int size;
        private final long[] slots;   // slot, then generation, per shown rule; the default slot is 0, 0
        private final boolean[] rule;

        private Shown(List<SortedEntries> tables, int limit, int total, int size) {
            this.tables = tables;
            this.limit = limit;
            this.total = total;
            this.size = size;
            this.slots = new long[2 * size];
            this.rule = new boolean[size];
            int i = 0;
            for (SortedEntries t : tables) {
                for (int j = 0; j < t.size() && i < size; j++, i++) {
                    TrafficLayout.Rule r = TrafficLayout.rule(t.value(j));
                    slots[2 * i] = r.slot();
                    slots[2 * i + 1] = r.gen();
                    rule[i] = true;
                }
            }
        }

        /** How many counts the read shows. */
        public int size() {
            return size;
        }

        /** How many the uncapped read has: every rule and the default slot. */
        public int total() {
            return total;
        }

        /** The rule map's value of the {@code i}-th shown count, or null for the default slot. */
        public Bytes rule(int i) {
            if (!rule[i]) {
                return null;
            }
            for (SortedEntries t : tables) {
                if (i < t.size()) {
                    return t.value(i);
                }
                i -= t.size();
            }
            throw new IndexOutOfBoundsException();
        }

        /** The prefix of the {@code i}-th shown count ("default" for the default slot). */
        public String prefix(int i) {
            if (!rule[i]) {
                return "default";
            }
            int j = i;
            for (SortedEntries t : tables) {
                if (j < t.size()) {
                    return TrafficLayout.prefix(t.key(j)).toString();
                }
                j -= t.size();
            }
            throw new IndexOutOfBoundsException();
        }

        /** The same rule maps, entry for entry, under the same cap: the same counts in the same slots. */
        public boolean sameRules(Shown other) {
            return other != null && limit == other.limit && tables.equals(other.tables);
        }
    }

    /** What a read of the unit at {@code dir} capped at {@code limit} shows; null when it has no counters map. */
    public static Shown shown(LiveState live, Path dir, int limit) {
        if (!live.maps().containsKey(dir.resolve("counters"))) {
            return null;
        }
        List<SortedEntries> tables = new ArrayList<>(2);
        int total = 1;
        for (String map : List.of("rules_v4", "rules_v6")) {
            LiveMap m = live.maps().get(dir.resolve(map));
            if (m != null && m.entries().isPresent() && !m.entries().get().isEmpty()) {
                SortedEntries t = m.entries().get() instanceof SortedEntries se ? se : SortedEntries.copyOf(m.entries().get());
                tables.add(t);
                total += t.size();
            }
        }
        return new Shown(List.copyOf(tables), limit, total, Math.min(Math.max(limit, 0), total));
    }

    /**
     * The packets ({@code [2i]}) and bytes ({@code [2i + 1]}) of each count {@code shown} shows, read from the
     * unit's counters map now: by one lookup per slot when few are shown, otherwise from one batch read of the
     * whole map.
     */
    public static long[] counts(Kernel kernel, Path dir, Shown shown) {
        long[] out = new long[2 * shown.size()];
        if (shown.size() == 0) {
            return out;
        }
        Path counters = dir.resolve("counters");
        Slots slots = shown.size() <= LOOKUPS ? new Lookups(kernel, counters) : Dump.of(kernel.packedEntries(counters));
        int cpus = kernel.possibleCpus();
        for (int i = 0; i < shown.size(); i++) {
            long[] pb = sum(slots.value(shown.slots[2 * i]), cpus, shown.slots[2 * i + 1], shown.rule[i]);
            out[2 * i] = pb[0];
            out[2 * i + 1] = pb[1];
        }
        return out;
    }

    /** The per-CPU value of a counter slot, or null when the map has none. */
    private interface Slots {
        byte[] value(long slot);
    }

    private record Lookups(Kernel kernel, Path counters) implements Slots {
        @Override
        public byte[] value(long slot) {
            return kernel.lookup(counters, Bytes.wrap(Le.u32(slot))).map(Bytes::toArray).orElse(null);
        }
    }

    /**
     * The whole counters map read once, in the kernel's order (no sort: a per-CPU array's keys are its slots),
     * indexed by slot.
     */
    private record Dump(PackedEntries entries, int[] bySlot) implements Slots {
        static Dump of(PackedEntries entries) {
            int n = entries.count();
            long max = -1;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, Le.u32(entries.keys(), i * entries.keySize()));
            }
            int[] bySlot = new int[(int) Math.min(max + 1, Integer.MAX_VALUE - 8)];
            java.util.Arrays.fill(bySlot, -1);
            for (int i = 0; i < n; i++) {
                long slot = Le.u32(entries.keys(), i * entries.keySize());
                if (slot < bySlot.length) {
                    bySlot[(int) slot] = i;
                }
            }
            return new Dump(entries, bySlot);
        }

        @Override
        public byte[] value(long slot) {
            int i = slot >= 0 && slot < bySlot.length ? bySlot[(int) slot] : -1;
            int size = entries.valueSize();
            return i < 0 ? null : java.util.Arrays.copyOfRange(entries.values(), i * size, (i + 1) * size);
        }
    }

    /**
     * The packets and bytes counted in one slot of the unit at {@code dir} (one lookup, not a dump); for a
     * rule, only CPUs whose slot generation is {@code gen}. Empty when the unit has no counters map.
     */
    public static java.util.Optional<long[]> slot(Kernel kernel, Path dir, long slot, long gen, boolean rule) {
        Path counters = dir.resolve("counters");
        if (kernel.mapInfo(counters).isEmpty()) {
            return java.util.Optional.empty();
        }
        byte[] value = kernel.lookup(counters, Bytes.wrap(Le.u32(slot))).map(Bytes::toArray).orElse(null);
        return java.util.Optional.of(sum(value, kernel.possibleCpus(), gen, rule));
    }

    private static long[] sum(byte[] value, int cpus, long gen, boolean checkGen) {
        long packets = 0, bytes = 0;
        if (value == null) {
            return new long[]{0, 0};
        }
        int stride = (TrafficLayout.COUNTER_SIZE + 7) & ~7;
        for (int c = 0; c < cpus && (c + 1) * stride <= value.length; c++) {
            int off = c * stride;
            if (checkGen && Le.u32(value, off + 16) != gen) {
                continue;
            }
            packets += Le.u64(value, off);
            bytes += Le.u64(value, off + 8);
        }
        return new long[]{packets, bytes};
    }
}
