package dev.bpfgit.diff;

import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;

import java.util.Locale;
import java.util.Optional;

/**
 * What a map costs in kernel memory, for the plan to show before a large map is created or resized. The
 * figures were measured on Linux 6.18 (x86-64) as the memory cgroup's usage delta while filling a map with
 * the prefixes of the tor-geoipdb location database (README "Geo-routing"); {@code bpftool map show}'s
 * memlock is not used because for an LPM trie it counts only the leaf nodes (52 and 64 bytes a prefix here,
 * against 144 and 208 really charged, intermediate nodes and allocator rounding included).
 */
public final class KernelMemory {
    /** LPM trie, IPv4 key (8 bytes) and a 24-byte value: 13.75 MiB per 100k prefixes. */
    static final int LPM_V4_BYTES = 144;
    /** LPM trie, IPv6 key (20 bytes) and a 24-byte value: 19.9 MiB per 100k prefixes. */
    static final int LPM_V6_BYTES = 208;
    /** Below this the plan says nothing: every small map would otherwise carry a note. */
    static final long SHOWN_FROM = 1 << 20;

    private KernelMemory() {
    }

    /**
     * The note for a map created or replaced with {@code entries} entries, or empty when the cost is small
     * or not modelled. LPM tries without preallocation cost per entry held; per-CPU arrays are preallocated
     * at max_entries, their values once per possible CPU (so it is given per CPU: the plan is computed
     * without the host's CPU count).
     */
    public static Optional<String> note(MapSpec spec, long entries) {
        if (spec.type() == MapType.LPM_TRIE && (spec.flags() & MapSpec.BPF_F_NO_PREALLOC) != 0) {
            long perEntry = (spec.keySize() <= 8 ? LPM_V4_BYTES : LPM_V6_BYTES) + Math.max(0, spec.valueSize() - 24L);
            long bytes = entries * perEntry;
            return bytes < SHOWN_FROM ? Optional.empty() : Optional.of("kernel memory about " + mib(bytes));
        }
        if (spec.type() == MapType.PERCPU_ARRAY) {
            long perCpu = (long) spec.maxEntries() * ((spec.valueSize() + 7L) / 8 * 8);
            return perCpu < SHOWN_FROM ? Optional.empty() : Optional.of("kernel memory about " + mib(perCpu)
                    + " per CPU + " + mib(spec.maxEntries() * 8L));
        }
        return Optional.empty();
    }

    /**
     * The note for several maps made now together (the two families of one table), {@code entries.get(i)} in
     * {@code specs.get(i)}: their LPM tries' cost summed; otherwise the note of the first alone.
     */
    public static Optional<String> note(java.util.List<MapSpec> specs, java.util.List<Long> entries) {
        long bytes = 0;
        for (int i = 0; i < specs.size(); i++) {
            MapSpec spec = specs.get(i);
            if (spec.type() != MapType.LPM_TRIE || (spec.flags() & MapSpec.BPF_F_NO_PREALLOC) == 0) {
                return note(specs.getFirst(), entries.getFirst());
            }
            bytes += entries.get(i) * ((spec.keySize() <= 8 ? LPM_V4_BYTES : LPM_V6_BYTES)
                    + Math.max(0, spec.valueSize() - 24L));
        }
        return bytes < SHOWN_FROM ? Optional.empty() : Optional.of("kernel memory about " + mib(bytes));
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, bytes >= 100L << 20 ? "%.0f MiB" : "%.1f MiB", bytes / 1048576.0);
    }
}
