package dev.bpfgit.kind.reuseport;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Strategy;
import dev.bpfgit.policy.JsonPointers;
import dev.bpfgit.policy.PolicyError;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Builds a {@link ReusePortSpec} from a spec the schema accepted: checks what the schema cannot, that the
 * address is an IP address and a command is a regular expression. A bad member is reported and left out.
 */
final class ReusePortReader {
    private ReusePortReader() {
    }

    static ReusePortSpec read(ObjectNode spec, String pointer, BiFunction<String, String, PolicyError> error,
                              Consumer<PolicyError> errors) {
        // the defaults are filled in here, not by the schema: the validator's walk applies the defaults of
        // every kind's branch of policy.schema.json to every document, which would change other kinds' digests
        putIfAbsent(spec, "protocol", "tcp");
        putIfAbsent(spec, "strategy", "hot-standby");
        if (!spec.has("migrate")) {
            spec.put("migrate", false);
        }
        spec.get("members").forEach(m -> {
            ObjectNode o = (ObjectNode) m;
            if (!o.has("weight")) {
                o.put("weight", 1);
            }
            if (!o.has("drain")) {
                o.put("drain", false);
            }
        });
        Optional<InetAddress> address = Optional.empty();
        if (spec.has("address")) {
            try {
                InetAddress a = InetAddress.ofLiteral(spec.get("address").asString());
                address = Optional.of(a);
                spec.put("address", a.getHostAddress());
            } catch (IllegalArgumentException e) {
                errors.accept(error.apply(pointer + "/address", spec.get("address").asString()
                        + " is not an IPv4 or IPv6 address"));
            }
        }
        List<Member> members = new ArrayList<>();
        JsonNode nodes = spec.get("members");
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode m = nodes.get(i);
            String at = JsonPointers.child(JsonPointers.child(pointer, "members"), i);
            JsonNode p = m.get("process");
            ReusePortSpec.Process process;
            if (p.has("pidFile")) {
                process = new ReusePortSpec.PidFile(Path.of(p.get("pidFile").asString()));
            } else if (p.has("cgroup")) {
                process = new ReusePortSpec.Cgroup(p.get("cgroup").asString());
            } else {
                try {
                    process = new ReusePortSpec.Command(Pattern.compile(p.get("command").asString()));
                } catch (PatternSyntaxException e) {
                    errors.accept(error.apply(at + "/process/command", "not a regular expression: "
                            + e.getDescription() + " near index " + e.getIndex()));
                    continue;
                }
            }
            members.add(new Member(i, m.get("name").asString(), m.path("weight").asInt(1), m.path("drain").asBoolean(false),
                    process));
        }
        return new ReusePortSpec(spec.get("port").asInt(), address,
                SocketProtocol.valueOf(spec.path("protocol").asString("tcp").toUpperCase()),
                Optional.ofNullable(spec.get("netns")).map(JsonNode::asString),
                Strategy.of(spec.path("strategy").asString("hot-standby")), spec.path("migrate").asBoolean(false), members);
    }

    private static void putIfAbsent(ObjectNode spec, String field, String value) {
        if (!spec.has(field)) {
            spec.put(field, value);
        }
    }
}
