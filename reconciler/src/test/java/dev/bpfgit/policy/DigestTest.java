package dev.bpfgit.policy;

import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The digest streamed through {@link PolicyReader.DigestWriter} is the one of the whole canonical JSON text's
 * UTF-8 bytes, as revision ids and pins recorded it before: chunk borders inside surrogate pairs, lone
 * surrogates, large documents.
 */
class DigestTest {
    private static final ObjectMapper SORTED = JsonMapper.builder().enable(JsonNodeFeature.WRITE_PROPERTIES_SORTED).build();
    private static final ObjectMapper JSON = new ObjectMapper();

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
