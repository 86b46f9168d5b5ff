package dev.bpfgit.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
