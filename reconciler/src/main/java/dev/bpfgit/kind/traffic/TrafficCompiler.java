package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.LinkDesire;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.ProgramDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kind.UnitNames;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.kind.traffic.TrafficPolicySpec;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Hook;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Rule;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * TrafficPolicy: every (interface, hook) named by any policy becomes one unit under
 * {@code <root>/traffic/<interface>/<hook>}: one program, one link, two LPM tries (IPv4, IPv6), per-CPU
 * counters and a config entry. Validation has already guaranteed that policies sharing a unit agree on
 * match and default and never claim the same prefix.
 */
public final class TrafficCompiler {
    static final String OBJECT = "traffic.bpf.o";
    static final int DEFAULT_CAPACITY = 16384;

    private TrafficCompiler() {
    }

    private record Key(String ifname, Hook hook) {
    }

    /** Where a unit's legacy tc filter is recorded, in place of its link. */
    static final String LEGACY_TC_LINK = "tc_filter";

    public static List<Unit> compile(Path root, List<Policy> policies, HostFacts host, List<PolicyError> errors) {
        Map<Key, List<Policy>> byUnit = new TreeMap<>((a, b) -> a.ifname.equals(b.ifname)
                ? a.hook.compareTo(b.hook) : a.ifname.compareTo(b.ifname));
        for (Policy p : policies) {
            TrafficPolicySpec s = (TrafficPolicySpec) p.spec();
            for (int i = 0; i < s.interfaces().size(); i++) {
                String ifname = s.interfaces().get(i);
                if (!host.interfaces().containsKey(ifname)) {
                    errors.add(p.error("/spec/interfaces/" + i, "interface " + ifname + " does not exist on host "
                            + host.name() + " (select hosts with spec.hosts)"));
                    continue;
                }
                byUnit.computeIfAbsent(new Key(ifname, s.hook()), k -> new ArrayList<>()).add(p);
            }
            int reported = -1;   // once per rule, not once per item of its prefixes
            for (Rule r : s.rules()) {
                if (r.action() == Action.REDIRECT && r.to().isPresent() && r.index() != reported
                        && !host.interfaces().containsKey(r.to().get())) {
                    reported = r.index();
                    errors.add(p.error(r.pointer() + "/to", "redirect target " + r.to().get()
                            + " does not exist on host " + host.name()));
                }
            }
        }
        if (!errors.isEmpty()) {
            return List.of();
        }
        Map<Integer, String> ifnames = new HashMap<>();
        host.interfaces().forEach((n, i) -> ifnames.put(i, n));
        TrafficCodec codec = new TrafficCodec(ifnames);
        List<Unit> units = new ArrayList<>();
        byUnit.forEach((k, ps) -> units.add(unit(root, k, ps, host, codec)));
        return units;
    }

    private static Unit unit(Path root, Key k, List<Policy> ps, HostFacts host, TrafficCodec codec) {
        Path dir = root.resolve("traffic").resolve(UnitNames.segment(k.ifname)).resolve(k.hook.yaml);
        ObjectFile obj = Objects.get(OBJECT);
        TrafficPolicySpec first = (TrafficPolicySpec) ps.getFirst().spec();
        int capacity = ps.stream().map(p -> ((TrafficPolicySpec) p.spec()).capacity())
                .filter(c -> c.isPresent()).mapToInt(c -> c.getAsInt()).max().orElse(DEFAULT_CAPACITY);

        Map<Bytes, Bytes> v4 = entries(ps, host, false);
        Map<Bytes, Bytes> v6 = entries(ps, host, true);
        Slots slots = new Slots("counters", capacity, TrafficLayout.SLOT_OFFSET);
        Bytes configValue = TrafficLayout.config(first.defaultVerdict() == TrafficPolicySpec.Verdict.DROP,
                first.match() == TrafficPolicySpec.Match.DESTINATION);

        List<MapDesire> maps = List.of(
                new MapDesire(dir.resolve("rules_v4"), lpm("rules_v4", 8, "lpm_v4", capacity, obj),
                        Optional.of(v4), codec, Optional.of(slots)),
                new MapDesire(dir.resolve("rules_v6"), lpm("rules_v6", 20, "lpm_v6", capacity, obj),
                        Optional.of(v6), codec, Optional.of(slots)),
                new MapDesire(dir.resolve("counters"), new MapSpec("counters", MapType.PERCPU_ARRAY, 4,
                        TrafficLayout.COUNTER_SIZE, capacity + 1, 0,
                        Optional.of(new BtfTypes(obj, "__u32", "counter"))), Optional.empty(), EntryCodec.HEX,
                        Optional.empty()),
                new MapDesire(dir.resolve("config"), new MapSpec("config", MapType.ARRAY, 4,
                        TrafficLayout.CONFIG_SIZE, 1, 0, Optional.of(new BtfTypes(obj, "__u32", "config"))),
                        Optional.of(Map.of(Bytes.wrap(new byte[4]), configValue)), new ConfigCodec(),
                        Optional.empty()));
        Map<String, Path> mapPins = new TreeMap<>();
        maps.forEach(m -> mapPins.put(m.name(), m.pin()));
        String program = switch (k.hook) {
            case XDP -> "traffic_xdp";
            case TC_INGRESS -> "traffic_tc_ingress";
            case TC_EGRESS -> "traffic_tc_egress";
        };
        Path prog = dir.resolve("prog");
        // without tcx (before 6.6, or turned off) the same program runs as a legacy cls_bpf filter; its
        // record has its own name, so a change of mode replaces one attachment with the other
        boolean tcx = host.features().has(Feature.TCX_LINK);
        AttachPoint at = switch (k.hook) {
            case XDP -> new AttachPoint.Xdp(k.ifname);
            case TC_INGRESS -> tcx ? new AttachPoint.Tcx(k.ifname, AttachPoint.Direction.INGRESS)
                    : new AttachPoint.LegacyTc(k.ifname, AttachPoint.Direction.INGRESS);
            case TC_EGRESS -> tcx ? new AttachPoint.Tcx(k.ifname, AttachPoint.Direction.EGRESS)
                    : new AttachPoint.LegacyTc(k.ifname, AttachPoint.Direction.EGRESS);
        };
        String link = at instanceof AttachPoint.LegacyTc ? LEGACY_TC_LINK : "link";
        return new Unit(dir, "TrafficPolicy", k.ifname + ", " + k.hook.yaml,
                ps.stream().map(Policy::id).sorted().toList(), maps,
                List.of(new ProgramDesire(prog, new ProgramSpec(obj, program, mapPins))),
                List.of(new LinkDesire(dir.resolve(link), prog, at)));
    }

    /**
     * The trie's entries (IPv4 or IPv6) of the unit's policies: each rule's key ({@link TrafficLayout#key}) and
     * value written straight into two packed arrays, sorted once ({@link SortedEntries#ofPacked}; of two rules
     * with one prefix the later wins, as a {@code Map.put}, though validation leaves none). A map of 100,000
     * key and value objects, then copied and sorted, took most of a 100k-rule compile, which is on the path of
     * every new revision in the sidecar.
     */
    static SortedEntries entries(List<Policy> ps, HostFacts host, boolean ipv6) {
        int n = 0;
        for (Policy p : ps) {
            for (Rule r : ((TrafficPolicySpec) p.spec()).rules()) {
                n += r.prefix().ipv6() == ipv6 ? 1 : 0;
            }
        }
        int keySize = ipv6 ? 20 : 8;
        byte[] keys = new byte[n * keySize];
        byte[] values = new byte[n * TrafficLayout.RULE_SIZE];
        int at = 0;
        for (Policy p : ps) {
            int owner = PolicyIds.of(p.id());
            // a policy's rules share a handful of values (one per action, target and mark): made once each
            Map<List<Object>, Bytes> made = new HashMap<>();
            // and the last one again without a key, a hash or a lambda: a feed's rules have one action each
            Action lastAction = null;
            int lastIfindex = 0;
            long lastMark = 0;
            Bytes value = null;
            for (Rule r : ((TrafficPolicySpec) p.spec()).rules()) {
                if (r.prefix().ipv6() != ipv6) {
                    continue;
                }
                Integer target = r.to().isPresent() ? host.interfaces().get(r.to().get()) : null;
                int ifindex = target == null ? 0 : target;
                long mark = r.mark().isPresent() ? r.mark().get() : 0L;
                if (value == null || r.action() != lastAction || ifindex != lastIfindex || mark != lastMark) {
                    value = made.computeIfAbsent(List.of(r.action(), ifindex, mark),
                            v -> TrafficLayout.rule(owner, r.action(), ifindex, mark));
                    lastAction = r.action();
                    lastIfindex = ifindex;
                    lastMark = mark;
                }
                TrafficLayout.key(r.prefix(), keys, at * keySize);
                value.copyTo(values, at * TrafficLayout.RULE_SIZE);
                at++;
            }
        }
        return SortedEntries.ofPacked(keys, keySize, values, TrafficLayout.RULE_SIZE, n);
    }

    private static MapSpec lpm(String name, int keySize, String keyType, int capacity, ObjectFile obj) {
        return new MapSpec(name, MapType.LPM_TRIE, keySize, TrafficLayout.RULE_SIZE, capacity,
                MapSpec.BPF_F_NO_PREALLOC, Optional.of(new BtfTypes(obj, keyType, "rule")));
    }
}
