package dev.bpfgit.compile;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.source.Commit;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What the host should run for one revision: the policies selected for this host and the units they
 * compile into, all pinned under {@code root}.
 *
 * @param commit the git commit the revision is, for status (subject, author time)
 */
public record DesiredState(Path root, String revision, List<Policy> policies, List<Unit> units,
                           Optional<Commit> commit) {
    public DesiredState {
        policies = List.copyOf(policies);
        units = List.copyOf(units);
    }

    public DesiredState(Path root, String revision, List<Policy> policies, List<Unit> units) {
        this(root, revision, policies, units, Optional.empty());
    }

    public DesiredState withCommit(Optional<Commit> c) {
        return new DesiredState(root, revision, policies, units, c);
    }
}
