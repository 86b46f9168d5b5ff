package dev.bpfgit.policy;

import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One file read on several threads ({@link SplitYaml}) against the same file read whole: the same documents,
 * starts and (through {@link PolicyLoader}) policies, digests, positions and errors; or no split at all.
 */
class SplitYamlTest {

    /** Read split (runs as small as one character, so that small files split too), or empty. */
    private static Optional<YamlReader.Result> split(String text, int threads) {
        return YamlReader.readSplit("f.yaml", text, threads, 0, 1);
    }

    /** The split read, when there is one, is the whole read: documents, their starts, no errors. */
    private static boolean sameOrDeclined(String text, int threads) {
        Optional<YamlReader.Result> split = split(text, threads);
        if (split.isEmpty()) {
            return false;
        }
        YamlReader.Result whole = YamlReader.read("f.yaml", text);
        assertTrue(whole.errors().isEmpty(), () -> "split although the whole read has errors: " + text);
        assertTrue(split.get().errors().isEmpty());
        assertEquals(whole.documents().stream().map(d -> d.root().toString()).toList(),
                split.get().documents().stream().map(d -> d.root().toString()).toList(), text);
        assertEquals(whole.documents().stream().map(YamlDocument::start).toList(),
                split.get().documents().stream().map(YamlDocument::start).toList(), text);
        assertEquals(whole.documents().stream().map(YamlDocument::clean).toList(),
                split.get().documents().stream().map(YamlDocument::clean).toList(), text);
        // positions are the whole file's, read when asked for
        for (int d = 0; d < whole.documents().size(); d++) {
            assertEquals(YamlReader.read("f.yaml", text, true).documents().get(d).locations(),
                    Map.copyOf(split.get().documents().get(d).locations()), text);
        }
        return true;
    }

    /** The FastYamlParserTest grammar's files, with a long block sequence placed in some, and their mutations. */
    @Test
    void generatedFilesAndTheirMutationsSplitAsTheyRead() {
        Random random = new Random(20261127);
        int files = 6_000, split = 0, mutatedSplit = 0;
        for (int i = 0; i < files; i++) {
            String text = new FastYamlParserTest.Generator(random).stream();
            if (random.nextBoolean()) {
                text = withLongSequence(random, text);
            }
            int threads = 2 + random.nextInt(4);
            if (sameOrDeclined(text, threads)) {
                split++;
            }
            if (sameOrDeclined(FastYamlParserTest.mutate(random, text), threads)) {
                mutatedSplit++;
            }
        }
        System.out.println("SplitYamlTest: " + files + " files, split " + split + "; mutated, split " + mutatedSplit);
        assertTrue(split > files / 10, "files split: " + split);
        assertTrue(mutatedSplit > 0, "mutated files split: " + mutatedSplit);
    }

    /** A key with a sequence of many items of several shapes, in a document after the text's, a few keys deep. */
    private static String withLongSequence(Random r, String text) {
        StringBuilder b = new StringBuilder(text);
        if (!b.isEmpty() && b.charAt(b.length() - 1) != '\n') {
            b.append('\n');
        }
        b.append(r.nextInt(4) != 0 ? "---\n" : "");
        int depth = r.nextInt(3);
        for (int d = 0; d < depth; d++) {
            b.append("  ".repeat(d)).append('k').append(d).append(":\n");
        }
        b.append("  ".repeat(depth)).append("items:");
        boolean nested = depth > 0;
        int indent = 2 * depth;
        b.append(r.nextInt(4) == 0 ? "   # c\n" : "\n");
        int column = indent + (r.nextBoolean() ? 0 : 2);
        String pad = " ".repeat(column);
        int items = 2 + r.nextInt(40);
        for (int i = 0; i < items; i++) {
            switch (r.nextInt(8)) {
                case 0 -> b.append(pad).append("- {prefix: 10.0.").append(i).append(".0/24, action: drop}\n");
                case 1 -> b.append(pad).append("- prefix: \"10.1.").append(i).append(".0/24\"\n")
                        .append(pad).append("  action: 'pass'\n");
                case 2 -> b.append(pad).append("- [a, {b: c}, 'd']\n");
                case 3 -> b.append(pad).append("-\n").append(pad).append("  - x\n").append(pad).append("  - y\n");
                case 4 -> b.append(pad).append("- - z\n").append(pad).append("  - w # c\n");
                case 5 -> b.append(r.nextBoolean() ? "\n" : " ".repeat(r.nextInt(column + 3)) + "# - a: b\n");
                case 6 -> b.append(pad).append("- \u00fcber: \"\u65e5\u672c\"\n");
                default -> b.append(pad).append("- ").append(List.of("1", "0x10", "true", "~", "a b", "-x", "'- y'")
                        .get(r.nextInt(7))).append('\n');
            }
        }
        if (r.nextBoolean()) {
            b.append(" ".repeat(indent)).append(nested ? "after: [1]\n" : "after: 2\n");
        }
        if (r.nextInt(3) == 0) {
            b.append("---\nlast: {a: 1}\n");
        }
        return b.toString();
    }

    private static String policy(int rules, String dash, String form) {
        StringBuilder b = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: big}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: tc-ingress\n  rules:\n");
        for (int i = 0; i < rules; i++) {
            String p = "10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255) + "/32";
            switch (form) {
                case "flow" -> b.append(dash).append("{prefix: ").append(p).append(", action: drop}\n");
                case "block" -> b.append(dash).append("prefix: ").append(p).append('\n')
                        .append(" ".repeat(dash.length())).append("action: ").append(i % 3 == 0 ? "mark" : "pass")
                        .append(i % 3 == 0 ? "\n" + " ".repeat(dash.length()) + "mark: 0x" + (i % 250 + 1) : "")
                        .append('\n');
                default -> b.append(dash).append("{prefix: ").append(p).append(", action: drop}  # rule ")
                        .append(i).append("\n\n");
            }
        }
        b.append("  capacity: 1048576\n");
        return b.toString();
    }

    private static List<Policy> load(PolicyLoader loader, Map<String, String> files) {
        return loader.load(new Snapshot("r", new TreeMap<>(files)));
    }

    /** Every field of every policy, and the positions of a few nodes, as the serial load gives them. */
    private static void assertSamePolicies(Map<String, String> files) {
        List<Policy> serial = load(new PolicyLoader().splitting(1), files);
        List<Policy> split = load(new PolicyLoader().splitting(3, 0, 64), files);
        assertEquals(serial.size(), split.size());
        for (int i = 0; i < serial.size(); i++) {
            Policy a = serial.get(i), b = split.get(i);
            assertEquals(a.id(), b.id());
            assertEquals(a.digest(), b.digest());
            assertEquals(a.spec(), b.spec());
            assertEquals(a.hosts(), b.hosts());
            assertEquals(a.location(), b.location());
            for (String pointer : List.of("", "/spec", "/spec/rules", "/spec/rules/0/prefix", "/spec/rules/77/action",
                    "/spec/rules/1999/prefix", "/spec/capacity", "/spec/rules/999999")) {
                assertEquals(a.at(pointer), b.at(pointer), pointer);
            }
        }
    }

    @Test
    void largePoliciesGiveTheSamePoliciesDigestsAndPositions() {
        for (String dash : List.of("    - ", "  - ")) {
            for (String form : List.of("flow", "block", "commented")) {
                String text = policy(2_000, dash, form);
                assertTrue(split(text, 3).isPresent(), () -> "not split: " + dash + form);
                assertSamePolicies(Map.of("a.yaml", text));
            }
        }
        // several documents, the large one between two others: the last one's start moves with the items
        String multi = "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: first}\nspec:\n"
                + "  interfaces: [eth1]\n  hook: xdp\n  rules: [{prefix: 192.0.2.0/24, action: drop}]\n---\n"
                + policy(2_000, "  - ", "flow").replace("name: big", "name: middle") + "---\n"
                + policy(3, "  - ", "block").replace("name: big", "name: last").replace("eth0", "eth2");
        assertTrue(split(multi, 2).isPresent());
        assertSamePolicies(Map.of("m.yaml", multi, "n.yaml", policy(500, "  - ", "flow").replace("big", "n")
                .replace("eth0", "eth3")));
        // one rule with a long list of prefixes: the list is the sequence split
        StringBuilder list = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: l}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n    - action: drop\n      prefixes:\n");
        for (int i = 0; i < 3_000; i++) {
            list.append("        - 10.9.").append(i >> 8).append('.').append(i & 255).append("/32\n");
        }
        list.append("    - {prefix: 192.0.2.0/24, action: pass}\n");
        assertTrue(split(list.toString(), 4).isPresent());
        assertSamePolicies(Map.of("l.yaml", list.toString()));
    }

    /** Inputs the split declines: each is read whole, and the result is the serial one. */
    @Test
    void declinedInputsAreReadWhole() {
        String good = policy(400, "  - ", "flow");
        assertTrue(split(good, 2).isPresent(), "the base case splits");
        Map<String, String> declined = new TreeMap<>();
        declined.put("anchor in the items", good.replace("- {prefix: 10.0.0.7/32, action: drop}",
                "- &r {prefix: 10.0.0.7/32, action: drop}\n  - *r"));
        declined.put("flow over two lines", good.replace("{prefix: 10.0.0.9/32, action: drop}",
                "{prefix: 10.0.0.9/32,\n  - x: 1, action: drop}"));
        declined.put("quoted scalar over two lines", good.replace("{prefix: 10.0.0.9/32,",
                "{prefix: \"10.0.0.9/32\n  - a\","));
        declined.put("block scalar", good.replace("  rules:\n", "  note: |\n    text\n  rules:\n")
                .replace("- {prefix: 10.0.0.5/32, action: drop}", "- prefix: |\n      - 10.0.0.5/32\n    action: drop"));
        declined.put("the key line inside a block scalar", "x: |\n  rules:\n" + good.lines()
                .filter(l -> l.startsWith("  - ")).map(l -> l + "\n").reduce("", String::concat));
        declined.put("tab", good.replace("- {prefix: 10.0.0.3/32,", "- {prefix:\t10.0.0.3/32,"));
        declined.put("CRLF", good.replace("\n", "\r\n"));
        declined.put("BOM", "\uFEFF" + good);
        declined.put("a tag", good.replace("action: drop}", "action: !!str drop}"));
        declined.put("duplicate key in an item", good.replace("{prefix: 10.0.0.8/32, action: drop}",
                "{prefix: 10.0.0.8/32, action: drop, action: pass}"));
        declined.put("syntax error in the last item", good.replace("  capacity: 1048576\n", "  - {a: }}\n"));
        StringBuilder deep = new StringBuilder("a:\n");
        for (int d = 1; d <= 10; d++) {
            deep.append("  ".repeat(d)).append("b:\n");
        }
        String pad = "  ".repeat(11);
        deep.append(good.lines().filter(l -> l.startsWith("  - ")).map(l -> pad + l.substring(2) + "\n")
                .reduce("", String::concat));
        declined.put("deeper than a split may be", deep.toString());
        for (Map.Entry<String, String> e : declined.entrySet()) {
            assertFalse(split(e.getValue(), 2).isPresent(), e.getKey());
        }
        // fewer items than runs; a file below the size a split pays for; one within the defaults
        assertFalse(split(policy(2, "  - ", "flow"), 3).isPresent());
        assertFalse(YamlReader.readSplit("f.yaml", good, 2).isPresent());
        assertFalse(YamlReader.readSplit("f.yaml", policy(10_000, "  - ", "flow"), 2).isPresent());
        assertFalse(YamlReader.readSplit("f.yaml", policy(30_000, "  - ", "flow"), 1).isPresent());
        assertTrue(YamlReader.readSplit("f.yaml", policy(30_000, "  - ", "flow"), 2).isPresent());
        // above the ceiling (the peak memory of a split): read whole
        String large = policy(200_000, "  - ", "flow");
        assertTrue(large.length() > SplitYaml.MAX_CHARS);
        assertFalse(YamlReader.readSplit("f.yaml", large, 2).isPresent());
        String nested = deep.toString();
        assertEquals(YamlReader.read("f.yaml", nested).documents().get(0).root().toString().length(),
                YamlReader.read("f.yaml", nested, true).documents().get(0).root().toString().length());
    }

    /** A line that looks like an item but is not one (in a comment of an item, an item of a nested list). */
    @Test
    void thingsThatLookLikeItemsAreChecked() {
        String good = policy(400, "  - ", "flow");
        String commentItem = good.replace("- {prefix: 10.0.0.4/32, action: drop}",
                "- {prefix: 10.0.0.4/32, action: drop}\n# - {prefix: 10.0.0.250/32, action: drop}");
        assertTrue(sameOrDeclined(commentItem, 2));
        String lessIndented = good.replace("  - {prefix: 10.0.1.4/32, action: drop}", "- {prefix: 10.0.1.4/32, action: drop}");
        sameOrDeclined(lessIndented, 2);
        assertThrows(PolicyException.class, () -> new PolicyLoader().splitting(2, 0, 1)
                .load(new Snapshot("r", Map.of("a.yaml", lessIndented))));
    }

    /** Errors of every kind after a split: the load is done again serially, with the serial errors. */
    @Test
    void anyErrorGivesTheSerialErrors() {
        String good = policy(2_000, "  - ", "flow");
        Map<String, Map<String, String>> cases = new TreeMap<>();
        cases.put("schema", Map.of("a.yaml", good.replace("action: drop}", "action: dorp}")));
        cases.put("schema, one rule", Map.of("a.yaml", good.replace("{prefix: 10.0.3.4/32, action: drop}",
                "{prefix: 10.0.3.4/32, action: drop, x: 1}")));
        cases.put("semantic: host bits", Map.of("a.yaml", good.replace("10.0.2.9/32", "10.0.2.9/24")));
        cases.put("across rules: a prefix twice", Map.of("a.yaml", good.replace("10.0.2.9/32", "10.0.2.8/32")));
        cases.put("across files: a name twice", Map.of("a.yaml", good, "b.yaml", good));
        cases.put("across files: the same prefix", Map.of("a.yaml", good, "b.yaml",
                policy(3, "  - ", "flow").replace("name: big", "name: other")));
        cases.put("YAML, another file", Map.of("a.yaml", good, "b.yaml", "a: [\n"));
        for (Map.Entry<String, Map<String, String>> c : cases.entrySet()) {
            PolicyException serial = assertThrows(PolicyException.class,
                    () -> load(new PolicyLoader().splitting(1), c.getValue()), c.getKey());
            PolicyLoader splitting = new PolicyLoader().splitting(2, 0, 64);
            PolicyException split = assertThrows(PolicyException.class, () -> load(splitting, c.getValue()), c.getKey());
            assertEquals(serial.errors(), split.errors(), c.getKey());
            assertFalse(serial.errors().isEmpty());
            // the sidecar's loader keeps files: its retry must not keep a split file's result
            PolicyLoader keeping = new PolicyLoader().splitting(2, 0, 64).keepingFiles();
            assertEquals(serial.errors(), assertThrows(PolicyException.class, () -> load(keeping, c.getValue())).errors());
            assertEquals(serial.errors(), assertThrows(PolicyException.class, () -> load(keeping, c.getValue())).errors());
        }
    }

    @Test
    void cutsAreItemLinesAndEveryItemIsInOneRun() {
        String text = policy(1_000, "    - ", "commented");
        SplitYaml.Sequence seq = SplitYaml.largest(text);
        assertEquals(1_000, seq.count());
        assertEquals(4, seq.column());
        for (int runs = 2; runs <= 8; runs++) {
            int[] cuts = SplitYaml.cuts(seq, runs);
            assertEquals(runs + 1, cuts.length);
            assertEquals(seq.start(), cuts[0]);
            assertEquals(seq.end(), cuts[runs]);
            List<Integer> starts = new ArrayList<>();
            for (int item : seq.items()) {
                starts.add(item);
            }
            for (int k = 1; k < runs; k++) {
                assertTrue(cuts[k] > cuts[k - 1] && starts.contains(cuts[k]));
            }
        }
        assertTrue(text.substring(seq.end()).startsWith("  capacity:"));
    }
}
