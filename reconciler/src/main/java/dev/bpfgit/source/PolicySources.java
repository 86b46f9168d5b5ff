package dev.bpfgit.source;

import java.nio.file.Path;
import java.util.Optional;

/** The sidecar's source as configured: {@code source.path} or {@code source.git}, exactly one of them. */
public final class PolicySources {
    private PolicySources() {
    }

    /**
     * @param dir {@code source.path}, a directory
     * @param git {@code source.git}
     * @throws IllegalArgumentException unless exactly one is given
     */
    public static PolicySource open(Optional<Path> dir, Optional<GitSettings> git) {
        if (dir.isPresent() == git.isPresent()) {
            throw new IllegalArgumentException("the source is exactly one of source.path and source.git");
        }
        if (git.isPresent()) {
            return new GitSource(git.get());
        }
        // the directory source (file-system events) comes with the sidecar's new loop
        throw new UnsupportedOperationException("directory source " + dir.get() + ": not in this build");
    }
}
