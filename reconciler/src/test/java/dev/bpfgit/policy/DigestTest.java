package dev.bpfgit.policy;

import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.bpfgit.kind.Kinds;
import dev.bpfgit.source.Snapshot;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The policy digest ({@link CanonicalDigest}, bytes straight into SHA-256) is the one of the whole canonical JSON
 * text's UTF-8 bytes, as revision ids and the kernel bookkeeping recorded it before: chunk borders inside surrogate
 * pairs, lone surrogates, large documents; and it is the old implementation's ({@link OldDigest}: Jackson's text
 * through a Writer) on every char, random trees, the examples' policies and generated ones, and a golden digest.
 */
class DigestTest {
    private static final ObjectMapper SORTED = JsonMapper.builder().enable(JsonNodeFeature.WRITE_PROPERTIES_SORTED).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final PolicySchema SCHEMA = PolicySchema.of(Kinds.BUILT_IN.schema());
    private static final PolicyReader READER = new PolicyReader(SCHEMA, Kinds.BUILT_IN);

    @Test
    void theStreamedDigestIsTheDigestOfTheWholeText() throws Exception {
        Random r = new Random(7);
        for (int round = 0; round < 300; round++) {
            ObjectNode doc = JSON.createObjectNode().put("kind", "TrafficPolicy");
            ArrayNode rules = doc.putObject("spec").putArray("rules");
            int n = round % 10 == 0 ? 5000 + r.nextInt(5000) : r.nextInt(200);
            for (int i = 0; i < n; i++) {
                rules.addObject().put("prefix", text(r)).put("action", "drop").put("mark", r.nextInt());
            }
            byte[] whole = SORTED.writeValueAsString(doc).getBytes(StandardCharsets.UTF_8);
            String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(whole));
            assertEquals(expected, PolicyReader.digest(doc));
        }
    }

    /**
     * The sorted walk writes what Jackson's sorted serialization writes, byte for byte: random trees of every
     * node type the YAML conversion makes (nested objects and arrays, empty ones, numbers of each width,
     * doubles including NaN and infinities, booleans, nulls), keys with escapes, non-ASCII, lone surrogates,
     * and keys that sort differently as UTF-16 than as code points.
     */
    @Test
    void theSortedWalkWritesWhatJacksonWrites() throws Exception {
        Random r = new Random(11);
        CanonicalJson walk = new CanonicalJson(SORTED);
        for (int round = 0; round < 3000; round++) {
            tools.jackson.databind.JsonNode tree = tree(r, 0);
            java.io.StringWriter out = new java.io.StringWriter();
            walk.write(out, tree);
            assertEquals(SORTED.writeValueAsString(tree), out.toString());
        }
    }

    /** The new digest is the old one on random trees: every node type, escapes, unicode, numbers, nesting. */
    @Test
    void theByteDigestIsTheOldOneOnRandomTrees() throws Exception {
        Random r = new Random(13);
        for (int round = 0; round < 3000; round++) {
            tools.jackson.databind.JsonNode tree = tree(r, 0);
            assertEquals(OldDigest.of(tree), PolicyReader.digest(tree), () -> tree.toString());
        }
    }

    /**
     * Every char, as a value and as a key, alone and between others, and every surrogate pair's kind (valid, lone
     * high, lone low, high at the end of a string): escapes and UTF-8 as before, in batches of 64 chars per tree.
     */
    @Test
    void everyCharIsEscapedAndEncodedAsBefore() throws Exception {
        for (int base = 0; base < 0x10000; base += 64) {
            ObjectNode doc = JSON.createObjectNode();
            ArrayNode values = doc.putArray("values");
            for (int c = base; c < base + 64; c++) {
                String ch = String.valueOf((char) c);
                values.add(ch);
                values.add("a" + ch + "b");
                doc.put(ch, c);
                doc.put("k" + ch + "\uD83D\uDE00", ch + ch);
            }
            String expected = OldDigest.of(doc);
            assertEquals(expected, PolicyReader.digest(doc), "chars from " + Integer.toHexString(base));
        }
        ObjectNode pairs = JSON.createObjectNode();
        pairs.put("pair", "\uD83D\uDE00\uDBFF\uDFFF\uD800\uDC00").put("high", "x\uD83D").put("low", "\uDE00x")
                .put("swapped", "\uDE00\uD83D").put("\uD83D", "\uDE00").putArray("a").add("\uD800").add("\uDC00");
        assertEquals(OldDigest.of(pairs), PolicyReader.digest(pairs));
    }

    /** Long strings and many of them: the 8 KB buffer's borders fall inside escapes and multi-byte chars. */
    @Test
    void bufferBordersAsBefore() throws Exception {
        Random r = new Random(5);
        for (int round = 0; round < 50; round++) {
            ObjectNode doc = JSON.createObjectNode();
            ArrayNode a = doc.putArray("rules");
            for (int i = r.nextInt(3000); i > 0; i--) {
                StringBuilder sb = new StringBuilder();
                for (int j = r.nextInt(r.nextInt(20) == 0 ? 9000 : 30); j > 0; j--) {
                    sb.append(switch (r.nextInt(6)) {
                        case 0 -> "\u00e9";
                        case 1 -> "\uD83D\uDE00";
                        case 2 -> "\n";
                        case 3 -> "\u0001";
                        default -> "x";
                    });
                }
                a.addObject().put("prefix", sb.toString()).put("n", r.nextLong());
            }
            assertEquals(OldDigest.of(doc), PolicyReader.digest(doc));
        }
    }

    /** Every policy of the examples, read as the loader reads it: the digest of its canonical tree is the old one. */
    @Test
    void theExamplesDigestAsBefore() throws Exception {
        List<Path> files;
        try (var walk = Files.walk(Path.of("../examples"))) {
            files = walk.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        int policies = 0;
        for (Path f : files) {
            policies += compareWithOld(f.toString(), Files.readString(f));
        }
        assertTrue(policies >= 15, policies + " policies in the examples");
    }

    /** Generated policies with unicode and escapes in labels and names, and 20,000 rules. */
    @Test
    void generatedPoliciesDigestAsBefore() throws Exception {
        StringBuilder yaml = new StringBuilder("""
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata: {name: generated}
                spec:
                  hosts:
                    names: ["edge-*", "db-[0-9]"]
                    labels: {zone: "z\u00fcrich \u20ac", emoji: "\\U0001F600", quoted: "a \\"q\\" \\\\ \\t\\n\\u0001/"}
                  interfaces: [eth0]
                  hook: xdp
                  rules:
                """);
        for (int i = 0; i < 20_000; i++) {
            yaml.append("    - {prefix: 10.").append(i >> 16 & 255).append('.').append(i >> 8 & 255).append('.')
                    .append(i & 255).append("/32, action: ").append(i % 3 == 0 ? "pass" : "drop").append("}\n");
        }
        assertEquals(1, compareWithOld("generated.yaml", yaml.toString()));
    }

    /** The digest of a fixed policy, as main 1257346 computed it: a change of the canonical form fails here. */
    @Test
    void goldenDigest() {
        String yaml = """
                apiVersion: bpfgit.dev/v1
                kind: TrafficPolicy
                metadata:
                  name: golden
                spec:
                  hosts:
                    names: ["edge-*", "db-[0-9]"]
                    labels: {zone: "z\u00fcrich \u20ac", emoji: "\\U0001F600 ok", quoted: "a \\"q\\" \\\\ b\\tc\\nd\\u0001\\u007f/", "\\u00e9": x}
                  interfaces: [eth0, eth1]
                  hook: xdp
                  match: source
                  default: pass
                  rules:
                    - {prefix: 192.0.2.10/32, action: pass}
                    - prefixes: [192.0.2.0/24, 198.18.0.0/15, "2001:db8:bad::/48"]
                      action: drop
                    - {prefix: 10.0.0.0/8, action: drop}
                """;
        List<Policy> loaded = new PolicyLoader().load(new Snapshot("dir:test", Map.of("p.yaml", yaml)));
        assertEquals("b1bb40e0a07d96a61b40a6c84cfdc8e725bfd00a5859576fec5b1ff5bfffd76d", loaded.getFirst().digest());
    }

    /** Reads each schema-valid document of {@code text} as the loader does; returns how many were compared. */
    private static int compareWithOld(String file, String text) throws Exception {
        YamlReader.Result yaml = YamlReader.read(file, text);
        int n = 0;
        for (YamlDocument doc : yaml.documents()) {
            if (doc.root() == null || !doc.root().isObject() || !SCHEMA.validate(doc.root(), Kinds.BUILT_IN).isEmpty()) {
                continue;
            }
            Policy p = READER.read(doc, e -> { });
            // read digests the document's tree in place, defaults applied and values normalized
            assertEquals(OldDigest.of(doc.root()), p.digest(), file + ": " + p.id());
            n++;
        }
        return n;
    }

    private static tools.jackson.databind.JsonNode tree(Random r, int depth) {
        var f = JSON.getNodeFactory();
        int kind = depth > 5 ? 2 + r.nextInt(9) : r.nextInt(11);
        return switch (kind) {
            case 0 -> {
                ObjectNode o = JSON.createObjectNode();
                for (int i = r.nextInt(r.nextInt(10) == 0 ? 40 : 6); i > 0; i--) {
                    o.set(r.nextInt(4) == 0 ? text(r) : key(r), tree(r, depth + 1));
                }
                yield o;
            }
            case 1 -> {
                ArrayNode a = JSON.createArrayNode();
                for (int i = r.nextInt(6); i > 0; i--) {
                    a.add(tree(r, depth + 1));
                }
                yield a;
            }
            case 2 -> f.textNode(text(r));
            case 3 -> f.numberNode(r.nextInt());
            case 4 -> f.numberNode(r.nextLong());
            case 5 -> f.numberNode(java.math.BigInteger.valueOf(r.nextLong()).shiftLeft(r.nextInt(80)));
            case 6 -> f.numberNode(switch (r.nextInt(5)) {
                case 0 -> Double.NaN;
                case 1 -> r.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
                case 2 -> (double) r.nextInt(1000);
                default -> r.nextGaussian() * Math.pow(10, r.nextInt(40) - 20);
            });
            case 7 -> f.booleanNode(r.nextBoolean());
            case 8 -> f.nullNode();
            case 9 -> f.textNode("\u0000\u001f\t\n\r\b\f/<>&'\u007f\u2028");
            default -> f.textNode(key(r));
        };
    }

    /** Short keys that collide often, and some that sort apart as UTF-16 and as code points. */
    private static String key(Random r) {
        String[] keys = {"a", "b", "A", "_", "prefix", "prefixes", "action", "", "\uFF5E", "\uD83D\uDE00", "\u00e9", "\n"};
        return keys[r.nextInt(keys.length)] + (r.nextBoolean() ? "" : keys[r.nextInt(keys.length)]);
    }

    /** Mostly ASCII, with two-, three- and four-byte characters and now and then a lone surrogate. */
    private static String text(Random r) {
        StringBuilder sb = new StringBuilder();
        for (int i = r.nextInt(40); i > 0; i--) {
            switch (r.nextInt(12)) {
                case 0 -> sb.append('é');
                case 1 -> sb.append('€');
                case 2 -> sb.appendCodePoint(0x1F600 + r.nextInt(50));
                case 3 -> sb.append(r.nextBoolean() ? '\uD800' : '\uDC00');
                case 4 -> sb.append('"');
                default -> sb.append((char) ('a' + r.nextInt(26)));
            }
        }
        return sb.toString();
    }
}
