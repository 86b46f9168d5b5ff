package dev.bpfgit.kind.traffic;

import dev.bpfgit.policy.PolicySpec;
import dev.bpfgit.policy.Prefix;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code kind: TrafficPolicy}: filter and steer packets by prefix at XDP or tc.
 *
 * @param capacity optional maximum number of rules per (interface, hook), across all policies sharing it
 */
public record TrafficPolicySpec(List<String> interfaces, Hook hook, Match match, Verdict defaultVerdict,
                                List<Rule> rules, OptionalInt capacity) implements PolicySpec {

    /** Rules per (interface, hook) when no policy sharing it sets {@code capacity}. */
    public static final int DEFAULT_CAPACITY = 16384;

    public TrafficPolicySpec {
        interfaces = List.copyOf(interfaces);
        rules = List.copyOf(rules);
    }

    public enum Hook {
        XDP("xdp"), TC_INGRESS("tc-ingress"), TC_EGRESS("tc-egress");

        public final String yaml;

        Hook(String yaml) {
            this.yaml = yaml;
        }

        public boolean tc() {
            return this != XDP;
        }

        public static Hook of(String yaml) {
            for (Hook h : values()) {
                if (h.yaml.equals(yaml)) {
                    return h;
                }
            }
            throw new IllegalArgumentException("hook " + yaml);
        }
    }

    public enum Match {
        SOURCE("source"), DESTINATION("destination");

        public final String yaml;

        Match(String yaml) {
            this.yaml = yaml;
        }

        public static Match of(String yaml) {
            return yaml.equals("source") ? SOURCE : DESTINATION;
        }
    }

    /** What happens to a packet no rule matches. */
    public enum Verdict {
        PASS("pass"), DROP("drop");

        public final String yaml;

        Verdict(String yaml) {
            this.yaml = yaml;
        }

        public static Verdict of(String yaml) {
            return yaml.equals("drop") ? DROP : PASS;
        }
    }

    public enum Action {
        PASS("pass"), DROP("drop"), REDIRECT("redirect"), MARK("mark");

        public final String yaml;

        Action(String yaml) {
            this.yaml = yaml;
        }

        public static Action of(String yaml) {
            for (Action a : values()) {
                if (a.yaml.equals(yaml)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("action " + yaml);
        }
    }

    /**
     * One rule. {@code index} is its position in {@code spec.rules}, for error locations
     * ({@code /spec/rules/<index>/...}).
     */
    public record Rule(int index, Prefix prefix, Action action, Optional<String> to, Optional<Long> mark) {
    }
}
