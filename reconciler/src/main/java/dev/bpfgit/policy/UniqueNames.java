package dev.bpfgit.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code metadata.name} is unique per kind: it names the pins, the plan entries and the metrics. */
public final class UniqueNames {
    private UniqueNames() {
    }

    /** @param policies in file order; the later of two is the one reported */
    static List<PolicyError> check(List<Policy> policies) {
        List<PolicyError> errors = new ArrayList<>();
        Map<String, Policy> first = new HashMap<>();
        for (Policy p : policies) {
            Policy earlier = first.putIfAbsent(p.id(), p);
            if (earlier != null) {
                errors.add(p.error("/metadata/name", p.kind() + " \"" + p.name() + "\" is already defined at "
                        + where(earlier.at("/metadata/name"))));
            }
        }
        return errors;
    }

    /** {@code file:line}, how one error message points at another place. */
    public static String where(Location l) {
        return l.file() + ":" + l.line();
    }
}
