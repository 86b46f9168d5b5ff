package dev.bpfgit.compile;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.SortedEntries;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A map bpfgit wants pinned at {@code pin}. {@code entries} empty means the contents are not policy
 * (statistics written by the datapath) and are never diffed.
 */
public record MapDesire(Path pin, MapSpec spec, Optional<Map<Bytes, Bytes>> entries, EntryCodec codec,
                        Optional<Slots> slots) {
    public MapDesire {
        entries = entries.map(SortedEntries::copyOf);   // immutable, and packed: see SortedEntries
    }

    public String name() {
        return pin.getFileName().toString();
    }
}
