package dev.bpfgit.policy;

import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files written to hurt the parser: each is refused quickly with one located error, never a trace. */
class HostileYamlTest {
    private static final String POLICY = """
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: NAME}
            spec:
              interfaces: [eth0]
              hook: xdp
              rules:
                - {prefix: 192.0.2.0/24, action: drop}
            """;

    private final PolicyLoader loader = new PolicyLoader();

    private List<String> errors(String text) {
        PolicyException e = assertTimeoutPreemptively(Duration.ofSeconds(5),
                () -> assertThrows(PolicyException.class, () -> loader.load(new Snapshot("r", Map.of("f.yaml", text)))));
        return e.errors().stream().map(ErrorFormat::text).toList();
    }

    /** The 644-byte file of issue 5: 20 levels, each two aliases of the one before (2^21 nodes expanded). */
    static String billionLaughs(int levels, int aliases) {
        StringBuilder b = new StringBuilder("l0: &l0 [lol]\n");
        for (int i = 1; i <= levels; i++) {
            b.append('l').append(i).append(": &l").append(i).append(" [");
            for (int j = 0; j < aliases; j++) {
                b.append(j == 0 ? "" : ", ").append("*l").append(i - 1);
            }
            b.append("]\n");
        }
        return b.toString();
    }

    @Test
    void aliasesAreBoundedByWhatTheyExpandToNotByTheirCount() {
        String bomb = billionLaughs(20, 2);
        long start = System.nanoTime();
        List<String> errors = errors(bomb);
        long ms = (System.nanoTime() - start) / 1_000_000;
        // level k expands to 3 * 2^k nodes: the aliases of level 18 go over 1,000,000, before any node is converted
        assertEquals(List.of("f.yaml:19:12: error: aliases expand to more than 1000000 nodes in this file;"
                + " write the values out or use fewer nested aliases"), errors);
        assertTrue(ms < 1000, ms + " ms");
        // wide instead of deep: 9 aliases of 9 aliases of 9 aliases...
        assertEquals(1, errors(billionLaughs(8, 9)).stream().filter(e -> e.contains("aliases expand")).count());
        // only 40 aliases: snakeyaml's count of aliases (default 50) lets this one through
        assertTrue(bomb.split("\\*").length - 1 == 40);
    }

    @Test
    void aliasesWithinTheLimitStillWork() {
        String text = """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: a}
                spec:
                  interfaces: &ifs [eth0, eth1]
                  hook: xdp
                  hosts: {names: *ifs}
                  rules:
                    - {prefix: 192.0.2.0/24, action: &a drop}
                    - {prefix: 198.51.100.0/24, action: *a}
                """;
        Policy p = loader.load(new Snapshot("r", Map.of("f.yaml", text))).getFirst();
        assertEquals(new HostSelector(List.of("eth0", "eth1"), Map.of()), p.hosts());
        assertEquals(2, ((TrafficPolicySpec) p.spec()).rules().size());
    }

    @Test
    void deepNestingIsAnErrorNotAStackOverflow() {
        String deep = "[".repeat(40_000) + "]".repeat(40_000);
        assertEquals(List.of("f.yaml:1:65: error: nested more than 64 levels deep; a policy needs far fewer"), errors(deep));
        String block = new StringBuilder().repeat("- ", 5_000).append("x\n").toString();
        assertEquals(List.of("f.yaml:1:129: error: nested more than 64 levels deep; a policy needs far fewer"), errors(block));
        String unclosed = "{a: ".repeat(20_000);
        assertEquals(List.of("f.yaml:1:257: error: nested more than 64 levels deep; a policy needs far fewer"),
                errors(unclosed));
    }

    @Test
    void nestingThroughAliasesIsBoundedToo() {
        // each level nests the previous one 60 deep: 60 x 10 levels once expanded, 60 as written
        StringBuilder b = new StringBuilder("a0: &a0 x\n");
        for (int i = 1; i <= 10; i++) {
            b.append('a').append(i).append(": &a").append(i).append(' ').append("[".repeat(60)).append("*a")
                    .append(i - 1).append("]".repeat(60)).append('\n');
        }
        List<String> errors = errors(b.toString());
        assertTrue(errors.stream().anyMatch(e -> e.contains("nested more than 64 levels deep (counting what aliases"
                + " expand to)")), errors.toString());
    }

    @Test
    void theNumberOfDocumentsPerFileIsBounded() {
        String many = ("---\n" + POLICY).repeat(YamlReader.MAX_DOCUMENTS + 1);
        List<String> errors = errors(many);
        assertEquals(List.of("f.yaml:" + (YamlReader.MAX_DOCUMENTS * 9 + 1) + ":1: error: more than 10000 YAML"
                + " documents in one file; split it into several files"), errors.stream()
                .filter(e -> e.contains("documents")).toList());
        assertEquals(List.of(), errors(("---\n" + "x: 1\n").repeat(2)).stream().filter(e -> e.contains("documents")).toList());
    }

    @Test
    void aSnapshotTextOverTheByteLimitIsRefusedBeforeParsing() {
        String big = "#".repeat((int) dev.bpfgit.source.PolicyFiles.MAX_BYTES) + "\n";
        assertEquals(List.of("f.yaml:1:1: error: file is 67108865 bytes, more than the 67108864 a policy file may"
                + " have; split it into several files"), errors(big));
    }

    @Test
    void messagesQuoteAShortClippedValueAndNoControlCharacters() {
        String longValue = "v".repeat(10_000);
        List<String> errors = errors(POLICY.replace("NAME", "a").replace("hook: xdp", "hook: \"" + longValue + "\\e[2J\u202e\"")
                .replace("eth0", "!!int 0x" + "f".repeat(5000)));
        assertFalse(errors.isEmpty());
        for (String e : errors) {
            assertTrue(e.length() < 500, e);
            assertFalse(e.contains("\u001b") || e.contains("\u202e"), e);
        }
        assertTrue(errors.stream().anyMatch(e -> e.contains("(got \"" + "v".repeat(64) + "…\")")), errors.toString());
        assertTrue(errors(POLICY.replace("NAME", "a") + "key" + "k".repeat(100_000) + ": 1\n").stream()
                .allMatch(e -> e.length() < 700));
    }

    @Test
    void aSyntaxErrorLocatesTheMistakeWithoutQuotingTheFile() {
        String secretLine = "password: hunter2-SECRET";
        List<String> errors = errors(secretLine + "\n  bad: [unclosed\n" + secretLine + "\n");
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.get(0).startsWith("f.yaml:"), errors.get(0));
        assertFalse(errors.get(0).contains("hunter2"), errors.get(0));
    }
}
