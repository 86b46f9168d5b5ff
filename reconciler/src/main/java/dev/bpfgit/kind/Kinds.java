package dev.bpfgit.kind;

import dev.bpfgit.kind.egress.EgressKind;
import dev.bpfgit.kind.reuseport.ReusePortKind;
import dev.bpfgit.kind.sockterm.SocketTerminationKind;
import dev.bpfgit.kind.traffic.TrafficKind;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The registered policy kinds and the root schema that dispatches documents to their schemas. The stages
 * ask this registry, never a kind's name.
 *
 * @param schema the root policy schema, e.g. {@code classpath:schema/policy.schema.json}
 */
public record Kinds(String schema, List<PolicyKind> all) {

    /** The kinds bpfgit ships: one line per kind. */
    public static final Kinds BUILT_IN = new Kinds("classpath:schema/policy.schema.json", List.of(
            new TrafficKind(),
            new ReusePortKind(),
            new SocketTerminationKind(),
            new EgressKind()
    ));

    public Kinds {
        all = List.copyOf(all);
        Map<String, PolicyKind> names = new LinkedHashMap<>();
        Map<String, PolicyKind> dirs = new LinkedHashMap<>();
        for (PolicyKind k : all) {
            if (names.put(k.name(), k) != null || dirs.put(k.directory(), k) != null) {
                throw new IllegalArgumentException("two kinds named " + k.name() + " or in directory "
                        + k.directory());
            }
        }
    }

    /** The kind of documents with {@code kind: name}; the schema has accepted only registered kinds. */
    public PolicyKind named(String name) {
        return find(name).orElseThrow(() -> new IllegalStateException("the schema accepted kind " + name
                + " that is not registered"));
    }

    public Optional<PolicyKind> find(String name) {
        // a loop: every diff asks once per unit, and the stream was 3% of a warm 10k diff's samples (JFR)
        for (PolicyKind k : all) {
            if (k.name().equals(name)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }

    /** The kind whose units live under {@code rel} (relative to the pin root), by its first segment. */
    public Optional<PolicyKind> owning(Path rel) {
        if (rel.getNameCount() == 0 || rel.toString().isEmpty()) {
            return Optional.empty();
        }
        String first = rel.getName(0).toString();
        return all.stream().filter(k -> k.directory().equals(first)).findFirst();
    }
}
