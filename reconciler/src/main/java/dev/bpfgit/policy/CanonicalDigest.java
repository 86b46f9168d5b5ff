package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.BooleanNode;
import tools.jackson.databind.node.IntNode;
import tools.jackson.databind.node.LongNode;
import tools.jackson.databind.node.NullNode;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.databind.node.StringNode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;

/**
 * The SHA-256 of a tree's canonical JSON, written as UTF-8 bytes straight into the digest: the bytes that
 * {@code ObjectMapper} with {@code WRITE_PROPERTIES_SORTED} writes as text, encoded as {@code String.getBytes(UTF_8)}
 * encodes the whole text (a lone surrogate is '?'), which is how policy digests were recorded. Before, Jackson wrote
 * the text as chars into a Writer that copied them into chunks and encoded them with a CharsetEncoder: three passes
 * over every char, 5% of the cold CLI's main thread and 9% of a parse thread. Here each string is escaped and
 * encoded in one pass. Objects' keys are sorted as a {@code TreeMap} sorts them (String's order); strings are escaped
 * as Jackson escapes them (", \, the control characters, \b \t \n \f \r and upper-case \\u00XX); ints, longs, booleans
 * and null are written here, and every other value (doubles, big integers, ...) by Jackson's own {@code writeTree},
 * so numbers are Jackson's. {@code DigestTest} compares it with the text path over every char, random trees and the
 * examples, and keeps a golden digest.
 */
final class CanonicalDigest {
    /** For each ASCII char: 0 written as it is, else the char after the backslash, 'u' for \\u00XX. */
    private static final byte[] ESCAPE = new byte[128];
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);

    static {
        for (int c = 0; c < 0x20; c++) {
            ESCAPE[c] = 'u';
        }
        ESCAPE['\b'] = 'b';
        ESCAPE['\t'] = 't';
        ESCAPE['\n'] = 'n';
        ESCAPE['\f'] = 'f';
        ESCAPE['\r'] = 'r';
        ESCAPE['"'] = '"';
        ESCAPE['\\'] = '\\';
    }

    private final ObjectMapper mapper;
    private final MessageDigest sha;
    private final byte[] buf = new byte[8192];
    private int pos;
    /** Keys of the object being written and their values, per nesting level. */
    private String[][] keys = new String[8][];
    private JsonNode[][] values = new JsonNode[8][];
    /** Takes an object's properties into {@code keys} and {@code values} of one level. */
    private final Collector collector = new Collector();

    /** @param mapper writes the values this class does not (it must sort properties, as the digest's text did) */
    CanonicalDigest(ObjectMapper mapper, MessageDigest sha) {
        this.mapper = mapper;
        this.sha = sha;
    }

    /** Feeds the canonical JSON of {@code tree} to the digest. */
    void write(JsonNode tree) {
        write(tree, 0);
        flush();
    }

    private void flush() {
        sha.update(buf, 0, pos);
        pos = 0;
    }

    /** Room for {@code n} more bytes (n at most the buffer's size). */
    private void room(int n) {
        if (pos > buf.length - n) {
            flush();
        }
    }

    private void put(byte b) {
        if (pos == buf.length) {
            flush();
        }
        buf[pos++] = b;
    }

    private void put(byte[] b) {
        room(b.length);
        System.arraycopy(b, 0, buf, pos, b.length);
        pos += b.length;
    }

    /** Type tests in the order of how often a policy has each (a pattern switch's bootstrap was slower here). */
    private void write(JsonNode node, int depth) {
        if (node instanceof StringNode s) {
            string(s.stringValue());
        } else if (node instanceof ObjectNode object) {
            object(object, depth);
        } else if (node instanceof ArrayNode array) {
            int n = array.size();
            put((byte) '[');
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    put((byte) ',');
                }
                write(array.get(i), depth + 1);
            }
            put((byte) ']');
        } else if (node instanceof IntNode i) {
            ascii(Integer.toString(i.intValue()));
        } else if (node instanceof BooleanNode b) {
            put(b.booleanValue() ? TRUE : FALSE);
        } else if (node instanceof LongNode l) {
            ascii(Long.toString(l.longValue()));
        } else if (node instanceof NullNode) {
            put(NULL);
        } else {
            // Jackson's text of anything else (doubles, NaN as a string, big numbers), encoded as the text was
            text(mapper.writeValueAsString(node));
        }
    }

    private void object(ObjectNode object, int depth) {
        int n = object.size();
        if (depth == keys.length) {
            keys = Arrays.copyOf(keys, depth * 2);
            values = Arrays.copyOf(values, depth * 2);
        }
        String[] names = keys[depth];
        JsonNode[] children = values[depth];
        if (names == null || names.length < n) {
            names = new String[Math.max(n, 4)];
            children = new JsonNode[names.length];
            keys[depth] = names;
            values[depth] = children;
        }
        // the map's own forEach: an entry iterator (and the map's entry set) per object was most of what the digest
        // of a 100k-rule policy allocated
        collector.names = names;
        collector.children = children;
        collector.n = 0;
        object.forEachEntry(collector);
        sort(names, children, n);
        put((byte) '{');
        for (int i = 0; i < n; i++) {
            String key = names[i];
            JsonNode value = children[i];
            names[i] = null;
            children[i] = null;
            if (i > 0) {
                put((byte) ',');
            }
            string(key);
            put((byte) ':');
            write(value, depth + 1);
        }
        put((byte) '}');
    }

    /** A named class, not a lambda: one generated at run time would be outside the AOT cache. */
    private static final class Collector implements java.util.function.BiConsumer<String, JsonNode> {
        String[] names;
        JsonNode[] children;
        int n;

        @Override
        public void accept(String name, JsonNode child) {
            names[n] = name;
            children[n] = child;
            n++;
        }
    }

    /**
     * Keys in String's order, as a TreeMap has them, each value moved with its key; insertion sort for the few keys
     * most objects have.
     */
    static void sort(String[] names, JsonNode[] children, int n) {
        if (n > 12) {
            @SuppressWarnings("unchecked")
            Map.Entry<String, JsonNode>[] a = new Map.Entry[n];
            for (int i = 0; i < n; i++) {
                a[i] = new java.util.AbstractMap.SimpleImmutableEntry<>(names[i], children[i]);
            }
            Arrays.sort(a, 0, n, Map.Entry.comparingByKey());
            for (int i = 0; i < n; i++) {
                names[i] = a[i].getKey();
                children[i] = a[i].getValue();
            }
            return;
        }
        for (int i = 1; i < n; i++) {
            String k = names[i];
            JsonNode v = children[i];
            int j = i - 1;
            while (j >= 0 && names[j].compareTo(k) > 0) {
                names[j + 1] = names[j];
                children[j + 1] = children[j];
                j--;
            }
            names[j + 1] = k;
            children[j + 1] = v;
        }
    }

    /** Text of ASCII characters only, as it is. */
    private void ascii(String s) {
        int n = s.length();
        room(n);
        for (int i = 0; i < n; i++) {
            buf[pos++] = (byte) s.charAt(i);
        }
    }

    /** A string value or key: quoted, escaped as Jackson escapes, UTF-8 as {@code String.getBytes} encodes it. */
    private void string(String s) {
        put((byte) '"');
        encode(s, true);
        put((byte) '"');
    }

    /** JSON text written by Jackson: UTF-8 as {@code String.getBytes} encodes it, nothing escaped. */
    private void text(String s) {
        encode(s, false);
    }

    private void encode(String s, boolean escape) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            // at most 6 bytes a char (a \\u00XX escape): check the room once per run of chars that surely fits
            int fits = (buf.length - pos) / 6;
            if (fits == 0) {
                flush();
                continue;
            }
            i = encode(s, i, Math.min(n, i + fits), escape);
        }
    }

    /** Chars {@code from} to {@code to}, with room for 6 bytes each; returns where it stopped (a pair may go on). */
    private int encode(String s, int from, int to, boolean escape) {
        byte[] b = buf;
        int p = pos;
        int i = from;
        for (; i < to; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                int e = escape ? ESCAPE[c] : 0;
                if (e == 0) {
                    b[p++] = (byte) c;
                } else if (e != 'u') {
                    b[p++] = '\\';
                    b[p++] = (byte) e;
                } else {
                    b[p++] = '\\';
                    b[p++] = 'u';
                    b[p++] = '0';
                    b[p++] = '0';
                    b[p++] = HEX[c >> 4];
                    b[p++] = HEX[c & 15];
                }
            } else if (c < 0x800) {
                b[p++] = (byte) (0xc0 | c >> 6);
                b[p++] = (byte) (0x80 | c & 0x3f);
            } else if (!Character.isSurrogate(c)) {
                b[p++] = (byte) (0xe0 | c >> 12);
                b[p++] = (byte) (0x80 | c >> 6 & 0x3f);
                b[p++] = (byte) (0x80 | c & 0x3f);
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                // two chars, four bytes: within the room of the two
                int cp = Character.toCodePoint(c, s.charAt(++i));
                b[p++] = (byte) (0xf0 | cp >> 18);
                b[p++] = (byte) (0x80 | cp >> 12 & 0x3f);
                b[p++] = (byte) (0x80 | cp >> 6 & 0x3f);
                b[p++] = (byte) (0x80 | cp & 0x3f);
            } else {
                b[p++] = '?';   // a lone surrogate, as String.getBytes and the CharsetEncoder replace it
            }
        }
        pos = p;
        return i;
    }
}
