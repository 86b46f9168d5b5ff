package dev.bpfgit.policy;

import java.util.AbstractMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The positions of a document's nodes, found when first asked for: by reading the file again with positions
 * on. A valid policy is mostly never asked (its positions serve errors, explain and a few plan notes), and
 * keeping a pointer and a position for each of the 400,000 nodes of 100,000 rules cost more than reading
 * them: time, garbage and memory held for as long as the policy is.
 */
final class LazyLocations extends AbstractMap<String, Location> {
    private final Supplier<Map<String, Location>> read;
    private volatile Map<String, Location> map;

    LazyLocations(Supplier<Map<String, Location>> read) {
        this.read = read;
    }

    /** Whether the positions were read: a valid policy's load should not have needed them (PolicyLoaderTest). */
    boolean found() {
        return map != null;
    }

    private Map<String, Location> map() {
        Map<String, Location> m = map;
        if (m == null) {
            synchronized (this) {
                if (map == null) {
                    map = Map.copyOf(read.get());
                }
                m = map;
            }
        }
        return m;
    }

    @Override
    public Location get(Object key) {
        return map().get(key);
    }

    @Override
    public boolean containsKey(Object key) {
        return map().containsKey(key);
    }

    @Override
    public Set<Entry<String, Location>> entrySet() {
        return map().entrySet();
    }
}
