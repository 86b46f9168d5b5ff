package dev.bpfgit.compile;

import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Compile: validated policies + host facts → the desired state. Pure: no kernel, no files but the BPF
 * objects shipped in the jar. Host-specific mistakes (an interface this host lacks) are policy errors
 * with file:line:column, raised together.
 */
public final class Compiler {
    private Compiler() {
    }

    public static DesiredState compile(Path root, String revision, List<Policy> all, HostFacts host) {
        return compile(Kinds.BUILT_IN, root, revision, all, host);
    }

    /** Each kind compiles its own policies, in the order the kinds are registered. */
    public static DesiredState compile(Kinds kinds, Path root, String revision, List<Policy> all, HostFacts host) {
        List<Policy> selected = all.stream()
                .filter(p -> p.hosts().selects(host.name(), host.labels()))
                .toList();
        List<PolicyError> errors = new ArrayList<>();
        List<Unit> units = new ArrayList<>();
        for (PolicyKind kind : kinds.all()) {
            List<Policy> mine = selected.stream().filter(p -> p.kind().equals(kind.name())).toList();
            if (!mine.isEmpty()) {
                units.addAll(kind.compile(root, mine, host, errors));
            }
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(errors);
        }
        requireFeatures(kinds, selected, host);
        return new DesiredState(root, revision, selected, units);
    }

    /** Every feature a selected policy needs is on the host, or a {@link NotSupportedException} names them all. */
    static void requireFeatures(Kinds kinds, List<Policy> selected, HostFacts host) {
        Map<Feature, List<String>> missing = new TreeMap<>();
        for (Policy p : selected) {
            for (Feature f : kinds.named(p.kind()).features(p, host.features())) {
                if (!host.features().has(f)) {
                    missing.computeIfAbsent(f, k -> new ArrayList<>()).add(p.id() + " (" + p.location() + ")");
                }
            }
        }
        if (!missing.isEmpty()) {
            List<NotSupportedException.Missing> list = new ArrayList<>();
            missing.forEach((f, ps) -> list.add(new NotSupportedException.Missing(f, ps)));
            throw new NotSupportedException(host.features().kernel(), list);
        }
    }
}
