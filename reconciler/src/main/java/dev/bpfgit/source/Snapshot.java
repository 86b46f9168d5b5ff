package dev.bpfgit.source;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The policy files of one revision, read completely before anything else happens.
 *
 * @param revision a git commit id, or {@code "dir:" + sha256 of the files} for a directory
 * @param files    file path as shown to users (relative to the source root, or as given) to its text
 * @param commit   the commit it came from, for a git source
 */
public record Snapshot(String revision, Map<String, String> files, Optional<Commit> commit) {
    public Snapshot {
        files = Map.copyOf(new TreeMap<>(files));
    }

    public Snapshot(String revision, Map<String, String> files) {
        this(revision, files, Optional.empty());
    }
}
