package dev.bpfgit.kind.reuseport;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.compile.ProgramDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kind.UnitNames;
import dev.bpfgit.policy.Policy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * ReusePortGroup: each group is one unit under {@code <root>/reuseport/<group>}: the selection SOCKMAP, the
 * config and per-CPU counters, and one program (the migrate variant when {@code migrate: true}). No link:
 * the program is attached to the members' reuseport group through one of their sockets, and the SOCKMAP's
 * contents are the members' live sockets, which the kind's runtime keeps up to date, not policy entries.
 */
final class ReusePortCompiler {
    static final String OBJECT = "reuseport.bpf.o";
    static final String DIRECTORY = "reuseport";
    /** BPF_F_NO_PREALLOC: rp_members holds a handful of entries of 4 KiB. */
    private static final int NO_PREALLOC = 1;

    private ReusePortCompiler() {
    }

    static List<Unit> compile(Path root, List<Policy> policies) {
        List<Unit> units = new ArrayList<>();
        policies.stream().sorted((a, b) -> a.name().compareTo(b.name())).forEach(p -> units.add(unit(root, p)));
        return units;
    }

    static Path dir(Path root, String group) {
        return root.resolve(DIRECTORY).resolve(UnitNames.segment(group));
    }

    static String label(ReusePortSpec s) {
        String host = s.address().map(a -> a.getHostAddress().contains(":") ? "[" + Listener.host(a) + "]"
                : a.getHostAddress()).orElse("*");
        return s.protocol().name().toLowerCase() + " " + host + ":" + s.port() + s.netns().map(n -> " in " + n)
                .orElse("") + ", " + s.strategy().yaml + (s.migrate() ? ", migrate" : "");
    }

    private static Unit unit(Path root, Policy p) {
        ReusePortSpec s = (ReusePortSpec) p.spec();
        Path dir = dir(root, p.name());
        ObjectFile obj = Objects.get(OBJECT);
        List<MapDesire> maps = List.of(
                new MapDesire(dir.resolve("rp_sockets"), new MapSpec("rp_sockets", MapType.SOCKMAP, 4, 8,
                        ReusePortLayout.SOCKETS, 0, Optional.empty()), Optional.empty(), EntryCodec.HEX, Optional.empty()),
                new MapDesire(dir.resolve("rp_config"), new MapSpec("rp_config", MapType.ARRAY, 4,
                        ReusePortLayout.CONFIG_SIZE, 1, 0, Optional.of(new BtfTypes(obj, "__u32", "struct rp_config"))),
                        Optional.of(Map.of(ReusePortLayout.key(0), ReusePortLayout.config(s))),
                        ReusePortLayout.CONFIG, Optional.empty()),
                new MapDesire(dir.resolve("rp_counters"), new MapSpec("rp_counters", MapType.PERCPU_ARRAY, 4,
                        ReusePortLayout.COUNTER_SIZE, ReusePortLayout.MAX + 1, 0,
                        Optional.of(new BtfTypes(obj, "__u32", "struct rp_counter"))), Optional.empty(),
                        EntryCodec.HEX, Optional.empty()),
                new MapDesire(dir.resolve("rp_members"), new MapSpec("rp_members", MapType.HASH, 4,
                        ReusePortLayout.MEMBER_SIZE, ReusePortLayout.MAX + 1, NO_PREALLOC, Optional.empty()),
                        Optional.of(ReusePortLayout.members(p.name(), s)), ReusePortLayout.MEMBERS, Optional.empty()));
        Map<String, Path> pins = new TreeMap<>();
        // the program uses the datapath's maps; rp_members is for user space only
        maps.stream().filter(m -> !m.name().equals("rp_members")).forEach(m -> pins.put(m.name(), m.pin()));
        String program = s.migrate() ? "reuseport_migrate" : "reuseport_select";
        return new Unit(dir, p.kind(), label(s), List.of(p.id()), maps,
                List.of(new ProgramDesire(dir.resolve("prog"), new ProgramSpec(obj, program, pins))), List.of());
    }
}
