package dev.bpfgit.observe;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Comparator;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the kernel really has under the pin root, plus what runs at the attach points bpfgit wants.
 *
 * @param dirs     directories under the root (for cleanup of empty ones)
 * @param attached programs at each attach point asked about, whoever attached them
 * @param interfaces the host's interfaces (name to ifindex): a link whose ifindex differs is stale
 * @param basisDigest a digest of everything above, computed when asked for ({@link #basis()}): a saved plan
 *                 is applied only if it is unchanged
 * @param cgroups  the ids of the cgroups of the cgroup attach points asked about (a link to another id is stale)
 */
public record LiveState(Path root, Map<Path, LiveMap> maps, Map<Path, LiveProgram> programs,
                        Map<Path, LiveLink> links, Set<Path> dirs, Meta meta,
                        Map<AttachPoint, List<AttachedProgram>> attached, Map<String, Integer> interfaces,
                        Basis basisDigest, Map<String, Long> cgroups) {
    /** Collections are sorted (by path, name, attach point label), so that exports read the same every time. */
    public LiveState {
        interfaces = Collections.unmodifiableSortedMap(new TreeMap<>(interfaces));
        cgroups = Collections.unmodifiableSortedMap(new TreeMap<>(cgroups));
        maps = Collections.unmodifiableSortedMap(new TreeMap<>(maps));
        programs = Collections.unmodifiableSortedMap(new TreeMap<>(programs));
        links = Collections.unmodifiableSortedMap(new TreeMap<>(links));
        dirs = Collections.unmodifiableSortedSet(new TreeSet<>(dirs));
        TreeMap<AttachPoint, List<AttachedProgram>> byLabel = new TreeMap<>(Comparator.comparing(AttachPoint::label));
        attached.forEach((at, ps) -> byLabel.put(at, List.copyOf(ps)));
        attached = Collections.unmodifiableSortedMap(byLabel);
    }

    public LiveState(Path root, Map<Path, LiveMap> maps, Map<Path, LiveProgram> programs,
                     Map<Path, LiveLink> links, Set<Path> dirs, Meta meta,
                     Map<AttachPoint, List<AttachedProgram>> attached, Map<String, Integer> interfaces,
                     String basis, Map<String, Long> cgroups) {
        this(root, maps, programs, links, dirs, meta, attached, interfaces, Basis.of(basis), cgroups);
    }

    /** No cgroup attach point asked about. */
    public LiveState(Path root, Map<Path, LiveMap> maps, Map<Path, LiveProgram> programs,
                     Map<Path, LiveLink> links, Set<Path> dirs, Meta meta,
                     Map<AttachPoint, List<AttachedProgram>> attached, Map<String, Integer> interfaces, String basis) {
        this(root, maps, programs, links, dirs, meta, attached, interfaces, Basis.of(basis), Map.of());
    }

    /** The digest of what was observed (computed on the first call). */
    public String basis() {
        return basisDigest.value();
    }
}
