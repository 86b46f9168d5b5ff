package dev.bpfgit.compile;

import dev.bpfgit.kernel.Features;

import java.util.Map;
import java.util.TreeMap;

/**
 * What compile needs to know about the host it compiles for: its name and labels (for {@code spec.hosts}),
 * its interfaces (redirect targets) and what its kernel can do (which attach mode, or that a policy cannot
 * work there). Read from the kernel for live plans, from a state file in CI; a plan with neither assumes a
 * current kernel ({@link Features#ALL}).
 */
public record HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces,
                        Features features) {
    public HostFacts {
        labels = Map.copyOf(labels);
        interfaces = Map.copyOf(new TreeMap<>(interfaces));
    }

    public HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces) {
        this(name, labels, interfaces, Features.ALL);
    }

    public HostFacts withFeatures(Features f) {
        return new HostFacts(name, labels, interfaces, f);
    }
}
