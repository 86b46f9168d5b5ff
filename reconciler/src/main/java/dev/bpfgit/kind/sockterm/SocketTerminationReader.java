package dev.bpfgit.kind.sockterm;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Destination;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Mode;
import dev.bpfgit.policy.JsonPointers;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.Prefix;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * Builds a {@link SocketTerminationSpec} from a spec the schema accepted (ports in range, modes, protocols):
 * checks what the schema cannot, that each prefix is a prefix without host bits and appears once.
 */
final class SocketTerminationReader {
    private SocketTerminationReader() {
    }

    static SocketTerminationSpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                                      Consumer<PolicyError> errors) {
        // defaults here, not in the schema: see ReusePortReader
        if (!spec.has("protocols")) {
            ArrayNode both = spec.putArray("protocols");
            both.add("tcp").add("udp");
        }
        if (!spec.has("mode")) {
            spec.put("mode", "once");
        }
        Set<SocketProtocol> protocols = EnumSet.noneOf(SocketProtocol.class);
        spec.get("protocols").forEach(p -> protocols.add(SocketProtocol.valueOf(p.asString().toUpperCase())));
        List<Destination> destinations = new ArrayList<>();
        Map<Prefix, Integer> seen = new HashMap<>();
        JsonNode nodes = spec.get("destinations");
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode d = nodes.get(i);
            String at = JsonPointers.child(JsonPointers.child(pointer, "destinations"), i);
            Prefix prefix;
            try {
                prefix = Prefix.parse(d.get("prefix").asString());
            } catch (IllegalArgumentException e) {
                errors.accept(error.apply(at + "/prefix", e.getMessage()));
                continue;
            }
            Integer earlier = seen.putIfAbsent(prefix, i);
            if (earlier != null) {
                errors.accept(error.apply(at + "/prefix", prefix + " is already " + JsonPointers.child(JsonPointers.child(pointer, "destinations"), earlier)
                        + "; each prefix appears once per policy (list all its ports there)"));
                continue;
            }
            Set<Integer> ports = new TreeSet<>();
            d.path("ports").forEach(p -> ports.add(p.asInt()));
            destinations.add(new Destination(i + 1, prefix, ports));
        }
        return new SocketTerminationSpec(protocols, destinations, Optional.ofNullable(spec.get("netns")).map(JsonNode::asString),
                Optional.ofNullable(spec.get("cgroup")).map(JsonNode::asString), Mode.of(spec.get("mode").asString()));
    }

    /** Nothing spans documents: each policy has its own unit, and terminating twice is harmless. */
    static List<PolicyError> check(List<Policy> policies) {
        return List.of();
    }
}
