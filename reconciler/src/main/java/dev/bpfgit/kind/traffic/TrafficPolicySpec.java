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
 * @param foreignPrograms what a tc program bpfgit did not attach, at the same interface and direction, means
 */
public record TrafficPolicySpec(List<String> interfaces, Hook hook, Match match, Verdict defaultVerdict,
                                List<Rule> rules, OptionalInt capacity, ForeignPrograms foreignPrograms)
        implements PolicySpec {

    /** Rules per (interface, hook) when no policy sharing it sets {@code capacity}. */
    public static final int DEFAULT_CAPACITY = 16384;

    public TrafficPolicySpec {
        interfaces = List.copyOf(interfaces);
        rules = List.copyOf(rules);
    }

    /** Without {@code foreignPrograms}: a foreign tc program at the policy's hook is refused. */
    public TrafficPolicySpec(List<String> interfaces, Hook hook, Match match, Verdict defaultVerdict,
                             List<Rule> rules, OptionalInt capacity) {
        this(interfaces, hook, match, defaultVerdict, rules, capacity, ForeignPrograms.REFUSE);
    }

    /**
     * {@code spec.foreignPrograms}: a program another tool attached at the same tc hook runs before or beside
     * bpfgit's and may decide a packet first, so by default bpfgit refuses to attach next to one (and reports
     * one that appears later). {@code coexist} is the operator's word that the other program is meant to be there.
     */
    public enum ForeignPrograms {
        REFUSE("refuse"), COEXIST("coexist");

        public final String yaml;

        ForeignPrograms(String yaml) {
            this.yaml = yaml;
        }

        public static ForeignPrograms of(String yaml) {
            return "coexist".equals(yaml) ? COEXIST : REFUSE;
        }
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
