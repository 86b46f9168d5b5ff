package dev.bpfgit.source;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/** The sidecar's source as configured: {@code source.path} or {@code source.git}, exactly one of them. */
public final class PolicySources {
    /** A directory's safety re-read when no interval is given. */
    static final Duration DEFAULT_RECHECK = Duration.ofSeconds(60);

    private PolicySources() {
    }

    /**
     * @param dir {@code source.path}, a directory
     * @param git {@code source.git}
     * @throws IllegalArgumentException unless exactly one is given
     */
    public static PolicySource open(Optional<Path> dir, Optional<GitSettings> git) {
        return open(dir, git, DEFAULT_RECHECK, Clock.systemUTC());
    }

    /**
     * @param recheck for a directory, how often it is read again besides its change events (in case an event
     *                was lost); the sidecar passes {@code reconcile.interval}
     */
    public static PolicySource open(Optional<Path> dir, Optional<GitSettings> git, Duration recheck, Clock clock) {
        if (dir.isPresent() == git.isPresent()) {
            throw new IllegalArgumentException("the source is exactly one of source.path and source.git");
        }
        if (git.isPresent()) {
            return new GitSource(git.get());
        }
        return new DirectoryPolicySource(dir.get(), recheck, clock);
    }

    /**
     * How often the sidecar asks the source for its head: {@code source.git.interval} for git, {@code recheck}
     * (events do the rest) for a directory.
     */
    public static Duration checkInterval(Optional<GitSettings> git, Duration recheck) {
        return git.map(GitSettings::interval).orElse(recheck);
    }
}
