package dev.bpfgit.kind.traffic;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.node.StringNode;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Hook;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Match;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Rule;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Verdict;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * Builds a {@link TrafficPolicySpec} from a spec the schema accepted (defaults filled in), so only what the
 * schema cannot say is checked here: that each prefix is a real network prefix. A rule's {@code prefixes} become
 * one {@link Rule} per item. A prefix that is not one is reported and left out, so that the checks across
 * policies still see the rest of the policy.
 */
public final class TrafficPolicyReader {
    private TrafficPolicyReader() {
    }

    /**
     * @param spec    the spec with defaults applied; prefixes and marks are rewritten in place to their
     *                canonical form (so {@code 0x10} and {@code "16"}, or upper and lower case IPv6, digest alike)
     * @param pointer the spec's JSON pointer, {@code /spec}
     */
    public static TrafficPolicySpec read(ObjectNode spec, String pointer,
                                         BiFunction<String, String, PolicyError> error,
                                         Consumer<PolicyError> errors) {
        List<String> interfaces = new ArrayList<>();
        spec.get("interfaces").forEach(i -> interfaces.add(i.asString()));
        List<Rule> rules = new ArrayList<>();
        JsonNode ruleNodes = spec.get("rules");
        for (int i = 0; i < ruleNodes.size(); i++) {
            // a call per rule: compiled as a method early, where a loop run once per load is only ever compiled
            // on the stack (OSR), late and differently from one JVM to the next
            readRule((ObjectNode) ruleNodes.get(i), i, pointer, error, errors, rules);
        }
        OptionalInt capacity = spec.has("capacity") ? OptionalInt.of(spec.get("capacity").asInt()) : OptionalInt.empty();
        // absent means refuse, and is left absent: a default written into the spec would change the digest of
        // every policy applied before the field existed
        JsonNode foreign = spec.get("foreignPrograms");
        return new TrafficPolicySpec(interfaces, Hook.of(spec.get("hook").asString()),
                Match.of(spec.get("match").asString()), Verdict.of(spec.get("default").asString()), rules, capacity,
                TrafficPolicySpec.ForeignPrograms.of(foreign == null ? null : foreign.asString()));
    }

    private static void readRule(ObjectNode r, int i, String pointer, BiFunction<String, String, PolicyError> error,
                                 Consumer<PolicyError> errors, List<Rule> rules) {
        Action action = Action.of(r.get("action").asString());
        JsonNode toNode = r.get("to"), markNode = r.get("mark");
        Optional<String> to = toNode == null ? Optional.empty() : Optional.of(toNode.asString());
        Optional<Long> mark = markNode == null ? Optional.empty() : Optional.of(mark(markNode));
        if (mark.isPresent()) {   // not ifPresent: a capturing lambda per rule
            r.put("mark", mark.get());
        }
        // pointers are made only for an error: a string per prefix was a good part of a 100k feed's garbage
        if (r.get("prefixes") instanceof ArrayNode list) {
            for (int j = 0; j < list.size(); j++) {
                readElement(list, i, j, action, to, mark, pointer, error, errors, rules);
            }
        } else {
            String text = r.get("prefix").asString();
            Prefix prefix = prefix(text, pointer, i, Rule.SINGLE, error, errors);
            if (prefix != null) {
                String canonical = prefix.canonical(text);
                if (canonical != text) {   // the same string when it was written canonically
                    r.put("prefix", canonical);
                }
                rules.add(new Rule(i, prefix, action, to, mark));
            }
        }
    }

    /** One prefix of a rule's {@code prefixes} (a call per element, as {@link #readRule} per rule). */
    private static void readElement(ArrayNode list, int i, int j, Action action, Optional<String> to,
                                    Optional<Long> mark, String pointer, BiFunction<String, String, PolicyError> error,
                                    Consumer<PolicyError> errors, List<Rule> rules) {
        String was = list.get(j).asString();
        Prefix prefix = prefix(was, pointer, i, j, error, errors);
        if (prefix != null) {
            String text = prefix.canonical(was);
            if (text != was) {   // the same string when it was written canonically
                list.set(j, StringNode.valueOf(text));
            }
            rules.add(new Rule(i, prefix, action, to, mark, j));
        }
    }

    /** The prefix, or null once its error is reported: the rule is left out. */
    private static Prefix prefix(String text, String pointer, int rule, int element,
                                 BiFunction<String, String, PolicyError> error, Consumer<PolicyError> errors) {
        try {
            return Prefix.parse(text);
        } catch (IllegalArgumentException e) {
            String at = pointer + "/rules/" + rule + (element == Rule.SINGLE ? "/prefix" : "/prefixes/" + element);
            errors.accept(error.apply(at, e.getMessage()));
            return null;
        }
    }

    /** The schema allows 1..0xffffffff as a YAML integer (16, 0x10) or a hex string ("0x10"). */
    private static long mark(JsonNode mark) {
        return mark.isString() ? Long.parseLong(mark.asString().substring(2), 16) : mark.asLong();
    }
}
