package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bpfgit explain} as a process against a policy applied to a veth in a test namespace: the kernel's
 * longest-prefix match with its rule, policy and counters, the default, file:line and drift with PATH, and a
 * state file read by a user with no capabilities.
 */
@KernelTest
class ExplainIT {
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: 198.51.100.7/32, action: pass}",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void explainsTheKernelsLongestPrefixMatchTheDefaultAndDrift() throws Exception {
        Path work = Files.createTempDirectory("bpfgit-explainit-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Path file = write(work.resolve("policies"), "edge.yaml", POLICY);
            Path policies = file.getParent();
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "dropped by the /24");
            assertEquals(2, t.ping("client", "198.51.100.7", "10.0.0.2", 2), "passed by the /32 override");

            JsonNode inside24 = unit(edge.cli("explain", "203.0.113.7", "-o", "json"));
            assertEquals("traffic/eth0/xdp", inside24.get("unit").asString());
            assertEquals("source", inside24.get("match").asString());
            assertTrue(inside24.get("matched").asBoolean());
            assertEquals("203.0.113.0/24", inside24.get("prefix").asString());
            assertEquals("drop", inside24.get("action").asString());
            assertEquals("TrafficPolicy/edge-filter", inside24.at("/policies/0").asString());
            assertEquals(3, inside24.get("packets").asLong(), "the rule's own counter: " + inside24);
            assertTrue(inside24.get("bytes").asLong() >= 3 * 84, inside24.toString());
            assertTrue(inside24.get("files").isNull(), "no PATH, no agreement: " + inside24);

            JsonNode override = unit(edge.cli("explain", "198.51.100.7", "-o", "json"));
            assertEquals("198.51.100.7/32", override.get("prefix").asString());
            assertEquals("pass", override.get("verdict").asString());
            assertEquals(2, override.get("packets").asLong(), override.toString());

            JsonNode sibling = unit(edge.cli("explain", "198.51.100.8", "-o", "json"));
            assertEquals("198.51.100.0/24", sibling.get("prefix").asString());
            assertEquals("drop", sibling.get("verdict").asString());
            assertEquals(0, sibling.get("packets").asLong());

            JsonNode v6 = unit(edge.cli("explain", "2001:db8:bad::7", "-o", "json"));
            assertEquals("2001:db8:bad::/48", v6.get("prefix").asString());
            assertEquals("drop", v6.get("action").asString());

            Bpfgit.Cli missText = edge.cli("explain", "192.0.2.1");
            assertEquals(0, missText.exit(), missText.toString());
            assertEquals("""
                    192.0.2.1 (from the kernel)
                    TrafficPolicy eth0, xdp: pass
                      match     no prefix holds this source address: the default pass
                      policies  TrafficPolicy/edge-filter
                    """, missText.out().replaceAll("(?m)^  counters .*\n", ""));
            JsonNode miss = unit(edge.cli("explain", "192.0.2.1", "-o", "json"));
            assertFalse(miss.get("matched").asBoolean());
            assertTrue(miss.get("prefix").isNull());
            assertEquals("pass", miss.get("verdict").asString());

            Bpfgit.Cli hitText = edge.cli("explain", "198.51.100.7", policies.toString());
            assertEquals(0, hitText.exit(), hitText.toString());
            assertTrue(hitText.out().contains("TrafficPolicy eth0, xdp: pass\n"
                    + "  match     source address in 198.51.100.7/32\n"
                    + "  policy    TrafficPolicy/edge-filter\n"
                    + "  counters  2 packets, "), hitText.out());
            assertTrue(hitText.out().contains("  declared  " + file + ":12:"), "rule 1 is on line 12: " + hitText.out());
            assertTrue(hitText.out().endsWith("  files     in sync\n"), hitText.out());
            assertTrue(unit(edge.cli("explain", "192.0.2.1", policies.toString(), "-o", "json"))
                    .get("declared").asString().startsWith(file + ":9:"), "the default's line");

            for (String bad : List.of("198.51.100.300", "198.51.100.0/24", "edge", "")) {
                Bpfgit.Cli malformed = edge.cli("explain", bad);
                assertEquals(2, malformed.exit(), malformed.toString());
                assertTrue(malformed.err().startsWith("error: "), malformed.toString());
                assertEquals("", malformed.out());
            }
            Bpfgit.Cli badHook = edge.cli("explain", "192.0.2.1", "--hook", "tc");
            assertEquals(2, badHook.exit(), badHook.toString());
            Bpfgit.Cli badIf = edge.cli("explain", "192.0.2.1", "--interface", "eth9");
            assertEquals(2, badIf.exit(), badIf.toString());
            assertTrue(badIf.err().contains("eth9"), badIf.err());
            Bpfgit.Cli otherHook = edge.cli("explain", "192.0.2.1", "--hook", "tc-ingress", "-o", "json");
            assertEquals(0, otherHook.exit(), otherHook.toString());
            assertEquals(0, otherHook.json().get("units").size(), "no unit at tc-ingress");

            // as CI or an operator without root sees it: the exported state, no capabilities at all
            Path state = write(work, "host.json", edge.cli("state", "export").out());
            Bpfgit.Cli nobody = Bpfgit.asNobody(work, "explain", "198.51.100.8", policies.toString(), "--state",
                    state.toString(), "-o", "json");
            assertEquals(0, nobody.exit(), nobody.toString());
            JsonNode fromState = dev.bpfgit.render.OutputSchema.assertValid(nobody.out());
            assertEquals("state " + state, fromState.get("source").asString());
            JsonNode s = fromState.at("/units/0");
            assertEquals("198.51.100.0/24", s.get("prefix").asString());
            assertEquals("drop", s.get("verdict").asString());
            assertTrue(s.get("packets").isNull(), "a snapshot has no counters: " + s);
            assertEquals("in sync", s.get("files").asString());
            Bpfgit.Cli nobodyLive = Bpfgit.asNobody(work, "explain", "198.51.100.8");
            assertEquals(3, nobodyLive.exit(), nobodyLive.toString());
            assertTrue(nobodyLive.err().contains("--state"), nobodyLive.err());

            // someone turns the /24 into a pass behind bpfgit's back, keeping its counter slot
            Path trie = root.path().resolve("traffic/eth0/xdp/rules_v4");
            Entry e = edge.entries("traffic/eth0/xdp/rules_v4").stream()
                    .filter(x -> HexFormat.of().formatHex(x.key().toArray()).equals("18000000c6336400"))
                    .findFirst().orElseThrow();
            byte[] value = e.value().toArray();
            value[20] = 0;   // action pass
            List<String> update = new ArrayList<>(List.of("bpftool", "map", "update", "pinned", trie.toString(), "key"));
            update.addAll(hex(e.key().toArray()));
            update.add("value");
            update.addAll(hex(value));
            Commands.run(update.toArray(String[]::new));

            JsonNode drifted = unit(edge.cli("explain", "198.51.100.8", policies.toString(), "-o", "json"));
            assertEquals("pass", drifted.get("verdict").asString(), "the kernel's truth, not the files'");
            assertEquals("198.51.100.0/24", drifted.get("prefix").asString());
            assertEquals("drifted", drifted.get("files").asString());
            assertTrue(drifted.get("drift").asString().contains("files 198.51.100.0/24 drop"), drifted.toString());
            Bpfgit.Cli driftText = edge.cli("explain", "198.51.100.8", policies.toString());
            assertTrue(driftText.out().contains("  files     drifted: kernel 198.51.100.0/24 pass"), driftText.out());
            JsonNode untouched = unit(edge.cli("explain", "198.51.100.7", policies.toString(), "-o", "json"));
            assertEquals("in sync", untouched.get("files").asString(), "the /32 is as the files say");
        } finally {
            delete(work);
        }
    }

    /** The one unit of an explain's JSON, after checking it answered. */
    private static JsonNode unit(Bpfgit.Cli c) {
        assertEquals(0, c.exit(), c.toString());
        assertEquals("", c.err());
        JsonNode j = dev.bpfgit.render.OutputSchema.assertValid(c.out());
        assertEquals("bpfgit.dev/explain/v1", j.get("format").asString());
        assertEquals(1, j.get("units").size(), c.out());
        return j.at("/units/0");
    }

    /** bpftool's "hex" byte arguments. */
    private static List<String> hex(byte[] b) {
        List<String> out = new ArrayList<>(List.of("hex"));
        for (byte x : b) {
            out.add(String.format("%02x", x));
        }
        return out;
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
