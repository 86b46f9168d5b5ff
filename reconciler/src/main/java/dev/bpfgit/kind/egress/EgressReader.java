package dev.bpfgit.kind.egress;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.policy.JsonPointers;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.Prefix;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds an {@link EgressSpec} from a spec the schema accepted: prefixes are parsed (a bad one is reported
 * and left out) and written back in canonical form; a timeout above what TCP_USER_TIMEOUT holds is an error.
 */
final class EgressReader {
    static final String[] FIELDS = {"tcpSyn", "tcpEstablished", "tcpFin", "tcpUser", "any"};
    /** TCP_USER_TIMEOUT is an int of milliseconds. */
    static final long MAX_MS = Integer.MAX_VALUE;
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    private EgressReader() {
    }

    static EgressSpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                           Consumer<PolicyError> errors) {
        List<EgressSpec.Destination> destinations = new ArrayList<>();
        JsonNode ds = spec.get("destinations");
        for (int i = 0; i < ds.size(); i++) {
            ObjectNode d = (ObjectNode) ds.get(i);
            String at = JsonPointers.child(JsonPointers.child(pointer, "destinations"), i) + "/prefix";
            try {
                Prefix p = Prefix.parse(d.get("prefix").asString());
                d.put("prefix", p.toString());
                destinations.add(new EgressSpec.Destination(i, p));
            } catch (IllegalArgumentException e) {
                errors.accept(error.apply(at, e.getMessage()));
            }
        }
        JsonNode t = spec.get("timeouts");
        long[] ms = new long[FIELDS.length];
        for (int i = 0; i < FIELDS.length; i++) {
            JsonNode v = t.get(FIELDS[i]);
            if (v == null) {
                continue;
            }
            ms[i] = millis(v.asString());
            if (ms[i] > MAX_MS) {
                errors.accept(error.apply(pointer + "/timeouts/" + FIELDS[i], v.asString()
                        + " is longer than TCP_USER_TIMEOUT can hold (24 days)"));
                ms[i] = 0;
            }
        }
        return new EgressSpec(spec.get("cgroup").asString(), destinations,
                new EgressSpec.Timeouts(ms[0], ms[1], ms[2], ms[3], ms[4]),
                Optional.ofNullable(spec.get("netns")).map(JsonNode::asString));
    }

    /** The schema accepted it: a duration or 0. */
    static long millis(String text) {
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            return 0;
        }
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
        long unit = switch (m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1000;
            case "m" -> 60_000;
            default -> 3_600_000;
        };
        return n > Long.MAX_VALUE / unit ? Long.MAX_VALUE : n * unit;
    }

    static String human(long ms) {
        if (ms == 0) {
            return "default";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
