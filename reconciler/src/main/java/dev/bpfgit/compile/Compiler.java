package dev.bpfgit.compile;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.policy.TrafficPolicySpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Compile: validated policies + host facts → the desired state. Pure: no kernel, no files but the BPF
 * objects shipped in the jar. Host-specific mistakes (an interface this host lacks) are policy errors
 * with file:line:column, raised together.
 */
public final class Compiler {
    private Compiler() {
    }

    public static DesiredState compile(Path root, String revision, List<Policy> all, HostFacts host) {
        List<Policy> selected = all.stream()
                .filter(p -> p.hosts().selects(host.name(), host.labels()))
                .toList();
        List<PolicyError> errors = new ArrayList<>();
        List<Policy> traffic = new ArrayList<>();
        for (Policy p : selected) {
            switch (p.spec()) {
                case TrafficPolicySpec s -> traffic.add(p);
            }
        }
        List<Unit> units = new ArrayList<>(TrafficCompiler.compile(root, traffic, host, errors));
        if (!errors.isEmpty()) {
            throw new PolicyException(errors);
        }
        return new DesiredState(root, revision, selected, units);
    }
}
