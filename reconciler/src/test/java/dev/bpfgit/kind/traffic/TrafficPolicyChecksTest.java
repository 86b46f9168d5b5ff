package dev.bpfgit.kind.traffic;

import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link TrafficPolicyChecks#passesAcross}: for policies each valid alone, exactly whether check finds nothing. */
class TrafficPolicyChecksTest {
    private static String policy(String name, String match, int net, int rules, String capacity) {
        StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: "
                + name + "}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  match: " + match + "\n  default: pass\n"
                + capacity + "  rules:\n");
        for (int i = 0; i < rules; i++) {
            sb.append("    - {prefix: 10.").append(net).append('.').append(i / 256).append('.').append(i % 256)
                    .append("/32, action: drop}\n");
        }
        return sb.toString();
    }

    /** Each file loaded on its own (so each passed check alone, as in a split parse's runs), in order. */
    private static List<Policy> alone(String... texts) {
        List<Policy> all = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            all.addAll(new PolicyLoader().load(new Snapshot("r", Map.of("f" + i + ".yaml", texts[i]))));
        }
        return all;
    }

    @Test
    void passesAcrossAgreesWithCheckBetweenPoliciesValidAlone() {
        List<List<Policy>> failing = List.of(
                alone(policy("one", "source", 1, 300, ""), policy("two", "source", 1, 5, "")),   // a prefix twice
                alone(policy("one", "source", 1, 10, ""), policy("two", "destination", 2, 10, "")),   // match
                alone(policy("one", "source", 1, 300, "  capacity: 500\n"),
                        policy("two", "source", 2, 300, "  capacity: 500\n")));   // 600 rules in 500
        for (List<Policy> policies : failing) {
            assertFalse(TrafficPolicyChecks.check(policies).isEmpty(), policies.toString());
            assertFalse(TrafficPolicyChecks.passesAcross(policies), policies.toString());
        }
        List<Policy> valid = alone(policy("one", "source", 1, 300, ""), policy("two", "source", 2, 300, ""));
        assertEquals(List.of(), TrafficPolicyChecks.check(valid));
        assertTrue(TrafficPolicyChecks.passesAcross(valid));
        assertTrue(new TrafficKind().passesAcross(valid));
        assertFalse(new TrafficKind().passesAcross(failing.get(0)));
    }
}
