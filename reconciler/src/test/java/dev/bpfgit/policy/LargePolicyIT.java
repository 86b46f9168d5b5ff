package dev.bpfgit.policy;

import dev.bpfgit.kind.traffic.TrafficPolicySpec;
import dev.bpfgit.source.PolicyFiles;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limits against hostile files (README "Limits") must not refuse the largest real one: a policy at the
 * largest capacity, 1,048,576 rules in one file. An IT because it takes tens of seconds.
 */
class LargePolicyIT {
    @Test
    void aMillionRuleFileStaysWithinEveryLimit() {
        StringBuilder b = new StringBuilder("""
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: big}
                spec:
                  interfaces: [eth0]
                  hook: xdp
                  capacity: 1048576
                  rules:
                """);
        for (int i = 0; i < 1_048_576; i++) {
            b.append("    - {prefix: ").append(10 + (i >> 16)).append('.').append((i >> 8) & 255).append('.')
                    .append(i & 255).append(".0/24, action: drop}\n");
        }
        String text = b.toString();
        assertTrue(text.getBytes(StandardCharsets.UTF_8).length < PolicyFiles.MAX_BYTES);
        long start = System.nanoTime();
        List<Policy> policies = new PolicyLoader().load(new Snapshot("r", Map.of("f.yaml", text)));
        assertEquals(1_048_576, ((TrafficPolicySpec) policies.getFirst().spec()).rules().size());
        System.out.printf("1,048,576 rules, %d bytes: loaded in %d ms%n", text.length(),
                (System.nanoTime() - start) / 1_000_000);
    }
}
