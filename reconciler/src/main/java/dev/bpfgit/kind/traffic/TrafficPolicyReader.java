package dev.bpfgit.kind.traffic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bpfgit.policy.JsonPointers;
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
 * schema cannot say is checked here: that each prefix is a real network prefix. A rule with a bad prefix is
 * reported and left out, so that the checks across policies still see the rest of the policy.
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
        spec.get("interfaces").forEach(i -> interfaces.add(i.asText()));
        List<Rule> rules = new ArrayList<>();
        JsonNode ruleNodes = spec.get("rules");
        for (int i = 0; i < ruleNodes.size(); i++) {
            ObjectNode r = (ObjectNode) ruleNodes.get(i);
            String at = JsonPointers.child(JsonPointers.child(pointer, "rules"), i);
            Prefix prefix;
            try {
                prefix = Prefix.parse(r.get("prefix").asText());
            } catch (IllegalArgumentException e) {
                errors.accept(error.apply(at + "/prefix", e.getMessage()));
                continue;
            }
            r.put("prefix", prefix.toString());
            Optional<Long> mark = Optional.ofNullable(r.get("mark")).map(TrafficPolicyReader::mark);
            mark.ifPresent(m -> r.put("mark", m));
            rules.add(new Rule(i, prefix, Action.of(r.get("action").asText()),
                    Optional.ofNullable(r.get("to")).map(JsonNode::asText), mark));
        }
        OptionalInt capacity = spec.has("capacity") ? OptionalInt.of(spec.get("capacity").asInt()) : OptionalInt.empty();
        return new TrafficPolicySpec(interfaces, Hook.of(spec.get("hook").asText()),
                Match.of(spec.get("match").asText()), Verdict.of(spec.get("default").asText()), rules, capacity);
    }

    /** The schema allows 1..0xffffffff as a YAML integer (16, 0x10) or a hex string ("0x10"). */
    private static long mark(JsonNode mark) {
        return mark.isTextual() ? Long.parseLong(mark.asText().substring(2), 16) : mark.asLong();
    }
}
