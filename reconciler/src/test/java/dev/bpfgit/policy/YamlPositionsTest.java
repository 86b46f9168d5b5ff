package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Positions are read when first asked for: they must be those a reader recording them at once finds. */
class YamlPositionsTest {
    private static final String TEXT = """
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: a}
            spec:
              interfaces: [eth0]
              hook: tc-ingress
              rules:
                - &allow {prefix: 192.0.2.0/24, action: pass}
                - <<: *allow
                  prefix: 2001:DB8::/32
                - <<: [{action: drop, to: x}, {mark: 1}]
                  prefixes:
                    - 198.51.100.0/24
                    - 203.0.113.0/24
            ---
            ---
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: b}
            spec: {interfaces: [eth1], hook: xdp, rules: [&r {prefix: 10.0.0.0/8, action: drop}, {<<: *r, prefix: 10.1.0.0/16}]}
            """;

    @Test
    void lazyPositionsAreThoseReadAtOnce() {
        List<YamlDocument> lazy = YamlReader.read("f.yaml", TEXT).documents();
        List<YamlDocument> eager = YamlReader.read("f.yaml", TEXT, true).documents();
        assertEquals(2, lazy.size());
        for (int i = 0; i < 2; i++) {
            assertTrue(lazy.get(i).locations() instanceof LazyLocations);
            assertEquals(eager.get(i).locations(), Map.copyOf(lazy.get(i).locations()));
            assertEquals(eager.get(i).start(), lazy.get(i).start());
            assertEquals(eager.get(i).root(), lazy.get(i).root());
        }
        YamlDocument a = lazy.get(0);
        assertEquals(new Location("f.yaml", 10, 15), a.at("/spec/rules/1/prefix"));
        assertEquals(new Location("f.yaml", 8, 45), a.at("/spec/rules/1/action"), "merged: where it is written");
        assertEquals(new Location("f.yaml", 14, 11), a.at("/spec/rules/2/prefixes/1"));
        assertEquals(new Location("f.yaml", 11, 21), a.at("/spec/rules/2/action"), "the first mapping of the list wins");
        assertEquals("drop", a.root().at("/spec/rules/2/action").asString());
        assertEquals(1, a.root().at("/spec/rules/2/mark").asInt());
        assertEquals(lazy.get(1).at("/spec/rules/0/action"), lazy.get(1).at("/spec/rules/1/action"), "an alias: its anchor's");
        assertEquals(20, lazy.get(1).at("/spec/rules/1/action").line());
    }

    private static final class Map {
        static <K, V> java.util.Map<K, V> copyOf(java.util.Map<K, V> m) {
            return java.util.Map.copyOf(m);
        }
    }
}
