package dev.bpfgit.kind.traffic;

import dev.bpfgit.kind.traffic.TrafficPolicySpec.Hook;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Rule;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.Prefix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static dev.bpfgit.policy.UniqueNames.where;

/**
 * What the schema cannot see: repeated prefixes, and TrafficPolicies that share an (interface, hook) and so
 * compile into one program and one rules map. Policies whose {@code hosts} can never select the same host do
 * not conflict.
 */
public final class TrafficPolicyChecks {
    private TrafficPolicyChecks() {
    }

    private record Attach(String iface, Hook hook) {
        @Override
        public String toString() {
            return iface + " (" + hook.yaml + ")";
        }
    }

    private record Member(Policy policy, TrafficPolicySpec spec) {
    }

    /** @param policies in file order; of two conflicting policies the later one is reported */
    public static List<PolicyError> check(List<Policy> policies) {
        List<Member> members = members(policies);
        List<PolicyError> errors = new ArrayList<>();
        members.forEach(m -> errors.addAll(ownRules(m)));
        errors.addAll(between(members));
        return errors;
    }

    /**
     * Whether {@link #check} finds nothing, for policies that each passed it with the others of their run
     * (a split parse): a prefix repeated within one policy was found there, so its 100,000 rules are not
     * hashed again (about a quarter of these checks' CPU in a cold apply of 100k rules).
     */
    static boolean passesAcross(List<Policy> policies) {
        return between(members(policies)).isEmpty();
    }

    private static List<Member> members(List<Policy> policies) {
        List<Member> members = new ArrayList<>();
        for (Policy p : policies) {
            if (p.spec() instanceof TrafficPolicySpec spec) {
                members.add(new Member(p, spec));
            }
        }
        return members;
    }

    /** The checks between policies: match and default agree, no prefix claimed twice, capacity. */
    private static List<PolicyError> between(List<Member> members) {
        List<PolicyError> errors = new ArrayList<>();
        Map<Attach, List<Member>> shared = new LinkedHashMap<>();
        for (Member m : members) {
            for (String iface : m.spec().interfaces()) {
                shared.computeIfAbsent(new Attach(iface, m.spec().hook()), a -> new ArrayList<>()).add(m);
            }
        }
        errors.addAll(agreement(shared, "/spec/match", "match", s -> s.match().yaml));
        errors.addAll(agreement(shared, "/spec/default", "default", s -> s.defaultVerdict().yaml));
        errors.addAll(prefixClaims(shared));
        shared.forEach((attach, group) -> errors.addAll(capacity(attach, group)));
        return errors;
    }

    /** Within one policy: a prefix given twice would be one map entry with two meanings. */
    private static List<PolicyError> ownRules(Member m) {
        List<PolicyError> errors = new ArrayList<>();
        if (!repeats(List.of(m))) {
            return errors;   // the common case: no prefix twice, and no map of 100,000 Prefix keys to find it
        }
        Map<Prefix, Rule> seen = HashMap.newHashMap(m.spec().rules().size());   // no growth by doubling at 100k
        for (Rule r : m.spec().rules()) {
            Rule earlier = seen.putIfAbsent(r.prefix(), r);
            if (earlier != null) {
                errors.add(m.policy().error(r.prefixPointer(), r.prefix() + " is already used by " + earlier.describe()
                        + " (line " + m.policy().at(earlier.prefixPointer()).line() + ")"));
            }
        }
        return errors;
    }

    /**
     * Whether any prefix is in more than one rule of these policies. Only whether, not where: the maps that say
     * where run only when it is true. IPv4 prefixes (a feed's) go into an open-addressed table of longs
     * ({@link Prefix#ipv4Key}), the rest into a set; a {@code HashMap<Prefix, ...>} of 100,000 entries (a node, a
     * hash of the address array and a key comparison each) was about 8% of the main thread's samples in a cold
     * validate of 100,000 rules (bench/README.md, "The cold CLI: the parse's loops and maps").
     */
    private static boolean repeats(List<Member> members) {
        int n = 0;
        for (Member m : members) {
            n += m.spec().rules().size();
        }
        long[] table = new long[Integer.highestOneBit(Math.max(n, 8) * 2 - 1) << 1];
        int mask = table.length - 1;
        Set<Prefix> others = null;
        for (Member m : members) {
            List<Rule> rules = m.spec().rules();
            for (int i = 0, size = rules.size(); i < size; i++) {
                Prefix p = rules.get(i).prefix();
                long key = p.ipv4Key();
                if (key < 0) {
                    if (others == null) {
                        others = new HashSet<>();
                    }
                    if (!others.add(p)) {
                        return true;
                    }
                    continue;
                }
                key |= 1L << 48;   // never 0, the empty slot
                long h = key * 0x9E3779B97F4A7C15L;
                int slot = (int) (h >>> 32) & mask;
                while (table[slot] != 0) {
                    if (table[slot] == key) {
                        return true;
                    }
                    slot = (slot + 1) & mask;
                }
                table[slot] = key;
            }
        }
        return false;
    }

    /** Conflicts between a later and an earlier policy, gathered so that each pair is reported once. */
    private record Pair(Policy later, String pointer, Policy earlier, String detail) {
    }

    /** One program per (interface, hook) means one match direction and one default verdict for all its policies. */
    private static List<PolicyError> agreement(Map<Attach, List<Member>> shared, String pointer, String field,
                                               Function<TrafficPolicySpec, String> value) {
        Map<Pair, List<Attach>> conflicts = new LinkedHashMap<>();
        shared.forEach((attach, group) -> {
            for (int i = 0; i < group.size(); i++) {
                Member later = group.get(i);
                for (Member earlier : group.subList(0, i)) {
                    String a = value.apply(earlier.spec()), b = value.apply(later.spec());
                    if (!a.equals(b) && overlap(earlier, later)) {
                        conflicts.computeIfAbsent(new Pair(later.policy(), pointer, earlier.policy(),
                                field + " " + b + " conflicts with " + field + " " + a), k -> new ArrayList<>()).add(attach);
                        break;
                    }
                }
            }
        });
        List<PolicyError> errors = new ArrayList<>();
        conflicts.forEach((pair, attaches) -> errors.add(pair.later().error(pair.pointer(), pair.detail() + " of "
                + pair.earlier().id() + " (" + where(pair.earlier().at(pair.pointer())) + ") on " + join(attaches)
                + "; policies sharing an interface and hook must agree")));
        return errors;
    }

    /** A rule of a policy; two of them with one prefix on one (interface, hook) collide. */
    private record Owner(Member member, Rule rule) {
    }

    private record Claim(Owner later, Owner earlier) {
    }

    /** A prefix is one map key per (interface, hook): two policies cannot both own it. */
    private static List<PolicyError> prefixClaims(Map<Attach, List<Member>> shared) {
        Map<Claim, List<Attach>> conflicts = new LinkedHashMap<>();
        shared.forEach((attach, group) -> {
            if (group.size() < 2 || !repeats(group)) {
                return;   // one policy: its own repeated prefixes are ownRules'; no prefix twice: no claim twice
            }
            // the first owner of each prefix, and the later ones only where there are any: 100,000 rules
            // make 100,000 entries, not 100,000 lists
            int rules = 0;
            for (Member m : group) {
                rules += m.spec().rules().size();
            }
            Map<Prefix, Owner> first = HashMap.newHashMap(rules);   // no growth by doubling at 100k
            Map<Prefix, List<Owner>> more = new HashMap<>();
            for (Member m : group) {
                for (Rule r : m.spec().rules()) {
                    Owner mine = new Owner(m, r);
                    Owner earliest = first.putIfAbsent(r.prefix(), mine);
                    if (earliest == null) {
                        continue;
                    }
                    List<Owner> same = more.computeIfAbsent(r.prefix(), k -> new ArrayList<>(List.of(earliest)));
                    same.stream().filter(o -> o.member() != m && overlap(o.member(), m)).findFirst()
                            .ifPresent(o -> conflicts.computeIfAbsent(new Claim(mine, o), k -> new ArrayList<>())
                                    .add(attach));
                    same.add(mine);
                }
            }
        });
        List<PolicyError> errors = new ArrayList<>();
        conflicts.forEach((claim, attaches) -> {
            Policy later = claim.later().member().policy();
            Policy earlier = claim.earlier().member().policy();
            String earlierAt = where(earlier.at(claim.earlier().rule().prefixPointer()));
            errors.add(later.error(claim.later().rule().prefixPointer(), later.id() + " and "
                    + earlier.id() + " (" + earlierAt + ") both claim " + claim.later().rule().prefix() + " on "
                    + join(attaches)));
        });
        return errors;
    }

    /**
     * Every rule of the policies on one (interface, hook) is an entry of one map of fixed size. The largest
     * {@code capacity} among them decides; reported once, at that capacity (or at the last policy's rules).
     */
    private static List<PolicyError> capacity(Attach attach, List<Member> group) {
        int worstTotal = 0;
        List<Member> worst = null;
        int worstCapacity = 0;
        for (Member m : group) {
            List<Member> peers = group.stream().filter(o -> o == m || overlap(o, m)).toList();
            int total = peers.stream().mapToInt(p -> p.spec().rules().size()).sum();
            int capacity = peers.stream().map(p -> p.spec().capacity()).filter(OptionalInt::isPresent)
                    .mapToInt(OptionalInt::getAsInt).max().orElse(TrafficPolicySpec.DEFAULT_CAPACITY);
            if (total > capacity && total - capacity > worstTotal - worstCapacity) {
                worstTotal = total;
                worst = peers;
                worstCapacity = capacity;
            }
        }
        if (worst == null) {
            return List.of();
        }
        int capacity = worstCapacity;
        Member blame = worst.stream().filter(p -> p.spec().capacity().orElse(-1) == capacity).findFirst()
                .orElse(worst.getLast());
        String pointer = blame.spec().capacity().isPresent() ? "/spec/capacity" : "/spec/rules";
        // the largest few: a table of hundreds of policies (one per country) would make a line of kilobytes
        List<Member> largest = worst.stream()
                .sorted(java.util.Comparator.comparingInt((Member p) -> p.spec().rules().size()).reversed())
                .limit(SHOWN_POLICIES).toList();
        String counts = largest.stream().map(p -> p.policy().id() + ": " + p.spec().rules().size())
                .collect(Collectors.joining(", "));
        if (worst.size() > largest.size()) {
            int rest = worst.size() - largest.size();
            counts += "; " + rest + " more polic" + (rest == 1 ? "y" : "ies") + " with "
                    + worst.stream().filter(p -> !largest.contains(p)).mapToInt(p -> p.spec().rules().size()).sum()
                    + " rules";
        }
        return List.of(blame.policy().error(pointer, attach + " would hold " + worstTotal + " rules (" + counts
                + "), more than its capacity of " + capacity
                + (blame.spec().capacity().isPresent() ? "" : " (the default; set spec.capacity to raise it)")));
    }

    /** Policies named in a capacity error; the others are counted. */
    static final int SHOWN_POLICIES = 5;

    private static boolean overlap(Member a, Member b) {
        return a.policy().hosts().mayOverlap(b.policy().hosts());
    }

    private static String join(List<Attach> attaches) {
        return attaches.stream().map(Attach::toString).collect(Collectors.joining(", "));
    }
}
