package dev.bpfgit.kind.traffic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.List;

/**
 * The {@code rules} of a TrafficPolicy's {@code status -o json}, written when the status is written: the geo table's
 * 1.16M rules as a tree of a node per field did not fit the launcher's heap ({@code status -o json} ran out of
 * memory at 768 MiB). It writes what {@link #tree} holds, token for token ({@code TrafficRulesJsonTest}).
 */
final class TrafficRulesJson extends JsonSerializable.Base {
    private final List<TrafficCounters.Count> counts;

    TrafficRulesJson(List<TrafficCounters.Count> counts) {
        this.counts = counts;
    }

    @Override
    public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
        g.writeStartArray();
        for (TrafficCounters.Count c : counts) {
            g.writeStartObject();
            g.writeStringField("prefix", c.prefix());
            if (c.rule() != null) {
                g.writeStringField("action", TrafficLayout.rule(c.rule()).action().yaml);
            }
            g.writeNumberField("packets", c.packets());
            g.writeNumberField("bytes", c.bytes());
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    @Override
    public void serializeWithType(JsonGenerator g, SerializerProvider provider, TypeSerializer type) throws IOException {
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
