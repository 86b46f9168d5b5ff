package dev.bpfgit.compile;

import java.util.Map;
import java.util.TreeMap;

/**
 * What compile needs to know about the host it compiles for: its name and labels (for {@code spec.hosts})
 * and its interfaces (redirect targets). Read from the kernel for live plans, from a state file in CI.
 *
 * @param cgroups the host's cgroup v2 cgroups ({@code /a/b}) with their ids; empty when not known (a plan
 *                without a kernel or state file), then every cgroup a policy names is assumed to exist
 */
public record HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces,
                        java.util.Optional<Map<String, Long>> cgroups) {
    public HostFacts {
        labels = Map.copyOf(labels);
        interfaces = Map.copyOf(new TreeMap<>(interfaces));
        cgroups = cgroups.map(c -> Map.copyOf(new TreeMap<>(c)));
    }

    /** Cgroups not known. */
    public HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces) {
        this(name, labels, interfaces, java.util.Optional.empty());
    }
}
