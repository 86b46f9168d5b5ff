package dev.bpfgit.run;

import dev.bpfgit.source.DirectoryPolicySource;
import dev.bpfgit.source.PolicySource;

import java.time.Clock;
import java.time.Duration;

/**
 * The sidecar's source as {@code bpfgit.yaml} configures it (exactly one of {@code source.path} and
 * {@code source.git}), and how often the loop asks it whether it moved. It lives here, not in
 * {@code source}, so that the source stage does not depend on the daemon's configuration.
 */
public final class PolicySources {
    private PolicySources() {
    }

    /** @throws IllegalArgumentException when the configuration names no source */
    public static PolicySource open(Config config, Clock clock) {
        return config.sourcePath()
                .<PolicySource>map(p -> new DirectoryPolicySource(p, checkInterval(config), clock))
                .orElseThrow(() -> new IllegalArgumentException(
                        "source.path is required (the directory of policy files)"));
    }

    /**
     * How often {@link PolicySource#head} is asked: for a directory, a safety re-check besides its change
     * events, every {@code reconcile.interval}; for git, {@code source.git.interval}.
     */
    public static Duration checkInterval(Config config) {
        return config.interval();
    }
}
