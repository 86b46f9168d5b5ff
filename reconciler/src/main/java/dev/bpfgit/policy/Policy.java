package dev.bpfgit.policy;

import java.util.Map;

/**
 * One validated policy document.
 *
 * @param locations JSON pointer (e.g. {@code /spec/rules/0/prefix}) to where that node starts, for errors
 *                  found after parsing (semantic and host checks)
 * @param digest    SHA-256 (hex) of the document's canonical form: what "this policy changed" means
 */
public record Policy(String kind, String name, HostSelector hosts, PolicySpec spec, Location location,
                     Map<String, Location> locations, String digest) {

    public Policy {
        // a document's locations (YamlDocument) are read-only already, and found only when asked for
        locations = locations instanceof LazyLocations || locations.getClass() == READ_ONLY ? locations
                : Map.copyOf(locations);
    }

    private static final Class<?> READ_ONLY = java.util.Collections.unmodifiableMap(new java.util.HashMap<>()).getClass();

    /** {@code Kind/name}, the policy's identity in plans, status and metrics. */
    public String id() {
        return kind + "/" + name;
    }

    /** Where a field of this document is, falling back to the nearest enclosing node, then the document. */
    public Location at(String pointer) {
        return nearest(locations, pointer, location);
    }

    /** The location of {@code pointer} or of its nearest ancestor in {@code locations}, else {@code whole}. */
    static Location nearest(Map<String, Location> locations, String pointer, Location whole) {
        for (String p = pointer; ; p = p.substring(0, p.lastIndexOf('/'))) {
            Location l = locations.get(p);
            if (l != null) {
                return l;
            }
            if (p.lastIndexOf('/') < 0) {
                return whole;
            }
        }
    }

    public PolicyError error(String pointer, String message) {
        return new PolicyError(at(pointer), pointer, message);
    }
}
