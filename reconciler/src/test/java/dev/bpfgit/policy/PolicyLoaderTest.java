package dev.bpfgit.policy;

import dev.bpfgit.kind.traffic.TrafficPolicySpec;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Hook;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Match;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Rule;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Verdict;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Collectors;

import static dev.bpfgit.policy.Golden.POLICIES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Valid policies: what the loader builds from them, and what their digests depend on. */
class PolicyLoaderTest {
    private static final String FLEET = POLICIES + "/valid/fleet";

    private final PolicyLoader loader = new PolicyLoader();

    @Test
    void aValidLoadReadsNoPositions() {
        // positions are read again from the file when an error needs them; the duplicate-name check once asked
        // every policy for its name's position, and a million-rule validate ran out of memory doing so
        List<Policy> policies = loader.load(DirectorySource.read(java.nio.file.Path.of(FLEET)));

        assertEquals(3, policies.size());
        for (Policy p : policies) {
            assertTrue(p.locations() instanceof LazyLocations, p.id());
            assertFalse(((LazyLocations) p.locations()).found(), p.id() + ": positions read for a valid load");
        }
        // and an error still finds them when it needs them
        Policy edge = policies.get(0);
        assertTrue(edge.at("/metadata/name").line() > edge.location().line(), edge.at("/metadata/name").toString());
        assertTrue(((LazyLocations) edge.locations()).found());
    }

    @Test
    void validDirectoryLoadsIntoTheExpectedRecords() {
        List<Policy> policies = loader.load(DirectorySource.read(java.nio.file.Path.of(FLEET)));

        assertEquals(List.of("TrafficPolicy/edge-filter", "TrafficPolicy/egress-marks", "TrafficPolicy/quarantine"),
                policies.stream().map(Policy::id).toList());

        Policy edge = policies.get(0);
        assertEquals(new TrafficPolicySpec(List.of("eth0"), Hook.XDP, Match.SOURCE, Verdict.PASS, List.of(
                new Rule(0, Prefix.parse("203.0.113.0/24"), Action.DROP, Optional.empty(), Optional.empty()),
                new Rule(1, Prefix.parse("2001:db8:bad::/48"), Action.DROP, Optional.empty(), Optional.empty()),
                new Rule(2, Prefix.parse("198.51.100.0/24"), Action.REDIRECT, Optional.of("eth1"), Optional.empty())),
                OptionalInt.empty()), edge.spec());
        assertEquals(HostSelector.ALL, edge.hosts());
        assertEquals(new Location(FLEET + "/edge-filter.yaml", 2, 1), edge.location());
        assertEquals(new Location(FLEET + "/edge-filter.yaml", 12, 16), edge.at("/spec/rules/1/prefix"));
        assertEquals(new Location(FLEET + "/edge-filter.yaml", 7, 9), edge.at("/spec/hook"));

        Policy marks = policies.get(1);
        assertEquals(new TrafficPolicySpec(List.of("eth0", "eth1"), Hook.TC_EGRESS, Match.DESTINATION, Verdict.PASS,
                List.of(new Rule(0, Prefix.parse("10.0.0.0/8"), Action.MARK, Optional.empty(), Optional.of(0x10L)),
                        new Rule(1, Prefix.parse("172.16.0.0/12"), Action.MARK, Optional.empty(), Optional.of(0xffL)),
                        new Rule(2, Prefix.parse("192.168.0.0/16"), Action.MARK, Optional.empty(),
                                Optional.of(0xffffffffL))),
                OptionalInt.of(1024)), marks.spec());
        assertEquals(new HostSelector(List.of("edge-*"), Map.of("role", "edge")), marks.hosts());
        assertEquals(new Location(FLEET + "/edge-filter.yaml", 16, 1), marks.location());
        assertEquals(new Location(FLEET + "/edge-filter.yaml", 34, 13), marks.at("/spec/rules/1/mark"));

        Policy quarantine = policies.get(2);
        assertEquals(new TrafficPolicySpec(List.of("eth2"), Hook.TC_INGRESS, Match.SOURCE, Verdict.DROP, List.of(
                new Rule(0, Prefix.parse("192.0.2.0/24"), Action.PASS, Optional.empty(), Optional.empty()),
                new Rule(1, Prefix.parse("2001:db8::/32"), Action.PASS, Optional.empty(), Optional.empty())),
                OptionalInt.empty()), quarantine.spec());
        assertEquals(new Location(FLEET + "/nested/quarantine.yml", 2, 1), quarantine.location());
    }

    @Test
    void digestIgnoresKeyOrderCommentsLayoutDefaultsAndSpelling() {
        Map<String, String> fleet = digests(DirectorySource.read(java.nio.file.Path.of(FLEET)));
        Map<String, String> reordered = digests(DirectorySource.read(java.nio.file.Path.of(POLICIES + "/valid/reordered")));
        assertEquals(3, fleet.size());
        assertEquals(fleet, reordered);
        fleet.values().forEach(d -> assertEquals(64, d.length(), d));
    }

    @Test
    void changingARuleOrTheHostsOrTheCapacityChangesTheDigest() {
        String policy = """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: p}
                spec:
                  interfaces: [eth0]
                  hook: tc-ingress
                  capacity: 100
                  hosts: {names: [a]}
                  rules:
                    - {prefix: 192.0.2.0/24, action: drop}
                    - {prefix: 10.0.0.0/8, action: mark, mark: 0x10}
                """;
        String original = digest(policy);
        assertEquals(original, digest(policy.replace("    - {", "    -  {")));
        for (String[] change : new String[][]{
                {"192.0.2.0/24, action: drop", "192.0.2.0/24, action: pass"},
                {"192.0.2.0/24", "192.0.3.0/24"},
                {"mark: 0x10", "mark: 0x11"},
                {"capacity: 100", "capacity: 101"},
                {"names: [a]", "names: [b]"},
                {"interfaces: [eth0]", "interfaces: [eth1]"}}) {
            assertNotEquals(original, digest(policy.replace(change[0], change[1])), change[1]);
        }
    }

    @Test
    void defaultCapacityIs16384RulesPerInterfaceAndHook() {
        assertEquals(1, loader.load(snapshot(generated("big", 16384))).size());

        PolicyException e = assertThrows(PolicyException.class,
                () -> loader.load(snapshot(generated("big", 16000) + "---\n" + generated("more", 385))));
        assertEquals("p.yaml:16016:5: error: /spec/rules: eth0 (xdp) would hold 16385 rules (TrafficPolicy/big: 16000,"
                + " TrafficPolicy/more: 385), more than its capacity of 16384 (the default; set spec.capacity to raise it)\n",
                ErrorFormat.text(e));
    }

    @Test
    void emptySourceHasNoPolicies() {
        assertEquals(List.of(), loader.load(new Snapshot("dir:0", Map.of("empty.yaml", "# nothing yet\n---\n"))));
    }

    private static String generated(String name, int rules) {
        StringBuilder yaml = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: "
                + name + "}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n");
        int offset = name.equals("big") ? 0 : 1 << 20;
        for (int i = 0; i < rules; i++) {
            int n = offset + i;
            yaml.append("    - {prefix: 10.").append(n >> 16 & 255).append('.').append(n >> 8 & 255).append('.')
                    .append(n & 255).append("/32, action: drop}\n");
        }
        return yaml.toString();
    }

    private String digest(String yaml) {
        return loader.load(snapshot(yaml)).getFirst().digest();
    }

    private static Snapshot snapshot(String yaml) {
        return new Snapshot("dir:test", Map.of("p.yaml", yaml));
    }

    private Map<String, String> digests(Snapshot snapshot) {
        return loader.load(snapshot).stream().collect(Collectors.toMap(Policy::id, Policy::digest));
    }
}
