package dev.bpfgit.kernel;

import java.util.OptionalLong;

/**
 * Counts, per map id, the elements written or deleted through bpf(2) by any process, from the moment a map
 * is watched: the kernel's own account of who touched a map, without reading it.
 *
 * <p>A count is taken after the write is in the map. So a reader that reads a map's count <em>before</em>
 * reading its contents, and finds the same count later, knows no bpf(2) write reached the map in between.
 * Writes made by BPF programs are not syscalls and are not counted; {@link #unresolved} counts writes whose
 * map could not be told (then no count can be trusted until every map is read again).
 */
public interface MapWriteCounter extends AutoCloseable {

    /** Starts counting writes to the map; a map already watched keeps its count. */
    void watch(int mapId);

    /** Stops counting (the map is gone, or no longer read). */
    void unwatch(int mapId);

    /** The count since {@link #watch}; empty when the map is not watched (never, or the table was full). */
    OptionalLong writes(int mapId);

    /** Writes whose map could not be resolved, since the counter was loaded. */
    long unresolved();

    /** Detaches the counter and frees it. */
    @Override
    void close();
}
