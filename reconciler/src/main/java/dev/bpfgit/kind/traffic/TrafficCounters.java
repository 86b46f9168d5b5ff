package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
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
     * large table costs the dump of its keys, not an object per rule. Counters come by one lookup per slot when
     * few are asked for, otherwise from one batch read of the whole counters map.
     */
    public static Page read(Kernel kernel, LiveState live, Path dir, int limit) {
        Path counters = dir.resolve("counters");
        if (!live.maps().containsKey(counters)) {
            return new Page(List.of(), 0);
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
        int shown = Math.min(Math.max(limit, 0), total);
        if (shown == 0) {
            return new Page(List.of(), total);
        }
        Slots slots = shown <= LOOKUPS ? new Lookups(kernel, counters) : Dump.of(kernel.sortedEntries(counters));
        int cpus = kernel.possibleCpus();
        List<Count> out = new ArrayList<>(shown);
        for (SortedEntries t : tables) {
            for (int i = 0; i < t.size() && out.size() < shown; i++) {
                Bytes value = t.value(i);
                TrafficLayout.Rule r = TrafficLayout.rule(value);
                long[] pb = sum(slots.value(r.slot()), cpus, r.gen(), true);
                out.add(new Count(r.policy(), TrafficLayout.prefix(t.key(i)).toString(), value, pb[0], pb[1]));
            }
        }
        if (out.size() < shown) {
            long[] d = sum(slots.value(0), cpus, 0, false);
            out.add(new Count(0, "default", null, d[0], d[1]));
        }
        return new Page(out, total);
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

    /** The whole counters map read once, indexed by slot. */
    private record Dump(SortedEntries entries, int[] bySlot) implements Slots {
        static Dump of(SortedEntries entries) {
            long[] slots = new long[entries.size()];
            long max = -1;
            for (int i = 0; i < slots.length; i++) {
                slots[i] = Le.u32(entries.key(i).toArray(), 0);
                max = Math.max(max, slots[i]);
            }
            int[] bySlot = new int[(int) Math.min(max + 1, Integer.MAX_VALUE - 8)];
            java.util.Arrays.fill(bySlot, -1);
            for (int i = 0; i < slots.length; i++) {
                if (slots[i] < bySlot.length) {
                    bySlot[(int) slots[i]] = i;
                }
            }
            return new Dump(entries, bySlot);
        }

        @Override
        public byte[] value(long slot) {
            int i = slot >= 0 && slot < bySlot.length ? bySlot[(int) slot] : -1;
            return i < 0 ? null : entries.value(i).toArray();
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
