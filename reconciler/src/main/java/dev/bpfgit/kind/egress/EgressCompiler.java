package dev.bpfgit.kind.egress;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.LinkDesire;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.ProgramDesire;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.CgroupRoot;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.kind.UnitNames;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * EgressTimeout: the policies naming one cgroup merge into one unit {@code <root>/egress/<cgroup>}: two LPM
 * tries of destination timeouts, the config (the cgroup's id, for the reaper), per-policy counters and the
 * per-socket storage; the sock_ops program linked to the cgroup, the cgroup_skb programs stamping UDP
 * activity (linked only when a policy of the cgroup sets {@code any}), and the iterator programs of the reaper
 * ({@code reap_*}, run by {@code bpfgit run}) and of plans ({@code list_*}, which destroy nothing).
 */
final class EgressCompiler {
    static final String OBJECT = "egresstimeout.bpf.o";
    static final String DIRECTORY = "egress";
    static final List<String> PROGRAMS = List.of("et_sockops", "et_skb_out", "et_skb_in", "et_reap_tcp",
            "et_reap_udp", "et_list_tcp", "et_list_udp");

    private EgressCompiler() {
    }

    static Path dir(Path root, String cgroup) {
        return root.resolve(DIRECTORY).resolve(UnitNames.segment(cgroup));
    }

    /** The pin of a program: its name without the {@code et_} prefix. */
    static Path program(Path dir, String program) {
        return dir.resolve(program.substring(3));
    }

    static List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        Map<String, List<Policy>> byCgroup = new TreeMap<>();
        for (Policy p : policies) {
            byCgroup.computeIfAbsent(((EgressSpec) p.spec()).cgroup(), c -> new ArrayList<>()).add(p);
        }
        List<Unit> units = new ArrayList<>();
        byCgroup.forEach((cgroup, ps) -> {
            Optional<Long> id = Optional.empty();
            if (host.cgroups().isPresent()) {
                id = Optional.ofNullable(host.cgroups().get().get(cgroup));
                if (id.isEmpty()) {
                    for (Policy p : ps) {
                        errors.add(p.error("/spec/cgroup", "cgroup " + cgroup + " does not exist on host "
                                + host.name() + " (no directory " + CgroupRoot.resolve(cgroup) + ")"));
                    }
                    return;
                }
            }
            units.add(unit(root, cgroup, ps.stream().sorted((a, b) -> a.name().compareTo(b.name())).toList(),
                    id.orElse(0L), host));
        });
        return units;
    }

    private static Unit unit(Path root, String cgroup, List<Policy> policies, long cgroupId, HostFacts host) {
        Path dir = dir(root, cgroup);
        ObjectFile obj = Objects.get(OBJECT);
        List<String> ids = policies.stream().map(Policy::id).toList();
        Map<Bytes, Bytes> v4 = new HashMap<>();
        Map<Bytes, Bytes> v6 = new HashMap<>();
        boolean udp = false;
        for (int i = 0; i < policies.size(); i++) {
            EgressSpec s = (EgressSpec) policies.get(i).spec();
            udp |= s.timeouts().anyMs() > 0;
            for (EgressSpec.Destination d : s.destinations()) {
                (d.prefix().ipv6() ? v6 : v4).put(LpmMaps.key(d.prefix()),
                        EgressLayout.timeouts(PolicyIds.of(policies.get(i).id()), s.timeouts()));
            }
        }
        EntryCodec codec = EgressLayout.destinations(ids);
        List<MapDesire> maps = new ArrayList<>(LpmMaps.tries(dir, obj, "et_dest", "et_lpm", EgressLayout.TIMEOUTS_SIZE,
                "struct et_timeouts", EgressLayout.MAX_PREFIXES, v4, v6, codec));
        maps.addAll(List.of(
                new MapDesire(dir.resolve("et_config"), new MapSpec("et_config", MapType.ARRAY, 4,
                        EgressLayout.CONFIG_SIZE, 1, 0, Optional.of(new BtfTypes(obj, "__u32", "struct et_config"))),
                        Optional.of(Map.of(Bytes.wrap(new byte[4]), EgressLayout.config(cgroupId))),
                        EgressLayout.CONFIG, Optional.empty()),
                LpmMaps.counters(dir, obj, "et_counters", MapType.HASH, EgressLayout.COUNTER_SIZE, "struct et_counter",
                        EgressLayout.MAX_POLICIES),
                new MapDesire(dir.resolve("et_socks"), new MapSpec("et_socks", MapType.SK_STORAGE, 4,
                        EgressLayout.SOCK_SIZE, 0, MapSpec.BPF_F_NO_PREALLOC,
                        Optional.of(new BtfTypes(obj, "int", "struct et_sock"))), Optional.empty(),
                        EntryCodec.HEX, Optional.empty())));
        Map<String, Path> pins = new TreeMap<>();
        maps.forEach(m -> pins.put(m.name(), m.pin()));
        // the reaper programs call bpf_sock_destroy: a kernel without it would refuse them, and with them the
        // unit, where only the socket-layer timeouts were asked for (idle timeouts are NotSupported at plan)
        List<ProgramDesire> programs = PROGRAMS.stream()
                .filter(p -> !p.startsWith("et_reap_") || host.features().has(Feature.SOCK_DESTROY))
                .map(p -> new ProgramDesire(program(dir, p), new ProgramSpec(obj, p, pins))).toList();
        List<LinkDesire> links = new ArrayList<>();
        links.add(new LinkDesire(dir.resolve("sockops_link"), program(dir, "et_sockops"),
                new AttachPoint.Cgroup(cgroup, AttachPoint.CgroupHook.SOCK_OPS)));
        if (udp) {
            links.add(new LinkDesire(dir.resolve("skb_out_link"), program(dir, "et_skb_out"),
                    new AttachPoint.Cgroup(cgroup, AttachPoint.CgroupHook.INET_EGRESS)));
            links.add(new LinkDesire(dir.resolve("skb_in_link"), program(dir, "et_skb_in"),
                    new AttachPoint.Cgroup(cgroup, AttachPoint.CgroupHook.INET_INGRESS)));
        }
        return new Unit(dir, policies.getFirst().kind(), "cgroup " + cgroup, ids, maps, programs, links);
    }
}
