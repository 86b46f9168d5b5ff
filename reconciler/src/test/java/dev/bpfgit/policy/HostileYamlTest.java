package dev.bpfgit.policy;

import dev.bpfgit.kind.traffic.TrafficPolicySpec;
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
        // level k expands to 3 * 2^k nodes: the aliases of level 15 go over 100,000, before any node is converted
        assertEquals(List.of("f.yaml:16:12: error: aliases expand to more than 100000 nodes in this file (100000, or"
                + " as many as the file writes out); write the values out or use fewer nested aliases"), errors);
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
        String many = ("---\n" + POLICY).repeat(YamlReader.MAX_DOCUMENTS + 1);   // 1,001 invalid names too
        List<String> errors = errors(many);
        assertEquals(List.of("f.yaml:" + (YamlReader.MAX_DOCUMENTS * 9 + 1) + ":1: error: more than 1000 YAML"
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

    @Test
    void aSurrogatePairAcrossSnakeyamlsBufferBoundaryParses() {
        // snakeyaml-engine reads past its 1024-char buffer when a pair straddles its end; every offset is tried
        for (int k = 990; k < 1060; k++) {
            String text = POLICY.replace("NAME", "a") + "# " + "x".repeat(k) + "\uD83D\uDCA3\uD83D\uDCA3 comment\n";
            assertEquals(1, loader.load(new Snapshot("r", Map.of("f.yaml", text))).size(), "offset " + k);
        }
    }

    @Test
    void whateverTheParserThrowsBecomesThatFilesErrorNotATrace() {
        // a lone high surrogate cannot come from a UTF-8 file, but a Snapshot is a Java string: the last resort
        // must hold for anything, and name only the file
        PolicyException e = assertThrows(PolicyException.class, () -> loader.load(new Snapshot("r",
                Map.of("f.yaml", "a: \uD800", "g.yaml", POLICY.replace("NAME", "ok")))));
        assertEquals(1, e.errors().size(), e.getMessage());
        assertTrue(e.errors().getFirst().location().file().equals("f.yaml"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }

    @Test
    void aStackOverflowWhileReadingAFileIsThatFilesError() throws Exception {
        // on a thread with a tiny stack an ordinary policy overflows it somewhere in snakeyaml or the validator:
        // the error names the file, the other file is still reported, and nothing escapes as a trace
        String nested = POLICY.replace("NAME", "deep").replace("interfaces: [eth0]", "interfaces: " + "[".repeat(60)
                + "eth0" + "]".repeat(60));
        Throwable[] escaped = new Throwable[1];
        PolicyException[] caught = new PolicyException[1];
        Thread small = new Thread(null, () -> {
            try {
                loader.load(new Snapshot("r", Map.of("f.yaml", nested, "g.yaml", "a: [")));
            } catch (PolicyException e) {
                caught[0] = e;
            } catch (Throwable t) {
                escaped[0] = t;
            }
        }, "small-stack", 96 * 1024);
        small.start();
        small.join();
        assertEquals(null, escaped[0]);
        List<String> errors = caught[0].errors().stream().map(ErrorFormat::text).toList();
        // FastYamlParser reads with loops, and once the JVM has compiled the converter and the validator (after
        // the other tests of the suite) 60 levels may fit in this stack: then the file's own error is reported
        assertTrue(errors.contains("f.yaml:1:1: error: nested too deeply to read; it was not applied")
                || errors.contains("f.yaml:5:16: error: /spec/interfaces/0: must be a string (got a list)"), errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("g.yaml:")), errors.toString());
    }

    @Test
    void anExplicitTagOnAValueThatIsNotOneIsAnInvalidValue() {
        assertEquals(List.of("f.yaml:1:4: error: /a: invalid !!float '.nan[x'", "f.yaml:2:4: error: /b: invalid !!int 'ten'",
                "f.yaml:3:4: error: /c: invalid !!bool 'maybe'"), errors("a: !!float .nan[x\nb: !!int ten\nc: !!bool maybe\n")
                .stream().filter(e -> e.contains("invalid !!")).toList());
    }

    @Test
    void aliasesMayAddAsManyNodesAsTheFileWritesOut() {
        // 110,000 values written once, aliased once: over 100,000 but no more than the file itself
        StringBuilder b = new StringBuilder("list: &list\n");
        for (int i = 0; i < 110_000; i++) {
            b.append("  - ").append(i).append('\n');
        }
        b.append("again: *list\n");
        Snapshot twice = new Snapshot("r", Map.of("f.yaml", b.toString()));
        assertTrue(assertThrows(PolicyException.class, () -> loader.load(twice)).errors().stream()
                .noneMatch(e -> e.message().contains("aliases")));
        Snapshot thrice = new Snapshot("r", Map.of("f.yaml", b + "thrice: *list\n"));
        assertTrue(assertThrows(PolicyException.class, () -> loader.load(thrice)).errors().stream()
                .anyMatch(e -> e.message().contains("aliases expand to more than 110")));
    }

    @Test
    void hugeNumbersAreRefusedUnparsed() {
        assertEquals(List.of("f.yaml:1:4: error: /a: a number of 100000 characters; no field takes more than 100"),
                errors("a: " + "9".repeat(100_000) + "\n").stream().filter(e -> e.contains("number")).toList());
    }

    @Test
    void errorsPerFileAreCappedWithACountOfTheRest() {
        StringBuilder b = new StringBuilder(POLICY.replace("NAME", "keys").replace("metadata: {name: keys}",
                "metadata:\n  name: keys"));
        b.setLength(b.indexOf("spec:"));
        b.insert(b.indexOf("  name: keys"), "");
        StringBuilder keys = new StringBuilder();
        for (int i = 0; i < 5_000; i++) {
            keys.append("  k").append(i).append(": 1\n");
        }
        String text = b.toString().replace("  name: keys\n", "  name: keys\n" + keys) + "spec: {}\n";
        List<String> errors = errors(text);
        assertEquals(PolicyLoader.MAX_ERRORS_PER_FILE + 1, errors.size());
        assertTrue(errors.getLast().matches("f\\.yaml:\\d+:\\d+: error: \\d+ more errors in this file from here on, not"
                + " shown; fix those above first"), errors.getLast());
    }

    @Test
    void hostGlobsMatchInLinearTimeWhateverTheirStars() {
        // the JDK's glob matcher backtracks: *a*a*a*b against 253 characters took 1.5 s, 30 stars would take years
        HostSelector worst = new HostSelector(List.of("*a".repeat(60) + "b", "{*a,*b}".repeat(8) + "c"), Map.of());
        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> assertFalse(worst.selects("a".repeat(253), Map.of())));
        assertTrue(System.nanoTime() - start < 1_000_000_000L, (System.nanoTime() - start) / 1_000_000 + " ms");
        List<String> errors = errors(POLICY.replace("NAME", "g").replace("  hook: xdp\n",
                "  hook: xdp\n  hosts: {names: ['" + "{a,b}".repeat(9) + "']}\n"));
        assertEquals(List.of("f.yaml:7:19: error: /spec/hosts/names/0: invalid glob \"" + "{a,b}".repeat(9)
                + "\": more than 256 alternatives"), errors);
    }
}
