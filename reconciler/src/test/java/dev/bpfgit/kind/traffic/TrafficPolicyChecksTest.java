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

    private static String withPrefixes(String name, List<String> prefixes) {
        StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: "
                + name + "}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  match: source\n  default: pass\n"
                + "  capacity: 100000\n  rules:\n");
        for (String p : prefixes) {
            sb.append("    - {prefix: '").append(p).append("', action: drop}\n");
        }
        return sb.toString();
    }

    /**
     * {@code repeats}, the table of IPv4 keys and the set of the rest that let check skip its maps: a prefix
     * given twice is found whatever its family, place or length, and distinct ones (neighbours, lengths of one
     * address, the zero prefix, thousands that probe past each other) are never taken for one.
     */
    @Test
    void aRepeatedPrefixIsFoundAndDistinctOnesAreNot() {
        List<String> distinct = new ArrayList<>(List.of("0.0.0.0/0", "128.0.0.0/1", "0.0.0.0/32", "10.0.0.0/8",
                "10.0.0.0/9", "10.0.0.0/16", "255.255.255.255/32", "::/0", "2001:db8::/32", "2001:db8::/33",
                "fe80::/10", "::1/128"));
        for (int i = 0; i < 5000; i++) {
            distinct.add("172." + (16 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256) + "/32");
        }
        String[] repeated = {"0.0.0.0/0", "10.0.0.0/9", "255.255.255.255/32", "::/0", "2001:db8::/33",
                "172.16.19.135/32", "172.16.0.0/32"};
        assertEquals(List.of(), checkOf(withPrefixes("one", distinct)));
        for (String p : repeated) {
            List<String> again = new ArrayList<>(distinct);
            again.add(p);
            List<String> within = checkOf(withPrefixes("one", again));
            assertEquals(1, within.size(), p + ": " + within);
            assertTrue(within.get(0).contains(" is already used by "), within.get(0));
            List<String> across = checkOf(withPrefixes("one", distinct), withPrefixes("two", List.of(p)));
            assertEquals(1, across.size(), p + ": " + across);
            assertTrue(across.get(0).contains(" both claim "), across.get(0));
        }
        assertEquals(List.of(), checkOf(withPrefixes("one", distinct.subList(0, 2500)),
                withPrefixes("two", distinct.subList(2500, distinct.size()))));
    }

    /** check over policies each read without its own checks failing the load (a repeated prefix fails it). */
    private static List<String> checkOf(String... texts) {
        List<Policy> all = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            try {
                all.addAll(new PolicyLoader().load(new Snapshot("r", Map.of("f" + i + ".yaml", texts[i]))));
            } catch (dev.bpfgit.policy.PolicyException e) {
                return e.errors().stream().map(x -> x.pointer() + " " + x.message()).toList();
            }
        }
        return TrafficPolicyChecks.check(all).stream().map(e -> e.pointer() + " " + e.message()).toList();
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
