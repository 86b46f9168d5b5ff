package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.events.AliasEvent;
import org.snakeyaml.engine.v2.events.CollectionStartEvent;
import org.snakeyaml.engine.v2.events.DocumentEndEvent;
import org.snakeyaml.engine.v2.events.DocumentStartEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.NodeEvent;
import org.snakeyaml.engine.v2.events.ScalarEvent;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.parser.Parser;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fast reader against snakeyaml-engine's {@code ParserImpl}: on every input, the same events (type, value,
 * style, implicit tuple, flow style, anchor, tag, document flags, the document's start) or a refusal that
 * sends the file to snakeyaml. Never different events, never a file snakeyaml refuses.
 */
class FastYamlParserTest {

    private static final LoadSettings SETTINGS = LoadSettings.builder().setLabel("f.yaml").setSchema(new CoreSchema())
            .setCodePointLimit(YamlReader.MAX_CODE_POINTS).setMaxAliasesForCollections(Integer.MAX_VALUE)
            .setAllowRecursiveKeys(false).setAllowNonScalarKeys(true).build();

    private record Described(String text, Optional<Mark> start) {
    }

    private static Described describe(Event e) {
        StringBuilder b = new StringBuilder(e.getEventId().name());
        switch (e) {
            case ScalarEvent s -> b.append(' ').append(s.getImplicit().canOmitTagInPlainScalar())
                    .append(s.getImplicit().canOmitTagInNonPlainScalar()).append(' ').append(s.getScalarStyle())
                    .append(" [").append(s.getValue()).append(']');
            case CollectionStartEvent c -> b.append(' ').append(c.isImplicit()).append(' ').append(c.getFlowStyle());
            case DocumentStartEvent d -> b.append(' ').append(d.isExplicit()).append(' ').append(d.getSpecVersion())
                    .append(' ').append(d.getTags());
            case DocumentEndEvent d -> b.append(' ').append(d.isExplicit());
            default -> {
            }
        }
        if (e instanceof NodeEvent n) {
            b.append(" anchor=").append(n.getAnchor());
        }
        if (e instanceof ScalarEvent s) {
            b.append(" tag=").append(s.getTag());
        } else if (e instanceof CollectionStartEvent c) {
            b.append(" tag=").append(c.getTag());
        }
        if (e instanceof AliasEvent a) {
            b.append(" alias=").append(a.getAlias());
        }
        return new Described(b.toString(), e.getStartMark());
    }

    /** snakeyaml's events, or null when it refuses the text. */
    static List<Described> reference(String text) {
        List<Described> events = new ArrayList<>();
        try {
            Parser p = new ParserImpl(SETTINGS, new StreamReader(SETTINGS, new YamlReader.SurrogateSafeReader(text)));
            while (p.hasNext()) {
                events.add(describe(p.next()));
            }
        } catch (YamlEngineException e) {
            return null;
        }
        return events;
    }

    /** {@link FastYamlParser#lazy}'s events of the whole text, or null when it declines it (at once or on the way). */
    static List<String> lazy(String text) {
        Optional<Parser> lazy = FastYamlParser.lazy("f.yaml", text);
        if (lazy.isEmpty()) {
            return null;
        }
        List<String> events = new ArrayList<>();
        try {
            Parser p = lazy.get();
            while (p.hasNext()) {
                events.add(describe(p.next()).text());
            }
        } catch (RuntimeException e) {
            return null;
        }
        return events;
    }

    /** @return whether the fast reader took the text (then with snakeyaml's events) */
    static boolean same(String text) {
        Optional<Parser> fast = FastYamlParser.of("f.yaml", text);
        List<String> lazy = lazy(text);
        if (fast.isEmpty()) {
            // the readers' parser without the first pass: a text the check declines throws before its end
            assertNull(lazy, () -> "the lazy parser read to the end what the check declines:\n" + text);
            return false;
        }
        assertNotNull(lazy, () -> "the lazy parser declined what the check accepts:\n" + text);
        List<Described> expected = reference(text);
        if (expected == null) {
            fail("accepted what snakeyaml refuses:\n" + text);
        }
        List<Described> actual = new ArrayList<>();
        Parser p = fast.get();
        while (p.hasNext()) {
            actual.add(describe(p.next()));
        }
        assertEquals(expected.stream().map(Described::text).toList(), actual.stream().map(Described::text).toList(),
                () -> "events differ for:\n" + text);
        assertEquals(actual.stream().map(Described::text).toList(), lazy,
                () -> "the lazy parser's events differ for:\n" + text);
        for (int i = 0; i < actual.size(); i++) {
            Optional<Mark> at = actual.get(i).start();
            if (at.isPresent()) {
                Mark reference = expected.get(i).start().orElseThrow();
                assertEquals(reference.getLine() + ":" + reference.getColumn(), at.get().getLine() + ":"
                        + at.get().getColumn(), () -> "start of the document differs for:\n" + text);
            }
        }
        return true;
    }

    @Test
    void everyYamlFileOfTheRepository() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                    .filter(f -> !f.toString().contains("/target/") && !f.toString().contains("/.git/")
                            && !f.toString().contains("/node_modules/"))
                    .toList();
        }
        int accepted = 0;
        for (Path f : files) {
            if (same(Files.readString(f))) {
                accepted++;
            } else {
                System.out.println("FastYamlParserTest: read by snakeyaml: " + root.relativize(f));
            }
        }
        System.out.println("FastYamlParserTest: repository files " + files.size() + ", read fast " + accepted);
        assertTrue(files.size() >= 30, "found only " + files.size() + " YAML files under " + root);
        // the examples and valid policies are in the subset; refused are the files written to break parsers
        assertTrue(accepted * 10 >= files.size() * 7, accepted + " of " + files.size());
    }

    @Test
    void handWrittenCases() {
        String[] inside = {
                "a: 1\n", "- a\n- b\n", "a:\n- x\n- y\nb: 2\n", "a:\n  - x\n", "- a: 1\n  b: 2\n- c\n",
                "- - a\n  - b\n- c\n", "a:\nb:\n", "-\n- a\n-\n", "a: {b: 1, c: [x, y]}\n", "[a, b]\n", "{}\n",
                "a: []\nb: {}\n", "--- \na: 1\n...\n---\n- b\n", "---\n", "---\n---\n", "# only a comment\n", "",
                "a: 'it''s'\nb: \"q\\\"\\\\\\n\"\n", "a: b # c\n", "a: b#c\n", "x: 2001:db8::/32\n",
                "x: [2001:db8::/32, 10.0.0.0/8]\n", "a:   \n  b: c\n", "\"a\": 1\n'b': 2\n", "a: -1\n", "a: ~\n",
                "a:\n  b:\n    c:\n  d: 1\n", "a:\n  - b:\n    - c\n", "- a:\n  - b\n", "--- # x\na: 1\n... # y\n",
                "a: 1\n\n\n# c\n   # d\nb: 2", "key with spaces: value with spaces\n", "a: ü日本\n", "a: b c  \n", "a: :b\n", "a: ::1/128\nb: --x\n",
        };
        for (String text : inside) {
            assertTrue(same(text), () -> "declined: " + text);
        }
        String[] outside = {
                "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a: >\n  x\n", "a: b\n  c\n", "a: \"b\n  c\"\n",
                "%YAML 1.2\n---\na: 1\n", "? a\n: b\n", "a:\tb\n", "\uFEFFa: 1\n", "a: 1\r\n", "a: [b,\n c]\n",
                "a: 1\nb: 2: 3\n", "  a: 1\n", "a: \"\\x41\"\n", "a: 1\n- b\n", "a: {b}\n", "a: [b: c]\n",
                "a: [b, ]\n", "a: 1\n---x\n", "a: [:b]\n", "a: @b\n", "a: `b\n", "a: 1\nb\n", "a: 1\n a: 2\n",
        };
        for (String text : outside) {
            assertFalse(FastYamlParser.of("f.yaml", text).isPresent(), () -> "accepted: " + text);
            same(text);
        }
    }

    /**
     * The lazy parser checks the characters line by line as it finds each line's end, not before the first
     * event: one that is not plain, wherever it is (in a comment the parser skips, on the last line without its
     * end, in a value), still declines the file before its stream ends, after the events of the lines before it.
     */
    @Test
    void aCharacterThatIsNotPlainDeclinesTheLazyParserOnTheWay() {
        String head = "kind: TrafficPolicy\nspec:\n  rules:\n    - {prefix: 10.0.0.1/32, action: drop}\n";
        for (String bad : List.of("\t", "\r", "\u0000", "\u007f", "\u0085", "\u2028", "\uFEFF", "\uD800", "\uFFFE")) {
            for (String tail : List.of("# a comment" + bad + "\n", "    - {prefix: 10.0.0.2/32, action: drop}" + bad,
                    "    - {prefix: 10.0.0.2/32, action: dr" + bad + "op}\n", bad)) {
                String text = head + tail;
                assertTrue(FastYamlParser.of("f.yaml", text).isEmpty(), () -> "the check accepts " + text);
                Parser p = FastYamlParser.lazy("f.yaml", text).orElseThrow();
                int events = 0;
                try {
                    while (p.hasNext()) {
                        p.next();
                        events++;
                    }
                    fail("the lazy parser read to the end: " + text);
                } catch (RuntimeException e) {
                    // declined on the way
                }
                assertTrue(events > 5, "events before the line that declines: " + events);
            }
            assertNotNull(lazy(head), "the same text without it is read");
        }
    }

    /** Documents from the subset's grammar, the policy shapes among them; and each one mutated. */
    @Test
    void generatedDocumentsAndTheirMutations() {
        Random random = new Random(20261126);
        int documents = 100_000, accepted = 0, validDeclined = 0, mutated = 0, mutatedAccepted = 0;
        for (int i = 0; i < documents; i++) {
            String text = new Generator(random).stream();
            if (same(text)) {
                accepted++;
            } else if (reference(text) != null) {
                validDeclined++;
                if (Boolean.getBoolean("fastyaml.show") && validDeclined < 40) {
                    System.out.println("DECLINED VALID:\n" + text + "\n=====");
                }
            }
            String broken = mutate(random, text);
            mutated++;
            if (same(broken)) {
                mutatedAccepted++;
            }
        }
        System.out.println("FastYamlParserTest: generated " + documents + ", read fast " + accepted
                + " (declined although valid YAML: " + validDeclined + ")" + "; mutated " + mutated + ", read fast " + mutatedAccepted);
        // some generated documents are not YAML at all (a word like "a,b" inside a flow list)
        assertTrue(accepted * 100 >= (accepted + validDeclined) * 90, "the subset's own documents read fast: "
                + accepted + ", declined " + validDeclined);
        assertTrue(mutatedAccepted > 0 && mutatedAccepted < mutated, "mutations read fast: " + mutatedAccepted);
    }

    /** Through YamlReader: the same JSON as snakeyaml's reading, and errors placed by snakeyaml. */
    @Test
    void yamlReaderGivesTheSameDocumentsAndPlacesErrors() {
        Random random = new Random(7);
        int compared = 0;
        for (int i = 0; i < 3_000; i++) {
            String text = new Generator(random).stream();
            YamlReader.Result fast = YamlReader.read("f.yaml", text, false);
            YamlReader.Result reference = YamlReader.read("f.yaml", text, true);
            assertEquals(reference.documents().stream().map(d -> d.root().toString()).toList(),
                    fast.documents().stream().map(d -> d.root().toString()).toList(), text);
            assertEquals(reference.documents().stream().map(YamlDocument::start).toList(),
                    fast.documents().stream().map(YamlDocument::start).toList(), text);
            assertEquals(reference.errors(), fast.errors(), text);
            compared++;
        }
        assertEquals(3_000, compared);
        String duplicate = "a: 1\nb:\n  c: 2\n  c: 3\n";
        assertTrue(FastYamlParser.of("f.yaml", duplicate).isPresent());
        List<PolicyError> errors = YamlReader.read("f.yaml", duplicate).errors();
        assertEquals(1, errors.size());
        assertEquals(new Location("f.yaml", 4, 3), errors.get(0).location());
    }

    /** A word repeated by many rules is one node, and the tree is still snakeyaml's reading. */
    @Test
    void aRepeatedWordIsOneNode() {
        String text = "rules:\n  - {prefix: 10.0.0.0/8, action: drop}\n  - {prefix: 10.0.0.1/32, action: drop}\n"
                + "  - {prefix: fe80::/10, action: drop}\n  - {prefix: 10.0.0.2/32, action: pass}\n";
        YamlReader.Result fast = YamlReader.read("f.yaml", text, false);
        YamlReader.Result reference = YamlReader.read("f.yaml", text, true);
        assertEquals(reference.documents().get(0).root(), fast.documents().get(0).root());
        tools.jackson.databind.JsonNode rules = fast.documents().get(0).root().get("rules");
        org.junit.jupiter.api.Assertions.assertSame(rules.get(0).get("action"), rules.get(1).get("action"));
        assertEquals("pass", rules.get(3).get("action").asString());
        assertEquals("drop", rules.get(2).get("action").asString());
    }

    private static final String SIGNIFICANT = " -:#,[]{}'\"\n\t&*!|>%@`?.\\~0a\r\u00e9\u2028\uFEFF/";

    static String mutate(Random random, String text) {
        StringBuilder b = new StringBuilder(text);
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int at = b.isEmpty() ? 0 : random.nextInt(b.length() + 1);
            char c = SIGNIFICANT.charAt(random.nextInt(SIGNIFICANT.length()));
            switch (random.nextInt(3)) {
                case 0 -> b.insert(at, c);
                case 1 -> {
                    if (at < b.length()) {
                        b.deleteCharAt(at);
                    }
                }
                default -> {
                    if (at < b.length()) {
                        b.setCharAt(at, c);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    /** Random text from the subset's grammar: several documents of block and flow collections and scalars. */
    static final class Generator {
        private static final String[] WORDS = {
                "a", "b", "drop", "allow", "eth0", "xdp", "tc-egress", "10.0.0.1/32", "192.0.2.0/24", "2001:db8::/32",
                "fe80::1", "::1/128", "true", "false", "True", "null", "Null", "~", "0x10", "0o17", "1e3", "-1", "+1",
                "3.14", ".inf", "-.inf", ".nan", "-x", "a b", "a-b", "a:b", "a#b", "yes", "on", "TrafficPolicy",
                "bpfgit.dev/v1", "a'b", "a\"b", "\u00fc", "\u65e5\u672c", "a.b", "1_000", "007", "1:2", "http://x/y",
                "a?b", "a%b", "a@b", "a!b", "a*b", "a&b", "a|b", "a>b", "a=b", "a/b", "-", "--x", "a  b", "0", "-0",
                "12345678901234567890123", "1.5e-3", "a,b", "a]b", "a}b", "a[b", "a{b", "x:", ".x", "..", "-.5",
        };
        private final Random r;
        private final StringBuilder b = new StringBuilder();

        Generator(Random r) {
            this.r = r;
        }

        String stream() {
            int docs = r.nextInt(10) < 7 ? 1 : 1 + r.nextInt(3);
            for (int d = 0; d < docs; d++) {
                boolean explicit = d > 0 || r.nextInt(3) == 0;
                if (explicit) {
                    b.append(r.nextInt(4) == 0 ? "--- # doc\n" : "---\n");
                }
                junk(0);
                if (r.nextInt(20) != 0) {
                    document();
                }
                junk(0);
                if (r.nextInt(6) == 0) {
                    b.append("...\n");
                }
            }
            if (r.nextInt(8) == 0 && !b.isEmpty() && b.charAt(b.length() - 1) == '\n') {
                b.setLength(b.length() - 1);   // no newline at the end
            }
            return b.toString();
        }

        private void document() {
            switch (r.nextInt(6)) {
                case 0 -> policy();
                case 1 -> {
                    flow(0);
                    b.append('\n');
                }
                case 2 -> blockSequence(0, 0, false);
                default -> blockMapping(0, 0, false);
            }
        }

        private int step() {
            return r.nextInt(4) == 0 ? 1 + r.nextInt(4) : 2;
        }

        private void junk(int indent) {
            while (r.nextInt(8) == 0) {
                if (r.nextBoolean()) {
                    b.append(" ".repeat(r.nextInt(indent + 3))).append("# note: a, [b] {c} 'd\" #e\n");
                } else {
                    b.append(" ".repeat(r.nextInt(3))).append('\n');
                }
            }
        }

        private String comment() {
            return r.nextInt(6) == 0 ? " ".repeat(1 + r.nextInt(2)) + "# c: [x]" : "";
        }

        /** A rule file as the examples and the benches write it. */
        private void policy() {
            b.append("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: p").append(r.nextInt(100))
                    .append('\n');
            if (r.nextBoolean()) {
                b.append("  labels: {team: net, tier: \"edge\"}\n");
            }
            b.append("spec:\n  interfaces: [eth0, 'eth1']\n  hook: xdp\n  defaultAction: allow\n  rules:\n");
            String dash = r.nextBoolean() ? "  - " : "    - ";
            int rules = 1 + r.nextInt(6);
            for (int i = 0; i < rules; i++) {
                String prefix = r.nextBoolean() ? "10." + r.nextInt(256) + ".0." + r.nextInt(256) + "/32"
                        : "2001:db8:" + Integer.toHexString(r.nextInt(65536)) + "::/48";
                switch (r.nextInt(4)) {
                    case 0 -> b.append(dash).append("{prefix: ").append(prefix).append(", action: drop}")
                            .append(comment()).append('\n');
                    case 1 -> b.append(dash).append("prefix: ").append(prefix).append('\n')
                            .append(" ".repeat(dash.length())).append("action: drop\n");
                    case 2 -> b.append(dash).append("prefixes: [").append(prefix).append(", 192.0.2.")
                            .append(r.nextInt(256)).append("/32]\n").append(" ".repeat(dash.length()))
                            .append("action: ").append(r.nextBoolean() ? "drop" : "{mark: 7}").append('\n');
                    default -> {
                        b.append(dash).append("action: drop\n").append(" ".repeat(dash.length()))
                                .append("prefixes:\n");
                        for (int k = 0; k < 1 + r.nextInt(3); k++) {
                            b.append(" ".repeat(dash.length() + (r.nextBoolean() ? 0 : 2))
                                    .substring(0, dash.length())).append("- ").append(prefix).append('\n');
                        }
                    }
                }
                junk(4);
            }
        }

        private String plain(boolean flow) {
            String w = WORDS[r.nextInt(WORDS.length)];
            return w;
        }

        private String scalar(boolean flow) {
            return switch (r.nextInt(8)) {
                case 0 -> single();
                case 1 -> dbl();
                default -> plain(flow);
            };
        }

        private String key() {
            return switch (r.nextInt(10)) {
                case 0 -> single();
                case 1 -> dbl();
                case 2 -> WORDS[r.nextInt(WORDS.length)];
                default -> List.of("apiVersion", "kind", "name", "spec", "rules", "prefix", "prefixes", "action",
                        "k", "key with space", "x-y", "1", "true", "null").get(r.nextInt(14));
            };
        }

        private String single() {
            StringBuilder s = new StringBuilder("'");
            for (int i = r.nextInt(6); i > 0; i--) {
                s.append(List.of("a", " ", "''", "\"", "#", ": ", "\\", ",", "]", "\u00e9").get(r.nextInt(10)));
            }
            return s.append('\'').toString();
        }

        private String dbl() {
            StringBuilder s = new StringBuilder("\"");
            for (int i = r.nextInt(6); i > 0; i--) {
                s.append(List.of("a", " ", "\\\\", "\\\"", "\\n", "\\t", "\\/", "'", "#", ": ", ",", "}")
                        .get(r.nextInt(12)));
            }
            return s.append('"').toString();
        }

        private void flow(int level) {
            if (level > 3 || r.nextInt(3) == 0) {
                b.append(scalar(true));
                return;
            }
            boolean mapping = r.nextBoolean();
            b.append(mapping ? '{' : '[').append(r.nextInt(5) == 0 ? " " : "");
            int n = r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    b.append(r.nextInt(4) == 0 ? " , " : ", ");
                }
                if (mapping) {
                    b.append(key()).append(": ");
                }
                flow(level + 1);
            }
            b.append(r.nextInt(5) == 0 ? " " : "").append(mapping ? '}' : ']');
        }

        /** A value after "key:" or "- ": on this line, or on the next lines at a deeper indentation. */
        private void value(int indent, int depth, boolean afterKey) {
            int choice = depth > 4 ? r.nextInt(3) : r.nextInt(7);
            switch (choice) {
                case 0 -> b.append(' ').append(scalar(false)).append(comment()).append('\n');
                case 1 -> {
                    b.append(' ');
                    flow(1);
                    b.append(comment()).append('\n');
                }
                case 2 -> b.append(r.nextBoolean() ? "" : " ").append(comment()).append('\n');   // empty: null
                case 3 -> {
                    b.append(comment()).append('\n');
                    junk(indent);
                    blockMapping(indent + step(), depth + 1, false);
                }
                case 4 -> {
                    b.append(comment()).append('\n');
                    junk(indent);
                    // a key's list may sit at the key's own indentation
                    blockSequence(afterKey && r.nextBoolean() ? indent : indent + step(), depth + 1, false);
                }
                case 5 -> {
                    if (afterKey) {
                        b.append(' ').append(scalar(false)).append('\n');
                    } else {
                        b.append(' ');   // compact: "- key: value" on the entry's line
                        blockMapping(indent + 2, depth + 1, true);
                    }
                }
                default -> {
                    if (afterKey) {
                        b.append(comment()).append('\n');
                        blockMapping(indent + step(), depth + 1, false);
                    } else {
                        b.append(' ');   // "- - a"
                        blockSequence(indent + 2, depth + 1, true);
                    }
                }
            }
        }

        private void blockMapping(int indent, int depth, boolean inline) {
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0 || !inline) {
                    b.append(" ".repeat(indent));
                }
                b.append(key()).append(':');
                value(indent, depth, true);
                junk(indent);
            }
        }

        private void blockSequence(int indent, int depth, boolean inline) {
            int n = 1 + r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0 || !inline) {
                    b.append(" ".repeat(indent));
                }
                b.append('-');
                value(indent, depth, false);
                junk(indent);
            }
        }
    }
}
