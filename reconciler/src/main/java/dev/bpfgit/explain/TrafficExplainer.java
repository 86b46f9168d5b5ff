package dev.bpfgit.explain;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.explain.Explanation.Agreement;
import dev.bpfgit.explain.Explanation.Counts;
import dev.bpfgit.explain.Explanation.Verdict;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.kind.traffic.TrafficCounters;
import dev.bpfgit.policy.Location;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.kind.traffic.TrafficPolicySpec;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * TrafficPolicy's part of {@code explain}: the verdict of each unit {@code <root>/traffic/<if>/<hook>} for one
 * address. Everything that knows TrafficPolicy's pins and byte layouts is here, so the kind can move into
 * its own package with it.
 *
 * <p>The matched entry is the kernel's own answer: a lookup in the pinned LPM trie returns the value of
 * the longest matching prefix. The value does not carry its prefix, but its counter slot (and generation)
 * is unique within the unit, so the prefix length is the shortest {@code L} for which a lookup of
 * {@code address/L} (the trie compares no more than {@code L} bits) still returns that same value: a
 * binary search of at most 8 lookups, with no dump and no second implementation of longest-prefix match.
 */
public final class TrafficExplainer {
    public static final String KIND = "TrafficPolicy";
    private static final Bytes CONFIG_KEY = Bytes.wrap(new byte[4]);

    private TrafficExplainer() {
    }

    /** Checks a {@code --hook} filter; IllegalArgumentException naming the hooks there are. */
    public static void checkHook(String hook) {
        for (TrafficPolicySpec.Hook h : TrafficPolicySpec.Hook.values()) {
            if (h.yaml.equals(hook)) {
                return;
            }
        }
        throw new IllegalArgumentException("unknown hook '" + hook + "': xdp, tc-ingress or tc-egress");
    }

    /** The interfaces that have a unit in the kernel under {@code root} or in {@code files}. */
    public static List<String> interfaces(Kernel kernel, Path root, Optional<DesiredState> files) {
        List<String> out = new ArrayList<>();
        units(kernel, root, files).keySet().forEach(rel -> {
            String ifname = Path.of(rel).getName(1).toString();
            if (!out.contains(ifname)) {
                out.add(ifname);
            }
        });
        return out;
    }

    /**
     * @param ifnames  ifindex to name, to show redirect targets by name
     * @param counters whether the kernel's counters mean anything (not for a snapshot or a revision)
     * @param files    the files compiled for this host: adds where the prefix is declared and agreement
     */
    public static List<Verdict> explain(Kernel kernel, Path root, Prefix address, Optional<String> iface,
                                        Optional<String> hook, Map<Integer, String> ifnames, boolean counters,
                                        Optional<DesiredState> files) {
        Meta meta = kernel.mapInfo(Meta.pin(root)).isPresent()
                ? Meta.decode(toMap(kernel, Meta.pin(root))) : Meta.EMPTY;
        Map<Integer, String> owners = new HashMap<>();
        meta.policies().keySet().forEach(id -> owners.put(PolicyIds.of(id), id));
        files.ifPresent(d -> d.policies().forEach(p -> owners.put(PolicyIds.of(p.id()), p.id())));
        List<Verdict> out = new ArrayList<>();
        units(kernel, root, files).forEach((rel, desired) -> {
            Path dir = root.resolve(rel);
            String ifname = dir.getParent().getFileName().toString();
            String h = dir.getFileName().toString();
            if (iface.filter(i -> !i.equals(ifname)).isPresent() || hook.filter(x -> !x.equals(h)).isPresent()) {
                return;
            }
            out.add(unit(kernel, root, rel, dir, address, ifnames, counters, meta, owners, desired, files));
        });
        return out;
    }

    /** Unit directories relative to the root, live or desired, with the desired unit where there is one. */
    private static Map<String, Optional<Unit>> units(Kernel kernel, Path root, Optional<DesiredState> files) {
        Map<String, Optional<Unit>> units = new TreeMap<>();
        Path traffic = root.resolve("traffic");
        for (Path d : kernel.directories(traffic)) {
            if (traffic.relativize(d).getNameCount() == 2 && kernel.mapInfo(d.resolve("config")).isPresent()) {
                units.put(root.relativize(d).toString(), Optional.empty());
            }
        }
        files.ifPresent(f -> f.units().stream().filter(u -> u.kind().equals(KIND))
                .forEach(u -> units.put(root.relativize(u.dir()).toString(), Optional.of(u))));
        return units;
    }

    private record Hit(Prefix prefix, Bytes value) {
    }

    private record Config(boolean drop, boolean destination) {
        String matchOn() {
            return destination ? "destination" : "source";
        }

        String verdict() {
            return drop ? "drop" : "pass";
        }
    }

    private static Verdict unit(Kernel kernel, Path root, String rel, Path dir, Prefix address,
                                Map<Integer, String> ifnames, boolean counters, Meta meta,
                                Map<Integer, String> owners, Optional<Unit> desired, Optional<DesiredState> files) {
        String label = dir.getParent().getFileName() + ", " + dir.getFileName();
        String map = address.ipv6() ? "rules_v6" : "rules_v4";
        List<String> unitPolicies = desired.map(Unit::policies).orElseGet(() -> unitOwners(meta, rel));
        Optional<Config> live = kernel.lookup(dir.resolve("config"), CONFIG_KEY).map(TrafficExplainer::config);
        Optional<Hit> hit = live.isEmpty() ? Optional.empty() : match(kernel, dir.resolve(map), address);

        Optional<Config> wantConfig = desired.flatMap(u -> entry(u, "config", CONFIG_KEY)).map(TrafficExplainer::config);
        Optional<Hit> want = desired.flatMap(u -> desiredMatch(u, map, address));
        Optional<Location> declared = files.flatMap(f -> declared(f, unitPolicies,
                hit.or(() -> want).map(Hit::prefix)));
        Optional<Agreement> agreement = files.map(f -> agreement(live, hit, desired, wantConfig, want, ifnames, owners));

        if (live.isEmpty()) {
            return new Verdict(KIND, rel, label, wantConfig.map(Config::matchOn).orElse("source"), Optional.empty(),
                    "none", Optional.empty(), Optional.empty(), "not in the kernel", unitPolicies, Optional.empty(),
                    declared, agreement);
        }
        if (hit.isEmpty()) {
            Optional<Counts> counts = counters
                    ? TrafficCounters.slot(kernel, dir, 0, 0, false).map(c -> new Counts(c[0], c[1]))
                    : Optional.empty();
            return new Verdict(KIND, rel, label, live.get().matchOn(), Optional.empty(), live.get().verdict(),
                    Optional.empty(), Optional.empty(), live.get().verdict(), unitPolicies, counts, declared,
                    agreement);
        }
        TrafficLayout.Rule r = TrafficLayout.rule(hit.get().value());
        Optional<String> target = r.action() == Action.REDIRECT ? Optional.of(ifname(ifnames, r.ifindex()))
                : Optional.empty();
        Optional<Long> mark = r.action() == Action.MARK ? Optional.of(r.mark()) : Optional.empty();
        String owner = owners.getOrDefault(r.policy(), String.format("policy id %08x (unknown)", r.policy()));
        Optional<Counts> counts = counters
                ? TrafficCounters.slot(kernel, dir, r.slot(), r.gen(), true).map(c -> new Counts(c[0], c[1]))
                : Optional.empty();
        return new Verdict(KIND, rel, label, live.get().matchOn(), Optional.of(hit.get().prefix().toString()),
                r.action().yaml, target, mark, describe(r, ifnames), List.of(owner), counts, declared, agreement);
    }

    /** The kernel's longest-prefix match and, from the binary search described above, its prefix. */
    static Optional<Hit> match(Kernel kernel, Path trie, Prefix address) {
        if (kernel.mapInfo(trie).isEmpty()) {
            return Optional.empty();
        }
        Optional<Bytes> value = kernel.lookup(trie, TrafficLayout.key(address));
        if (value.isEmpty()) {
            return Optional.empty();
        }
        int lo = 0;
        int hi = address.length();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (kernel.lookup(trie, TrafficLayout.key(truncate(address, mid))).equals(value)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return Optional.of(new Hit(truncate(address, lo), value.get()));
    }

    /**
     * The files' match, from the compiled entries: their values have no slot yet, so the search above
     * does not apply; the longest compiled prefix that contains the address is found by key instead.
     */
    private static Optional<Hit> desiredMatch(Unit u, String map, Prefix address) {
        for (int len = address.length(); len >= 0; len--) {
            Prefix p = truncate(address, len);
            Optional<Bytes> v = entry(u, map, TrafficLayout.key(p));
            if (v.isPresent()) {
                return Optional.of(new Hit(p, v.get()));
            }
        }
        return Optional.empty();
    }

    private static Optional<Bytes> entry(Unit u, String map, Bytes key) {
        return u.maps().stream().filter(m -> m.name().equals(map)).findFirst()
                .flatMap(MapDesire::entries).map(e -> e.get(key));
    }

    static Prefix truncate(Prefix p, int len) {
        byte[] a = p.address();
        for (int i = 0; i < a.length; i++) {
            int bits = Math.max(0, Math.min(8, len - i * 8));
            a[i] &= (byte) (0xff << (8 - bits));
        }
        return Prefix.ofOwned(a, len);   // a is address()'s copy
    }

    private static Config config(Bytes value) {
        byte[] v = value.toArray();
        return new Config(Le.u32(v, 0) == Action.DROP.ordinal(), Le.u32(v, 4) == 1);
    }

    private static String describe(TrafficLayout.Rule r, Map<Integer, String> ifnames) {
        return switch (r.action()) {
            case PASS -> "pass";
            case DROP -> "drop";
            case REDIRECT -> "redirect " + ifname(ifnames, r.ifindex());
            case MARK -> "mark 0x" + Long.toHexString(r.mark());
        };
    }

    private static String ifname(Map<Integer, String> ifnames, int ifindex) {
        return ifnames.getOrDefault(ifindex, "ifindex " + ifindex);
    }

    /** owner/<unit rel>/<Kind>/<name> keys of the bookkeeping. */
    private static List<String> unitOwners(Meta meta, String rel) {
        String prefix = "owner/" + rel + "/";
        return meta.values().keySet().stream().filter(k -> k.startsWith(prefix))
                .map(k -> k.substring(prefix.length())).sorted().toList();
    }

    /** The rule declaring {@code prefix} in the unit's policies, or the default of the first of them. */
    private static Optional<Location> declared(DesiredState files, List<String> unitPolicies,
                                               Optional<Prefix> prefix) {
        List<Policy> ps = files.policies().stream().filter(p -> unitPolicies.contains(p.id())
                && p.spec() instanceof TrafficPolicySpec).toList();
        if (prefix.isPresent()) {
            for (Policy p : ps) {
                for (TrafficPolicySpec.Rule r : ((TrafficPolicySpec) p.spec()).rules()) {
                    if (r.prefix().equals(prefix.get())) {
                        return Optional.of(p.at(r.prefixPointer()));
                    }
                }
            }
            return Optional.empty();
        }
        return ps.stream().findFirst().map(p -> p.at("/spec/default"));
    }

    private static Agreement agreement(Optional<Config> live, Optional<Hit> hit, Optional<Unit> desired,
                                       Optional<Config> wantConfig, Optional<Hit> want, Map<Integer, String> ifnames,
                                       Map<Integer, String> owners) {
        if (desired.isEmpty()) {
            return new Agreement(false, "no policy in the files acts here: plan would remove this unit");
        }
        if (live.isEmpty()) {
            return new Agreement(false, "the files have this unit and the kernel does not: not applied");
        }
        if (!live.equals(wantConfig)) {
            return new Agreement(false, "kernel default " + live.get().verdict() + " matching "
                    + live.get().matchOn() + ", files default " + wantConfig.map(Config::verdict).orElse("?")
                    + " matching " + wantConfig.map(Config::matchOn).orElse("?"));
        }
        String k = hit.map(x -> x.prefix() + " " + describe(TrafficLayout.rule(x.value()), ifnames)
                + owner(x, owners)).orElse("no entry, default " + live.get().verdict());
        String f = want.map(x -> x.prefix() + " " + describe(TrafficLayout.rule(x.value()), ifnames)
                + owner(x, owners)).orElse("no entry, default " + wantConfig.get().verdict());
        return k.equals(f) ? new Agreement(true, "") : new Agreement(false, "kernel " + k + "; files " + f);
    }

    /** The owning policy too, but not slot and generation, which only the kernel side has. */
    private static String owner(Hit h, Map<Integer, String> owners) {
        int id = TrafficLayout.rule(h.value()).policy();
        return " (" + owners.getOrDefault(id, String.format("policy id %08x", id)) + ")";
    }

    private static Map<Bytes, Bytes> toMap(Kernel kernel, Path pin) {
        Map<Bytes, Bytes> m = new HashMap<>();
        kernel.entries(pin).forEach(e -> m.put(e.key(), e.value()));
        return m;
    }
}
