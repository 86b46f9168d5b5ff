package dev.bpfgit.compile;

import dev.bpfgit.kernel.Features;

import java.util.Map;
import java.util.TreeMap;

/**
 * What compile needs to know about the host it compiles for: its name and labels (for {@code spec.hosts}),
 * its interfaces (redirect targets), its cgroups and what its kernel can do (which attach mode, or that a
 * policy cannot work there). Read from the kernel for live plans, from a state file in CI; a plan with
 * neither assumes a current kernel ({@link Features#ALL}).
 *
 * @param cgroups the host's cgroup v2 cgroups ({@code /a/b}) with their ids; empty when not known (a plan
 *                without a kernel or state file), then every cgroup a policy names is assumed to exist
 */
public record HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces,
                        java.util.Optional<Map<String, Long>> cgroups, Features features) {
    public HostFacts {
        labels = Map.copyOf(labels);
        interfaces = Map.copyOf(new TreeMap<>(interfaces));
        cgroups = cgroups.map(c -> Map.copyOf(new TreeMap<>(c)));
    }

    /** Cgroups not known, a current kernel. */
    public HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces) {
        this(name, labels, interfaces, java.util.Optional.empty(), Features.ALL);
    }

    /** A current kernel. */
    public HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces,
                     java.util.Optional<Map<String, Long>> cgroups) {
        this(name, labels, interfaces, cgroups, Features.ALL);
    }

    /** Cgroups not known. */
    public HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces, Features features) {
        this(name, labels, interfaces, java.util.Optional.empty(), features);
    }

    public HostFacts withFeatures(Features f) {
        return new HostFacts(name, labels, interfaces, cgroups, f);
    }
}
