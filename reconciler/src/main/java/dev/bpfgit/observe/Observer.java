package dev.bpfgit.observe;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kind.Kinds;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Observe: read everything pinned under the root, and what runs at the given attach points. */
public final class Observer {
    private Observer() {
    }

    public static LiveState observe(Kernel kernel, Path root, Collection<AttachPoint> points) {
        return observe(Kinds.BUILT_IN, kernel, root, points);
    }

    public static LiveState observe(Kinds kinds, Kernel kernel, Path root, Collection<AttachPoint> points) {
        return observe(kinds, kernel, root, points, null);
    }

    /**
     * As {@link #observe(Kinds, Kernel, Path, Collection)}, taking from {@code cache} (may be null) the contents
     * of every map that nothing wrote to since it was last read, and keeping there what it reads.
     */
    public static LiveState observe(Kinds kinds, Kernel kernel, Path root, Collection<AttachPoint> points,
                                    EntryCache cache) {
        if (cache != null) {
            cache.begin();
        }
        Map<Path, LiveMap> maps = new TreeMap<>();
        Map<Path, LiveProgram> programs = new TreeMap<>();
        Map<Path, LiveLink> links = new TreeMap<>();
        Meta meta = Meta.EMPTY;
        // one read of the tree: each pin's kind and contents (an implementation opens each pin once)
        Map<Path, Decision> decisions = new HashMap<>();
        Kernel.PendingReads pending = kernel.startReadPins(root, (pin, i) -> {
            if (statistics(kinds, root.relativize(pin), i)) {
                return false;
            }
            if (cache == null) {
                return true;
            }
            Decision d = new Decision();
            decisions.put(pin, d);
            d.kept = cache.reusable(pin, i);
            if (d.kept.isPresent()) {
                return false;
            }
            d.before = cache.before(i);   // the count before the contents: see EntryCache
            return true;
        });
        // while the maps are dumped (a second thread, where the kernel has one): what does not depend on the pins
        Map<String, Integer> interfaces = new TreeMap<>();
        Points at;
        try {
            kernel.interfaces().forEach(i -> interfaces.put(i.name(), i.ifindex()));
            at = points(kernel, points);
        } catch (RuntimeException | Error x) {
            pending.await();   // a failed read of the pins is reported first, as when they were read first
            throw x;
        }
        Kernel.PinReads tree = pending.await();
        for (Kernel.PinRead read : tree.pins()) {
            switch (read) {
                case Kernel.MapPin m -> {
                    Path pin = m.path();
                    Decision d = decisions.getOrDefault(pin, NONE);
                    Optional<Map<Bytes, Bytes>> entries = m.read().entries().map(e -> e);
                    if (d.kept.isPresent()) {
                        entries = d.kept;
                    } else if (cache != null && entries.isPresent()) {
                        cache.keep(pin, m.read().info(), d.before, entries.get());
                    }
                    maps.put(pin, new LiveMap(pin, m.read().info(), entries));
                    if (pin.equals(Meta.pin(root)) && entries.isPresent()) {
                        meta = Meta.decode(entries.get());
                    }
                }
                case Kernel.ProgramPin p -> programs.put(p.path(), new LiveProgram(p.path(), p.info(), Optional.empty()));
                case Kernel.LinkPin l -> links.put(l.path(), new LiveLink(l.path(), l.info()));
            }
        }
        if (cache != null) {
            cache.end();
        }
        Map<Path, LiveProgram> withIdentity = new TreeMap<>();
        for (LiveProgram p : programs.values()) {
            withIdentity.put(p.pin(), new LiveProgram(p.pin(), p.info(),
                    meta.get(Meta.programKey(root.relativize(p.pin()).toString()))));
        }
        Set<Path> dirs = new TreeSet<>(tree.directories());
        // computed when a plan is saved or checked: the maps' contents are immutable, so later is the same value
        Basis basis = Basis.lazy(() -> basis(maps, withIdentity, links));
        return new LiveState(root, maps, withIdentity, links, dirs, meta, at.attached(), interfaces, basis,
                at.cgroups());
    }

    /**
     * {@code live}, observed at no attach point, with what runs at {@code points} read now: the programs
     * attached there, and the cgroups asked about. What is pinned does not depend on the points, so a caller
     * may observe the pins early (while policies parse) and the points once it knows them.
     */
    public static LiveState atPoints(LiveState live, Kernel kernel, Collection<AttachPoint> points) {
        if (points.isEmpty()) {
            return live;
        }
        Points at = points(kernel, points);
        return new LiveState(live.root(), live.maps(), live.programs(), live.links(), live.dirs(), live.meta(),
                at.attached(), live.interfaces(), live.basisDigest(), at.cgroups());
    }

    /** What runs at some attach points, and the cgroups asked about. */
    private record Points(Map<AttachPoint, List<AttachedProgram>> attached, Map<String, Long> cgroups) {
    }

    private static Points points(Kernel kernel, Collection<AttachPoint> points) {
        if (points.isEmpty()) {
            return new Points(Map.of(), Map.of());
        }
        Map<AttachPoint, List<AttachedProgram>> attached = new LinkedHashMap<>();
        Map<String, Long> cgroups = new TreeMap<>();
        Set<String> asked = new TreeSet<>();
        for (AttachPoint at : points) {
            attached.put(at, kernel.attached(at));
            if (at instanceof AttachPoint.Cgroup c) {
                if (cgroups.isEmpty()) {
                    cgroups.putAll(kernel.cgroups());
                }
                asked.add(c.path());
            }
        }
        cgroups.keySet().retainAll(asked);
        return new Points(attached, cgroups);
    }

    private static final Decision NONE = new Decision();

    /** What the read of one map decided: kept contents, or the write count taken before reading. */
    private static final class Decision {
        Optional<Map<Bytes, Bytes>> kept = Optional.empty();
        long before = -1;
    }

    /**
     * Whether the kind whose unit holds the map says its contents are the datapath's, never policy. A map in
     * no kind's directory (a stray pin) is skipped when any kind would skip it: it is only removed, and
     * reading a large per-CPU map would slow every plan.
     */
    static boolean statistics(Kinds kinds, Path rel, MapInfo info) {
        return kinds.owning(rel).map(k -> k.statistics(info))
                .orElseGet(() -> kinds.all().stream().anyMatch(k -> k.statistics(info)));
    }

    /** A digest of object ids and map contents: any change in the kernel changes it. */
    static String basis(Map<Path, LiveMap> maps, Map<Path, LiveProgram> programs, Map<Path, LiveLink> links) {
        MessageDigest md = dev.bpfgit.compile.Sha256.fresh();
        maps.values().forEach(m -> {
            md.update((m.pin() + " map " + m.info().id() + "\n").getBytes(StandardCharsets.UTF_8));
            m.entries().ifPresent(es -> SortedEntries.copyOf(es).digest(md));
        });
        programs.values().forEach(p -> md.update((p.pin() + " prog " + p.info().id() + "\n")
                .getBytes(StandardCharsets.UTF_8)));
        links.values().forEach(l -> md.update((l.pin() + " link " + l.info().id() + " " + l.info().progId()
                + " " + l.info().ifindex() + "\n").getBytes(StandardCharsets.UTF_8)));
        return HexFormat.of().formatHex(md.digest());
    }
}
