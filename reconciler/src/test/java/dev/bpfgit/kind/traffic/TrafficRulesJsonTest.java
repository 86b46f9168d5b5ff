package dev.bpfgit.kind.traffic;

import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kernel.Bytes;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code status -o json}'s rules written as the status is written are the tree they were, byte for byte. */
class TrafficRulesJsonTest {
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    @Test
    void theStreamedRulesAreTheTreeByteForByte() throws Exception {
        Random random = new Random(3);
        for (int n : new int[]{0, 1, 7, 5000}) {
            List<TrafficCounters.Count> counts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                // a rule of each action kind and the unit's default (no rule)
                Bytes rule = switch (i % 4) {
                    case 0 -> null;
                    case 1 -> TrafficLayout.rule(i % 5, TrafficPolicySpec.Action.DROP, 0, 0);
                    case 2 -> TrafficLayout.rule(i % 5, TrafficPolicySpec.Action.MARK, 0, 0x10 + i);
                    default -> TrafficLayout.rule(i % 5, TrafficPolicySpec.Action.PASS, 0, 0);
                };
                counts.add(new TrafficCounters.Count(i % 5, "10." + i / 256 % 256 + "." + i % 256 + ".0/24", rule,
                        random.nextLong(Long.MAX_VALUE), random.nextInt(1000)));
            }
            TrafficRulesJson streamed = new TrafficRulesJson(counts);
            ObjectNode a = JSON.createObjectNode().put("unit", "traffic/eth0/xdp");
            a.putPOJO("rules", streamed);
            ObjectNode b = JSON.createObjectNode().put("unit", "traffic/eth0/xdp");
            b.set("rules", streamed.tree());
            String text = JSON.writeValueAsString(b);
            assertEquals(text, JSON.writeValueAsString(a));
            assertEquals(n, JSON.readTree(text).get("rules").size());
            assertTrue(n < 2 || text.contains("\"action\""), text.substring(0, Math.min(300, text.length())));
        }
    }
}
