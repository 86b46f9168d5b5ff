package dev.bpfgit.policy;

import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The sidecar's loader keeps each file's result: only changed files are parsed, the checks across files still run. */
class KeptFilesTest {
    private static String policy(String name, String prefix) {
        return "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: " + name + "}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n    - {prefix: " + prefix + ", action: drop}\n";
    }

    private static Snapshot snapshot(Map<String, String> files) {
        return new Snapshot("dir:test", files);
    }

    private static List<String> texts(PolicyException e) {
        return e.errors().stream().map(ErrorFormat::text).toList();
    }

    @Test
    void anUnchangedFileIsNotParsedAgainAndTheResultIsAFreshLoadsResult() {
        PolicyLoader kept = new PolicyLoader().keepingFiles();
        Map<String, String> v1 = Map.of("a.yaml", policy("a", "192.0.2.0/24"), "b.yaml", policy("b", "198.51.100.0/24"));
        List<Policy> first = kept.load(snapshot(v1));
        assertEquals(new PolicyLoader().load(snapshot(v1)), first);

        Map<String, String> v2 = Map.of("a.yaml", policy("a", "192.0.2.0/24"), "b.yaml", policy("b", "203.0.113.0/24"));
        List<Policy> second = kept.load(snapshot(v2));
        assertEquals(new PolicyLoader().load(snapshot(v2)), second);
        assertSame(first.get(0), second.get(0), "a.yaml unchanged: its policy kept, not parsed again");
        assertNotSame(first.get(1), second.get(1));

        // checks across files run over kept policies too: b now claims a's prefix
        Map<String, String> clash = Map.of("a.yaml", policy("a", "192.0.2.0/24"), "b.yaml", policy("b", "192.0.2.0/24"));
        PolicyException fresh = assertThrows(PolicyException.class, () -> new PolicyLoader().load(snapshot(clash)));
        PolicyException again = assertThrows(PolicyException.class, () -> kept.load(snapshot(clash)));
        assertEquals(texts(fresh), texts(again));

        // an invalid file kept is reported again, the same way, until it changes
        Map<String, String> bad = Map.of("a.yaml", policy("a", "192.0.2.0/24"), "c.yaml", policy("c", "192.0.2.0/99"));
        List<String> one = texts(assertThrows(PolicyException.class, () -> kept.load(snapshot(bad))));
        List<String> two = texts(assertThrows(PolicyException.class, () -> kept.load(snapshot(bad))));
        assertEquals(one, two);
        assertEquals(texts(assertThrows(PolicyException.class, () -> new PolicyLoader().load(snapshot(bad)))), two);

        // a file gone is gone
        assertEquals(new PolicyLoader().load(snapshot(Map.of("a.yaml", v1.get("a.yaml")))),
                kept.load(snapshot(Map.of("a.yaml", v1.get("a.yaml")))));
    }

    /** A kept invalid file still names itself: a new file of the same name is a duplicate of it, as in a fresh load. */
    @Test
    void aKeptInvalidFilesNameIsStillCheckedForDuplicates() {
        PolicyLoader kept = new PolicyLoader().keepingFiles();
        String invalid = policy("c", "192.0.2.0/24").replace("action: drop", "action: dorp");   // fails the schema
        Map<String, String> bad = Map.of("c.yaml", invalid);
        assertThrows(PolicyException.class, () -> kept.load(snapshot(bad)));
        Map<String, String> twice = Map.of("c.yaml", invalid, "d.yaml", policy("c", "198.51.100.0/24"));
        List<String> again = texts(assertThrows(PolicyException.class, () -> kept.load(snapshot(twice))));
        assertEquals(texts(assertThrows(PolicyException.class, () -> new PolicyLoader().load(snapshot(twice)))), again);
        assertEquals(1, again.stream().filter(t -> t.startsWith("d.yaml:3:")
                && t.endsWith("TrafficPolicy \"c\" is already defined at c.yaml:3")).count(), again.toString());
    }
}
