package dev.bpfgit.policy;

import java.util.List;
import java.util.Map;

/** {@code spec.hosts}: names are globs; a host is selected when one glob matches and it has every label. */
public record HostSelector(List<String> names, Map<String, String> labels) {
    public static final HostSelector ALL = new HostSelector(List.of(), Map.of());

    public HostSelector {
        names = List.copyOf(names);
        labels = Map.copyOf(labels);
    }

    public boolean selects(String hostname, Map<String, String> hostLabels) {
        boolean nameOk = names.isEmpty() || names.stream().anyMatch(g -> matches(g, hostname));
        return nameOk && labels.entrySet().stream().allMatch(e -> e.getValue().equals(hostLabels.get(e.getKey())));
    }

    /**
     * False only when no host can be selected by both: a label required with two different values, or name
     * lists with nothing in common. Validation has no host list, so two globs are assumed to meet.
     */
    public boolean mayOverlap(HostSelector other) {
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String theirs = other.labels.get(e.getKey());
            if (theirs != null && !theirs.equals(e.getValue())) {
                return false;
            }
        }
        if (names.isEmpty() || other.names.isEmpty()) {
            return true;
        }
        return names.stream().anyMatch(a -> other.names.stream().anyMatch(b -> mayMeet(a, b)));
    }

    private static boolean mayMeet(String a, String b) {
        if (literal(a)) {
            return matches(b, a);
        }
        return !literal(b) || matches(a, b);
    }

    private static boolean literal(String glob) {
        return glob.chars().noneMatch(c -> "*?[{\\".indexOf(c) >= 0);
    }

    /** A glob that does not compile (validation reports it) selects nothing. */
    private static boolean matches(String glob, String name) {
        try {
            return Glob.compile(glob).matches(name);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
