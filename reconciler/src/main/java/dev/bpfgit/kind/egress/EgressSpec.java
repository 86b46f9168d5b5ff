package dev.bpfgit.kind.egress;

import dev.bpfgit.policy.PolicySpec;
import dev.bpfgit.policy.Prefix;

import java.util.List;
import java.util.Optional;

/**
 * {@code kind: EgressTimeout}: per-destination timeouts of the connections a cgroup's processes open.
 *
 * @param cgroup below the cgroup v2 root, starting with {@code /}
 * @param netns  the network namespace whose sockets the idle reaper walks; empty: bpfgit's own
 */
public record EgressSpec(String cgroup, List<Destination> destinations, Timeouts timeouts, Optional<String> netns)
        implements PolicySpec {
    public EgressSpec {
        destinations = List.copyOf(destinations);
    }

    /** @param index its position in {@code spec.destinations} */
    public record Destination(int index, Prefix prefix) {
    }

    /** Milliseconds; 0 leaves the system default. */
    public record Timeouts(long synMs, long establishedMs, long finMs, long userMs, long anyMs) {
        /** Whether a timeout needs the sidecar's reaper (the socket layer has no idle timeout). */
        public boolean needsReaper() {
            return establishedMs > 0 || anyMs > 0 || finMs > 0;
        }
    }
}
