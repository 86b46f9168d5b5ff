package dev.bpfgit.kind.traffic;

import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JacksonSerializable;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.jsontype.TypeSerializer;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

import java.util.List;

/**
 * The {@code rules} of a TrafficPolicy's {@code status -o json}, written when the status is written: the geo table's
 * 1.16M rules as a tree of a node per field did not fit the launcher's heap ({@code status -o json} ran out of
 * memory at 768 MiB). It writes what {@link #tree} holds, token for token ({@code TrafficRulesJsonTest}).
 */
final class TrafficRulesJson extends JacksonSerializable.Base {
    private final List<TrafficCounters.Count> counts;

    TrafficRulesJson(List<TrafficCounters.Count> counts) {
        this.counts = counts;
    }

    @Override
    public void serialize(JsonGenerator g, SerializationContext provider) {
        g.writeStartArray();
        for (TrafficCounters.Count c : counts) {
            g.writeStartObject();
            g.writeStringProperty("prefix", c.prefix());
            if (c.rule() != null) {
                g.writeStringProperty("action", TrafficLayout.rule(c.rule()).action().yaml);
            }
            g.writeNumberProperty("packets", c.packets());
            g.writeNumberProperty("bytes", c.bytes());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    @Override
    public void serializeWithType(JsonGenerator g, SerializationContext provider, TypeSerializer type) {
        serialize(g, provider);
    }

    /** The same as a tree, as it was built before. */
    ArrayNode tree() {
        ArrayNode rules = JsonNodeFactory.instance.arrayNode();
        for (TrafficCounters.Count c : counts) {
            ObjectNode r = rules.addObject().put("prefix", c.prefix());
            if (c.rule() != null) {
                r.put("action", TrafficLayout.rule(c.rule()).action().yaml);
            }
            r.put("packets", c.packets()).put("bytes", c.bytes());
        }
        return rules;
    }
}
