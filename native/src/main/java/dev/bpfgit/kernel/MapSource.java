package dev.bpfgit.kernel;

import java.nio.file.Path;
import java.util.Map;

/**
 * A map bound to a program for {@link Kernel#runIterators(ObjectFile, java.util.List, Map, java.util.Optional)}:
 * one that is pinned, or one made for that run only, filled, and gone after it.
 */
public sealed interface MapSource {
    record Pinned(Path pin) implements MapSource {
    }

    /** Never pinned: the programs see {@code entries} and nothing else sees the map. */
    record Temporary(MapSpec spec, Map<Bytes, Bytes> entries) implements MapSource {
        public Temporary {
            entries = Map.copyOf(entries);
        }
    }
}
