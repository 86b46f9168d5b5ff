package dev.bpfgit.kind.sockterm;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.kind.UnitNames;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Destination;
import dev.bpfgit.policy.Policy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * SocketTermination: each policy is one unit under {@code <root>/sockterm/<policy>} holding only maps: the
 * destinations (LPM tries), their ports, the config, the cgroup ids (kept by the runtime) and the counters.
 * No program is pinned: the runtime loads the iter/tcp and iter/udp programs for each pass and releases them
 * (a kernel without the bpf_sock_destroy kfunc could not load them, and then takes the netlink path instead,
 * with the same maps), and there is no attach point.
 */
final class SocketTerminationCompiler {
    static final String OBJECT = "sockterm.bpf.o";
    static final String DIRECTORY = "sockterm";
    static final String TCP_PROGRAM = "st_destroy_tcp";
    static final String UDP_PROGRAM = "st_destroy_udp";
    /** Capacity of the destination tries: the schema's most destinations. */
    static final int MAX_DESTINATIONS = 4096;
    static final int MAX_PORTS = 65536;
    static final int MAX_CGROUPS = 65536;
    static final String CGROUPS = "st_cgroups";
    static final String COUNTERS = "st_counters";

    private SocketTerminationCompiler() {
    }

    static List<Unit> compile(Path root, List<Policy> policies) {
        List<Unit> units = new ArrayList<>();
        policies.stream().sorted((a, b) -> a.name().compareTo(b.name())).forEach(p -> units.add(unit(root, p)));
        return units;
    }

    static Path dir(Path root, String policy) {
        return root.resolve(DIRECTORY).resolve(UnitNames.segment(policy));
    }

    static String label(SocketTerminationSpec s) {
        List<String> protocols = s.protocols().stream().map(p -> p.name().toLowerCase()).sorted().toList();
        return String.join("+", protocols) + ", " + s.destinations().size() + " destination"
                + (s.destinations().size() == 1 ? "" : "s") + s.netns().map(n -> " in " + n).orElse("")
                + s.cgroup().map(c -> ", cgroup " + c).orElse("") + ", " + s.mode().yaml;
    }

    private static Unit unit(Path root, Policy p) {
        SocketTerminationSpec s = (SocketTerminationSpec) p.spec();
        Path dir = dir(root, p.name());
        ObjectFile obj = Objects.get(OBJECT);
        Map<Bytes, Bytes> v4 = new HashMap<>();
        Map<Bytes, Bytes> v6 = new HashMap<>();
        Map<Bytes, Bytes> ports = new HashMap<>();
        Bytes match = Bytes.wrap(new byte[]{1});
        for (Destination d : s.destinations()) {
            (d.prefix().ipv6() ? v6 : v4).put(LpmMaps.key(d.prefix()), SocketTerminationLayout.dest(d));
            d.ports().forEach(port -> ports.put(SocketTerminationLayout.portKey(d.index(), port), match));
        }
        List<MapDesire> maps = new ArrayList<>(LpmMaps.tries(dir, obj, "st_dst", "st_lpm", SocketTerminationLayout.DEST,
                "struct st_dest", MAX_DESTINATIONS, v4, v6, SocketTerminationLayout.DEST_CODEC));
        maps.addAll(List.of(
                new MapDesire(dir.resolve("st_ports"), new MapSpec("st_ports", MapType.HASH,
                        SocketTerminationLayout.PORT_KEY, 1, MAX_PORTS, MapSpec.BPF_F_NO_PREALLOC,
                        Optional.of(new BtfTypes(obj, "struct st_port_key", "__u8"))),
                        Optional.of(ports), SocketTerminationLayout.PORT_CODEC, Optional.empty()),
                new MapDesire(dir.resolve("st_config"), new MapSpec("st_config", MapType.ARRAY, 4,
                        SocketTerminationLayout.CONFIG, 1, 0, Optional.of(new BtfTypes(obj, "__u32", "struct st_config"))),
                        Optional.of(Map.of(SocketTerminationLayout.u32(0), SocketTerminationLayout.config(s))),
                        SocketTerminationLayout.CONFIG_CODEC, Optional.empty()),
                new MapDesire(dir.resolve(CGROUPS), new MapSpec(CGROUPS, MapType.HASH, 8, 1, MAX_CGROUPS,
                        MapSpec.BPF_F_NO_PREALLOC, Optional.of(new BtfTypes(obj, "__u64", "__u8"))),
                        Optional.empty(), EntryCodec.HEX, Optional.empty()),
                LpmMaps.counters(dir, obj, COUNTERS, MapType.ARRAY, 8, "__u64", SocketTerminationLayout.CNT_SLOTS)));
        return new Unit(dir, p.kind(), label(s), List.of(p.id()), maps, List.of(), List.of());
    }

    /** The iterator program {@code name} of the object with its maps bound to the unit's pins. */
    static ProgramSpec program(Path dir, String name) {
        Map<String, Path> pins = new TreeMap<>();
        for (String m : List.of("st_dst_v4", "st_dst_v6", "st_ports", "st_config", CGROUPS, COUNTERS)) {
            pins.put(m, dir.resolve(m));
        }
        return new ProgramSpec(Objects.get(OBJECT), name, pins);
    }
}
