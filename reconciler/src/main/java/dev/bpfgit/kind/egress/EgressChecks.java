package dev.bpfgit.kind.egress;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.Prefix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.bpfgit.policy.UniqueNames.where;

/**
 * What the schema cannot see: a prefix claimed twice for one cgroup (within a policy, or by two policies
 * that may select the same host: they merge into one map, where one prefix has one set of timeouts), and more
 * policies on one cgroup than its counters hold.
 */
final class EgressChecks {
    private EgressChecks() {
    }

    private record Claim(Policy policy, int index) {
    }

    static List<PolicyError> check(List<Policy> policies) {
        List<Policy> mine = policies.stream().filter(p -> p.spec() instanceof EgressSpec).toList();
        List<PolicyError> errors = new ArrayList<>();
        Map<String, Map<Prefix, List<Claim>>> byCgroup = new HashMap<>();
        Map<String, Integer> perCgroup = new HashMap<>();
        for (Policy p : mine) {
            EgressSpec s = (EgressSpec) p.spec();
            int n = perCgroup.merge(s.cgroup(), 1, Integer::sum);
            if (n == EgressLayout.MAX_POLICIES + 1) {
                errors.add(p.error("/spec/cgroup", "more than " + EgressLayout.MAX_POLICIES
                        + " EgressTimeout policies name cgroup " + s.cgroup()));
            }
            Map<Prefix, List<Claim>> claims = byCgroup.computeIfAbsent(s.cgroup(), c -> new HashMap<>());
            for (EgressSpec.Destination d : s.destinations()) {
                List<Claim> earlier = claims.computeIfAbsent(d.prefix(), x -> new ArrayList<>());
                for (Claim c : earlier) {
                    if (c.policy() == p || c.policy().hosts().mayOverlap(p.hosts())) {
                        String pointer = "/spec/destinations/" + d.index() + "/prefix";
                        String other = "/spec/destinations/" + c.index() + "/prefix";
                        errors.add(p.error(pointer, "prefix " + d.prefix() + " for cgroup " + s.cgroup()
                                + " is already claimed by " + c.policy().id() + " (" + where(c.policy().at(other))
                                + "); a prefix has one set of timeouts per cgroup"));
                        break;
                    }
                }
                earlier.add(new Claim(p, d.index()));
            }
        }
        return errors;
    }
}
