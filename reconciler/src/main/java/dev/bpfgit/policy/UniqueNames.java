package dev.bpfgit.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code metadata.name} is unique per kind: it names the pins, the plan entries and the metrics. */
public final class UniqueNames {
    private UniqueNames() {
    }

    /**
     * A document's kind and name, where it names itself: every document that names a known kind and a valid
     * name, whether or not the rest of it is valid, so that a duplicate is reported in the same pass as the
     * document's other errors.
     *
     * @param at where its {@code metadata.name} is; asked only for a duplicate, because a valid policy finds its
     *           locations by reading its document again (LazyLocations): asking for every one made a cold validate
     *           of a million rules run out of memory (UxIT)
     */
    record Named(String kind, String name, java.util.function.Supplier<Location> at) {
        static Named of(Policy p) {
            return new Named(p.kind(), p.name(), () -> p.at("/metadata/name"));
        }

        String id() {
            return kind + "/" + name;
        }
    }

    /** @param named in file order, then document order; the later of two is the one reported */
    static List<PolicyError> checkNamed(List<Named> named) {
        List<PolicyError> errors = new ArrayList<>();
        Map<String, Named> first = new HashMap<>();
        for (Named n : named) {
            Named earlier = first.putIfAbsent(n.id(), n);
            if (earlier != null) {
                errors.add(new PolicyError(n.at().get(), "/metadata/name", n.kind() + " \"" + n.name()
                        + "\" is already defined at " + where(earlier.at().get())));
            }
        }
        return errors;
    }

    /** {@code file:line}, how one error message points at another place. */
    public static String where(Location l) {
        return l.file() + ":" + l.line();
    }
}
