package dev.bpfgit.kernel;

import java.util.Collection;
import java.util.EnumSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one kernel can do, probed once per process (or read from a {@code state export} of that host).
 *
 * @param kernel  the release it was probed on ({@code uname -r}), or {@code "assumed"} for a plan with no
 *                kernel and no state file, which assumes every feature
 * @param present the features the probes found
 * @param forced  features bpfgit was told not to use although the kernel may have them (e.g.
 *                {@code -Dbpfgit.tc=legacy} turns off {@link Feature#TCX_LINK}): absent from {@code present}
 */
public record Features(String kernel, Set<Feature> present, Set<Feature> forced) {
    /** A host nothing is known about: plans against it assume a current kernel. */
    public static final Features ALL = new Features("assumed", EnumSet.allOf(Feature.class), Set.of());

    public Features {
        present = present.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(present));
        forced = forced.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(forced));
    }

    public boolean has(Feature f) {
        return present.contains(f);
    }

    /** Every feature in enum order, true when present. */
    public SortedMap<Feature, Boolean> table() {
        SortedMap<Feature, Boolean> t = new TreeMap<>();
        for (Feature f : Feature.values()) {
            t.put(f, present.contains(f));
        }
        return t;
    }

    /** These features, minus the ones turned off (the turned-off ones recorded as forced). */
    public Features without(Collection<Feature> off) {
        EnumSet<Feature> p = present.isEmpty() ? EnumSet.noneOf(Feature.class) : EnumSet.copyOf(present);
        EnumSet<Feature> f = forced.isEmpty() ? EnumSet.noneOf(Feature.class) : EnumSet.copyOf(forced);
        p.removeAll(off);
        f.addAll(off);
        return new Features(kernel, p, f);
    }

    /**
     * The features the {@code bpfgit.tc} system property (or {@code BPFGIT_TC} in the environment) turns
     * off: {@code legacy} makes bpfgit use legacy tc even where tcx exists, to test and compare the fallback.
     */
    public static Set<Feature> forcedOff() {
        String tc = System.getProperty("bpfgit.tc", System.getenv().getOrDefault("BPFGIT_TC", ""));
        return "legacy".equals(tc) ? EnumSet.of(Feature.TCX_LINK) : EnumSet.noneOf(Feature.class);
    }
}
