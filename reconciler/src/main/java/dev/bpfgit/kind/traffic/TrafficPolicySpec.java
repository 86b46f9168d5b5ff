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

        private static final Action[] ALL = values();   // values() copies the array: once per rule otherwise

        public static Action of(String yaml) {
            for (Action a : ALL) {
                if (a.yaml.equals(yaml)) {
                    return a;
                }
            }
            throw new IllegalArgumentException("action " + yaml);
        }
    }

    /**
     * One prefix of a rule: a rule with {@code prefixes: [...]} becomes one of these per item, so everything
     * after reading (checks, compile, explain) sees one prefix, one action. {@code index} is the rule's position
     * in {@code spec.rules}, {@code element} the item's position in its {@code prefixes} ({@link #SINGLE} for
     * {@code prefix:}), for error locations.
     */
    public record Rule(int index, Prefix prefix, Action action, Optional<String> to, Optional<Long> mark,
                       int element) {
        /** {@code element} of a rule written with {@code prefix:}. */
        public static final int SINGLE = -1;

        public Rule(int index, Prefix prefix, Action action, Optional<String> to, Optional<Long> mark) {
            this(index, prefix, action, to, mark, SINGLE);
        }

        /** {@code /spec/rules/<index>}: the rule, for what it says besides its prefix. */
        public String pointer() {
            return "/spec/rules/" + index;
        }

        /** {@code /spec/rules/<index>/prefix} or {@code /spec/rules/<index>/prefixes/<element>}. */
        public String prefixPointer() {
            return element == SINGLE ? pointer() + "/prefix" : pointer() + "/prefixes/" + element;
        }

        /** "rule 3", or "rule 3, item 7 of its prefixes": how a message names it. */
        public String describe() {
            return element == SINGLE ? "rule " + index : "rule " + index + ", item " + element + " of its prefixes";
        }
    }
}
