package dev.bpfgit.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A map as bpfgit wants it to exist. The shape (everything but the entries) decides whether a live map
 * can be kept: see {@link #incompatibilities(MapInfo)}.
 *
 * @param name    kernel object name (at most 15 characters)
 * @param btf     where the key and value types come from, so that bpftool prints typed entries
 */
public record MapSpec(String name, MapType type, int keySize, int valueSize, int maxEntries, int flags,
                      Optional<BtfTypes> btf) {

    public static final int BPF_F_NO_PREALLOC = 1;

    public MapSpec {
        Objects.requireNonNull(name);
        Objects.requireNonNull(type);
        if (name.length() > 15) {
            throw new IllegalArgumentException("map name longer than 15: " + name);
        }
    }

    /**
     * Why a live map cannot be reused for this spec; empty when it can. Each reason reads
     * {@code "max_entries: 1024 changed to 4096"}.
     */
    public List<String> incompatibilities(MapInfo live) {
        List<String> why = new ArrayList<>();
        if (live.type() != type.id) {
            why.add("type: " + live.type() + " changed to " + type.id + " (" + type + ")");
        }
        if (live.keySize() != keySize) {
            why.add("key_size: " + live.keySize() + " changed to " + keySize);
        }
        if (live.valueSize() != valueSize) {
            why.add("value_size: " + live.valueSize() + " changed to " + valueSize);
        }
        if (live.maxEntries() != maxEntries) {
            why.add("max_entries: " + live.maxEntries() + " changed to " + maxEntries);
        }
        if (live.flags() != flags) {
            why.add("flags: 0x" + Integer.toHexString(live.flags()) + " changed to 0x" + Integer.toHexString(flags));
        }
        return why;
    }

    /** Bytes of one value as user space reads and writes it: per-CPU maps hold one 8-aligned slot per possible CPU. */
    public int userValueSize(int possibleCpus) {
        return type.perCpu() ? ((valueSize + 7) & ~7) * possibleCpus : valueSize;
    }
}
