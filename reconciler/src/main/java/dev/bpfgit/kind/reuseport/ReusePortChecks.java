package dev.bpfgit.kind.reuseport;

import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Strategy;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static dev.bpfgit.policy.UniqueNames.where;

/**
 * What the schema cannot see: member names repeated in a group, a weighted group where no member can get a
 * connection, and two groups claiming one listening port (one reuseport group in the kernel has one program).
 * Groups whose {@code hosts} never select the same host do not conflict.
 */
final class ReusePortChecks {
    private ReusePortChecks() {
    }

    static List<PolicyError> check(List<Policy> policies) {
        List<Policy> groups = policies.stream().filter(p -> p.spec() instanceof ReusePortSpec).toList();
        List<PolicyError> errors = new ArrayList<>();
        for (Policy p : groups) {
            ReusePortSpec s = (ReusePortSpec) p.spec();
            Map<String, Member> seen = new HashMap<>();
            for (Member m : s.members()) {
                Member earlier = seen.putIfAbsent(m.name(), m);
                if (earlier != null) {
                    errors.add(p.error("/spec/members/" + m.index() + "/name", "member " + m.name()
                            + " is already member " + earlier.index() + " (line "
                            + p.at("/spec/members/" + earlier.index()).line() + "); member names are unique in a group"));
                }
            }
            if (s.strategy() == Strategy.WEIGHTED && !s.members().isEmpty()
                    && s.members().stream().noneMatch(m -> m.weight() > 0 && !m.drain())) {
                errors.add(p.error("/spec/members", "strategy weighted needs a member with a weight above 0 that"
                        + " is not drained; this group would give no connection to any member"));
            }
        }
        for (int i = 0; i < groups.size(); i++) {
            Policy later = groups.get(i);
            for (Policy earlier : groups.subList(0, i)) {
                Optional<String> clash = clash((ReusePortSpec) earlier.spec(), (ReusePortSpec) later.spec());
                if (clash.isPresent() && earlier.hosts().mayOverlap(later.hosts())) {
                    errors.add(later.error("/spec/port", later.id() + " and " + earlier.id() + " ("
                            + where(earlier.at("/spec/port")) + ") both claim " + clash.get()
                            + "; a port has one reuseport group"));
                    break;
                }
            }
        }
        return errors;
    }

    /** The listening port two groups share, if they do: same port, protocol and netns, overlapping address. */
    private static Optional<String> clash(ReusePortSpec a, ReusePortSpec b) {
        if (a.port() != b.port() || a.protocol() != b.protocol() || !a.netns().equals(b.netns())) {
            return Optional.empty();
        }
        if (a.address().isPresent() && b.address().isPresent() && !a.address().equals(b.address())) {
            return Optional.empty();
        }
        String addr = a.address().or(b::address).map(x -> x.getHostAddress() + ":").orElse("port ");
        return Optional.of(a.protocol().name().toLowerCase() + " " + addr + a.port()
                + a.netns().map(n -> " in netns " + n).orElse(""));
    }
}
