package dev.bpfgit.kind.sockterm;

import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.policy.PolicySpec;
import dev.bpfgit.policy.Prefix;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code kind: SocketTermination}: terminate the connected sockets to destinations that are gone.
 *
 * @param netns  the sockets' network namespace (a path); empty: bpfgit's own
 * @param cgroup only sockets of processes in this cgroup v2 (or below), a path below the cgroup v2 root
 */
public record SocketTerminationSpec(Set<SocketProtocol> protocols, List<Destination> destinations,
                                    Optional<String> netns, Optional<String> cgroup, Mode mode) implements PolicySpec {
    public SocketTerminationSpec {
        protocols = Set.copyOf(protocols);
        destinations = List.copyOf(destinations);
    }

    public enum Mode {
        ONCE("once"), CONTINUOUS("continuous");

        public final String yaml;

        Mode(String yaml) {
            this.yaml = yaml;
        }

        static Mode of(String yaml) {
            return yaml.equals("continuous") ? CONTINUOUS : ONCE;
        }
    }

    /**
     * @param index its place in {@code spec.destinations} plus one: its id in the maps
     * @param ports empty: every port
     */
    public record Destination(int index, Prefix prefix, Set<Integer> ports) {
        public Destination {
            ports = Set.copyOf(ports);
        }
    }
}
