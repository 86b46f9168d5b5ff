package dev.bpfgit.compile;

import dev.bpfgit.policy.Policy;

import java.nio.file.Path;
import java.util.List;

/**
 * What the host should run for one revision: the policies selected for this host and the units they
 * compile into, all pinned under {@code root}.
 */
public record DesiredState(Path root, String revision, List<Policy> policies, List<Unit> units) {
    public DesiredState {
        policies = List.copyOf(policies);
        units = List.copyOf(units);
    }
}
