package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Rule;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tries' entries written straight into packed arrays ({@link TrafficCompiler#entries}) against the
 * straightforward way: one map put per rule of every policy of the unit, in policy and rule order.
 */
class TrafficCompilerTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3, "eth2", 7));

    @Test
    void packedEntriesEqualOneMapPutPerRule() {
        for (int seed = 0; seed < 40; seed++) {
            Random rnd = new Random(seed);
            DesiredState d = compile(randomPolicies(rnd));
            int seen = 0;
            for (Unit u : d.units()) {
                List<Policy> ps = d.policies().stream().filter(p -> u.policies().contains(p.id())).toList();
                for (MapDesire m : u.maps()) {
                    if (!m.name().startsWith("rules_v")) {
                        continue;
                    }
                    Map<Bytes, Bytes> expected = reference(ps, m.name().equals("rules_v6"));
                    Map<Bytes, Bytes> actual = m.entries().orElseThrow();
                    assertEquals(expected, new HashMap<>(actual), "seed " + seed + ", " + m.pin());
                    assertSorted(actual, "seed " + seed + ", " + m.pin());
                    seen += actual.size();
                }
            }
            assertTrue(seen > 0, "seed " + seed + " compiled no rule");
        }
    }

    @Test
    void aUnitWithoutIpv6RulesHasAnEmptyIpv6Trie() {
        DesiredState d = compile(Map.of("p.yaml", policy("a", "xdp", "    - {prefix: 10.0.0.0/8, action: drop}\n")));
        Map<String, Map<Bytes, Bytes>> byName = new TreeMap<>();
        d.units().getFirst().maps().forEach(m -> m.entries().ifPresent(e -> byName.put(m.name(), e)));
        assertEquals(1, byName.get("rules_v4").size());
        assertEquals(0, byName.get("rules_v6").size());
    }

    private static DesiredState compile(Map<String, String> files) {
        Snapshot s = new Snapshot("r", files);
        return Compiler.compile(ROOT, s.revision(), new PolicyLoader().load(s), HOST);
    }

    /** What the compiler did before: a map put per rule, later rules replacing earlier ones. */
    private static Map<Bytes, Bytes> reference(List<Policy> ps, boolean ipv6) {
        Map<Bytes, Bytes> m = new HashMap<>();
        for (Policy p : ps) {
            for (Rule r : ((TrafficPolicySpec) p.spec()).rules()) {
                if (r.prefix().ipv6() == ipv6) {
                    int ifindex = r.to().map(HOST.interfaces()::get).orElse(0);
                    m.put(LpmMaps.key(r.prefix()), TrafficLayout.rule(PolicyIds.of(p.id()), r.action(), ifindex,
                            r.mark().orElse(0L)));
                }
            }
        }
        return m;
    }

    private static void assertSorted(Map<Bytes, Bytes> entries, String what) {
        byte[] last = null;
        for (Bytes k : entries.keySet()) {
            byte[] b = k.toArray();
            assertTrue(last == null || Arrays.compareUnsigned(last, b) < 0, what + ": keys not strictly increasing");
            last = b;
        }
    }

    /** One to three policies on eth0 (tc-ingress) and maybe one on eth1 (tc-egress), with distinct prefixes of every kind. */
    private static Map<String, String> randomPolicies(Random rnd) {
        Set<String> used = new HashSet<>();
        Map<String, String> files = new TreeMap<>();
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            files.put("p" + i + ".yaml", policy("p" + i, "tc-ingress", rules(rnd, used, rnd.nextInt(300))));
        }
        if (rnd.nextBoolean()) {
            files.put("q.yaml", policy("q", "tc-egress", rules(rnd, new HashSet<>(), 1 + rnd.nextInt(50)))
                    .replace("[eth0]", "[eth1]"));
        }
        return files;
    }

    private static String policy(String name, String hook, String rules) {
        return "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: " + name + "}\nspec:\n"
                + "  interfaces: [eth0]\n  hook: " + hook + "\n  capacity: 2000\n  rules:\n"
                + (rules.isEmpty() ? "    - {prefix: 192.0.2.0/24, action: pass}\n" : rules);
    }

    private static String rules(Random rnd, Set<String> used, int count) {
        StringBuilder b = new StringBuilder();
        List<String> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String prefix = prefix(rnd);
            if (prefix.startsWith("192.0.2.") || !used.add(prefix)) {
                continue;
            }
            if (rnd.nextInt(5) == 0) {
                list.add(prefix);   // gathered into one rule with prefixes: at the end
                continue;
            }
            String action = switch (rnd.nextInt(4)) {
                case 0 -> "pass";
                case 1 -> "drop";
                case 2 -> "redirect, to: " + (rnd.nextBoolean() ? "eth1" : "eth2");
                default -> "mark, mark: " + rnd.nextInt(1 << 20);
            };
            b.append("    - {prefix: \"").append(prefix).append("\", action: ").append(action).append("}\n");
        }
        if (!list.isEmpty()) {
            b.append("    - action: drop\n      prefixes:\n");
            list.forEach(p -> b.append("        - \"").append(p).append("\"\n"));
        }
        return b.toString();
    }

    /** A network prefix (host bits clear), IPv4 or IPv6, of any length. */
    private static String prefix(Random rnd) {
        boolean v6 = rnd.nextInt(3) == 0;
        byte[] a = new byte[v6 ? 16 : 4];
        rnd.nextBytes(a);
        int len = rnd.nextInt(a.length * 8 + 1);
        for (int bit = len; bit < a.length * 8; bit++) {
            a[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return new dev.bpfgit.policy.Prefix(a, len).toString();
    }
}
