package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.LiveMap;
import dev.bpfgit.observe.LiveState;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
        Path counters = dir.resolve("counters");
        if (!live.maps().containsKey(counters)) {
            return List.of();
        }
        int cpus = kernel.possibleCpus();
        Map<Long, byte[]> slots = new HashMap<>();
        for (Entry e : kernel.entries(counters)) {
            slots.put(Le.u32(e.key().toArray(), 0), e.value().toArray());
        }
        List<Count> out = new ArrayList<>();
        for (String map : List.of("rules_v4", "rules_v6")) {
            LiveMap m = live.maps().get(dir.resolve(map));
            if (m == null || m.entries().isEmpty()) {
                continue;
            }
            m.entries().get().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
                TrafficLayout.Rule r = TrafficLayout.rule(e.getValue());
                long[] pb = sum(slots.get(r.slot()), cpus, r.gen(), true);
                out.add(new Count(r.policy(), TrafficLayout.prefix(e.getKey()).toString(), e.getValue(), pb[0], pb[1]));
            });
        }
        long[] d = sum(slots.get(0L), cpus, 0, false);
        out.add(new Count(0, "default", null, d[0], d[1]));
        return out;
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
