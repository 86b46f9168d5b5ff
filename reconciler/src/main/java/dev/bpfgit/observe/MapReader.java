package dev.bpfgit.observe;

import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;

import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * How a reader outside the loop (the /metrics scrape) reads maps: {@link Kernel#readMap}, or with the write
 * counter the contents the loop kept while the kernel counted no write to them ({@link EntryCache#readingKept}).
 */
@FunctionalInterface
public interface MapReader {
    /** As {@link Kernel#readMap}: the map's info and, when {@code withEntries} accepts it, its entries. */
    Optional<Kernel.MapRead> readMap(Path pin, Predicate<MapInfo> withEntries);

    /** Straight from the kernel. */
    static MapReader of(Kernel kernel) {
        return kernel::readMap;
    }
}
