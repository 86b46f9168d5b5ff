package dev.bpfgit.compile;

import java.util.Map;
import java.util.TreeMap;

/**
 * What compile needs to know about the host it compiles for: its name and labels (for {@code spec.hosts})
 * and its interfaces (redirect targets). Read from the kernel for live plans, from a state file in CI.
 */
public record HostFacts(String name, Map<String, String> labels, Map<String, Integer> interfaces) {
    public HostFacts {
        labels = Map.copyOf(labels);
        interfaces = Map.copyOf(new TreeMap<>(interfaces));
    }
}
