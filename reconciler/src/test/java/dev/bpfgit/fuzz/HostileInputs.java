package dev.bpfgit.fuzz;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Malformed and adversarial policy files, generated from a seed (nothing is committed as a corpus): mutations
 * of valid policies (byte flips, truncations, lines duplicated, deleted or re-indented, random Unicode, huge
 * numbers, NUL bytes, invalid UTF-8, byte order marks, line endings) and the bombs of issue 5 in several
 * shapes (nested aliases deep and wide, aliases inside a policy, recursive aliases, deep nesting in flow and
 * block style, thousands of documents, huge scalars). The same seed gives the same inputs.
 */
public final class HostileInputs {

    /** One input: a name saying how it was made (for a failure message) and the file's bytes. */
    public record Input(String name, byte[] bytes) {
    }

    private final Random random;
    private final List<byte[]> seeds;

    public HostileInputs(long seed, List<byte[]> validPolicies) {
        this.random = new Random(seed);
        this.seeds = validPolicies;
    }

    /** Valid policies to mutate: the test resources' valid sets and the examples. */
    public static List<byte[]> validPolicies(Path repo) {
        List<byte[]> found = new ArrayList<>();
        for (Path dir : List.of(repo.resolve("reconciler/src/test/resources/policies/valid"), repo.resolve("examples"))) {
            try (Stream<Path> walk = Files.walk(dir)) {
                for (Path p : walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                        .sorted().toList()) {
                    found.add(Files.readAllBytes(p));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        found.add(TAGGED.getBytes(StandardCharsets.UTF_8));
        return found;
    }

    private static final String TAGGED = """
            apiVersion: bpfgit.dev/v1
            kind: TrafficPolicy
            metadata: {name: tagged}
            spec:
              interfaces: [eth0, eth1]
              hook: tc-egress
              match: destination
              default: pass
              capacity: 4096
              hosts: {names: [edge-*], labels: {role: edge}}
              rules:
                - {prefix: 10.0.0.0/8, action: mark, mark: 0x10}
                - prefixes: [192.0.2.0/24, 2001:db8::/32]
                  action: drop
            """;

    private interface Mutation extends Function<byte[], byte[]> {
    }

    private final List<Named> mutations = List.of(
            new Named("byte-flips", this::byteFlips),
            new Named("truncated", this::truncated),
            new Named("line-duplicated", b -> lines(b, this::duplicateLine)),
            new Named("line-deleted", b -> lines(b, this::deleteLine)),
            new Named("indent-swapped", b -> lines(b, this::reindent)),
            new Named("lines-shuffled", b -> lines(b, this::swapLines)),
            new Named("random-unicode", this::randomUnicode),
            new Named("huge-number", this::hugeNumber),
            new Named("nul-bytes", this::nulBytes),
            new Named("invalid-utf8", this::invalidUtf8),
            new Named("bom", this::bom),
            new Named("line-endings", this::lineEndings),
            new Named("token-spliced", this::tokenSpliced),
            new Named("value-replaced", this::valueReplaced));

    private record Named(String name, Mutation mutation) {
    }

    /**
     * {@code count} inputs: about one in fifty is a bomb (its shape and size drawn at random), the others
     * one to three mutations of a valid policy.
     */
    public List<Input> generate(int count) {
        List<Input> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            if (random.nextInt(50) == 0) {
                out.add(bomb(i));
                continue;
            }
            byte[] b = seeds.get(random.nextInt(seeds.size()));
            StringBuilder name = new StringBuilder("#" + i);
            int n = 1 + (random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0);
            for (int j = 0; j < n; j++) {
                Named m = mutations.get(random.nextInt(mutations.size()));
                b = m.mutation().apply(b);
                name.append(' ').append(m.name());
            }
            out.add(new Input(name.toString(), b));
        }
        return out;
    }

    private Input bomb(int i) {
        int shape = random.nextInt(10);
        String name = "#" + i + " bomb-";
        return switch (shape) {
            case 0 -> new Input(name + "laughs-deep", utf8(laughs(15 + random.nextInt(16), 2)));
            case 1 -> new Input(name + "laughs-wide", utf8(laughs(5 + random.nextInt(5), 6 + random.nextInt(10))));
            case 2 -> new Input(name + "laughs-in-policy", utf8(laughsInPolicy(18 + random.nextInt(10))));
            case 3 -> new Input(name + "recursive-alias", utf8("a: &a [x, *a, {k: *a}]\nb: &b {self: *b}\n"
                    + "apiVersion: bpfgit.dev/v1\nkind: &k [*k]\n"));
            case 4 -> {
                int depth = 50 + random.nextInt(50_000);
                yield new Input(name + "flow-nesting-" + depth, utf8("[".repeat(depth) + "]".repeat(random.nextBoolean()
                        ? depth : 0)));
            }
            case 5 -> {
                int depth = 50 + random.nextInt(5_000);
                yield new Input(name + "block-nesting-" + depth, utf8(blockNesting(depth)));
            }
            case 6 -> {
                int docs = 100 + random.nextInt(11_000);
                yield new Input(name + "documents-" + docs, utf8(("---\n" + (random.nextBoolean() ? "x: 1\n" : ""))
                        .repeat(docs)));
            }
            case 7 -> new Input(name + "huge-scalar", utf8("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\n"
                    + "metadata: {name: " + "n".repeat(1 + random.nextInt(300_000)) + "}\n"));
            case 8 -> new Input(name + "many-keys", utf8(manyKeys(1 + random.nextInt(20_000))));
            default -> new Input(name + "alias-keys", utf8("k: &k " + "[".repeat(30) + "a" + "]".repeat(30)
                    + "\n" + "? *k\n: v\n".repeat(1 + random.nextInt(1000))));
        };
    }

    static String laughs(int levels, int width) {
        StringBuilder b = new StringBuilder("l0: &l0 [lol]\n");
        for (int i = 1; i <= levels; i++) {
            b.append('l').append(i).append(": &l").append(i).append(" [");
            for (int j = 0; j < width; j++) {
                b.append(j == 0 ? "" : ", ").append("*l").append(i - 1);
            }
            b.append("]\n");
        }
        return b.toString();
    }

    private static String laughsInPolicy(int levels) {
        StringBuilder b = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: bomb}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  hosts:\n    labels:\n      l0: &l0 {prefix: 10.0.0.0/8, action: drop}\n");
        for (int i = 1; i <= levels; i++) {
            b.append("      l").append(i).append(": &l").append(i).append(" [*l").append(i - 1).append(", *l")
                    .append(i - 1).append("]\n");
        }
        return b.append("  rules: *l").append(levels).append('\n').toString();
    }

    private static String blockNesting(int depth) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            b.repeat(" ", i).append("k").append(i).append(":\n");
        }
        return b.toString();
    }

    private static String manyKeys(int n) {
        StringBuilder b = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: keys\n");
        for (int i = 0; i < n; i++) {
            b.append("  k").append(i).append(": ").append(i).append('\n');
        }
        return b.toString();
    }

    private byte[] byteFlips(byte[] b) {
        if (b.length == 0) {
            return b;
        }
        byte[] c = b.clone();
        for (int n = 1 + random.nextInt(8); n > 0; n--) {
            c[random.nextInt(c.length)] ^= (byte) (1 << random.nextInt(8));
        }
        return c;
    }

    private byte[] truncated(byte[] b) {
        return java.util.Arrays.copyOf(b, b.length == 0 ? 0 : random.nextInt(b.length));
    }

    private byte[] lines(byte[] b, Function<List<String>, List<String>> f) {
        List<String> ls = new ArrayList<>(List.of(new String(b, StandardCharsets.ISO_8859_1).split("\n", -1)));
        return String.join("\n", f.apply(ls)).getBytes(StandardCharsets.ISO_8859_1);
    }

    private List<String> duplicateLine(List<String> ls) {
        int i = random.nextInt(ls.size());
        for (int n = 1 + (random.nextInt(10) == 0 ? random.nextInt(5000) : 0); n > 0; n--) {
            ls.add(i, ls.get(i));
        }
        return ls;
    }

    private List<String> deleteLine(List<String> ls) {
        for (int n = 1 + random.nextInt(3); n > 0 && !ls.isEmpty(); n--) {
            ls.remove(random.nextInt(ls.size()));
        }
        return ls;
    }

    private List<String> reindent(List<String> ls) {
        int i = random.nextInt(ls.size());
        String line = ls.get(i).stripLeading();
        String indent = switch (random.nextInt(4)) {
            case 0 -> "\t";
            case 1 -> " ".repeat(random.nextInt(12));
            case 2 -> " \t ";
            default -> ls.get(random.nextInt(ls.size())).replaceAll("^(\\s*).*", "$1") + " ";
        };
        ls.set(i, indent + line);
        return ls;
    }

    private List<String> swapLines(List<String> ls) {
        int i = random.nextInt(ls.size()), j = random.nextInt(ls.size());
        String t = ls.get(i);
        ls.set(i, ls.get(j));
        ls.set(j, t);
        return ls;
    }

    private static final int[] SPECIAL = {0x202E, 0x2066, 0x200B, 0xFEFF, 0x1F4A3, 0x0085, 0x2028, 0x2029, 0x001B,
            0x0007, 0x00A0, 0x3000, 0xFFFD, 0xFFFE, 0x10FFFF, 0x0301, 0x05D0, 0x0627};

    private byte[] randomUnicode(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (int n = 1 + random.nextInt(20); n > 0; n--) {
            int cp = random.nextBoolean() ? SPECIAL[random.nextInt(SPECIAL.length)] : random.nextInt(0x10FFFF);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            s.appendCodePoint(cp);
        }
        return insert(b, s.toString().getBytes(StandardCharsets.UTF_8));
    }

    private byte[] hugeNumber(byte[] b) {
        String text = new String(b, StandardCharsets.ISO_8859_1);
        String big = switch (random.nextInt(5)) {
            case 0 -> "9".repeat(1 + random.nextInt(100_000));
            case 1 -> "-0x" + "f".repeat(1 + random.nextInt(10_000));
            case 2 -> "1e" + "9".repeat(1 + random.nextInt(400));
            case 3 -> "0o" + "7".repeat(1 + random.nextInt(10_000));
            default -> String.valueOf(random.nextLong());
        };
        String replaced = text.replaceFirst("\\b\\d+\\b", java.util.regex.Matcher.quoteReplacement(big));
        return (replaced.equals(text) ? text + "\nn: " + big + "\n" : replaced).getBytes(StandardCharsets.ISO_8859_1);
    }

    private byte[] nulBytes(byte[] b) {
        return insert(b, new byte[1 + random.nextInt(3)]);
    }

    private static final byte[][] BAD_UTF8 = {{(byte) 0xff}, {(byte) 0xc0, (byte) 0x80}, {(byte) 0xe2, (byte) 0x82},
            {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xf8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0x80}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xe9}};

    private byte[] invalidUtf8(byte[] b) {
        return insert(b, BAD_UTF8[random.nextInt(BAD_UTF8.length)]);
    }

    private byte[] bom(byte[] b) {
        byte[][] boms = {{(byte) 0xef, (byte) 0xbb, (byte) 0xbf}, {(byte) 0xff, (byte) 0xfe}, {(byte) 0xfe, (byte) 0xff},
                {(byte) 0xef, (byte) 0xbb, (byte) 0xbf, (byte) 0xef, (byte) 0xbb, (byte) 0xbf}};
        byte[] bom = boms[random.nextInt(boms.length)];
        if (random.nextInt(3) == 0) {
            return insert(b, bom);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bom);
        out.writeBytes(b);
        return out.toByteArray();
    }

    private byte[] lineEndings(byte[] b) {
        String text = new String(b, StandardCharsets.ISO_8859_1);
        return (random.nextBoolean() ? text.replace("\n", "\r\n") : text.replace("\n", "\r"))
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    private static final String[] TOKENS = {"&a ", "*a", "*undefined", "!!binary ", "!custom ", "!<tag:x> ", "? ", ": ",
            "- ", "[", "]", "{", "}", ",", "|", ">", "'", "\"", "#", "%YAML 1.1\n", "%TAG ! tag:x:\n", "---\n",
            "...\n", "<<: *a\n", "\\", "@", "`", "\t", "\"\\u0000\\x1b\\e\"", "!!str ", "!!int ", "!!float .nan",
            "? [a, b]\n: c\n", "{? {a: b}: c}", "&a [*a]", "0x10", "0b101", "~", "null", "yes", ".inf"};

    private byte[] tokenSpliced(byte[] b) {
        return insert(b, TOKENS[random.nextInt(TOKENS.length)].getBytes(StandardCharsets.UTF_8));
    }

    private static final String[] VALUES = {"\"\"", "[]", "{}", "~", "-1", "0", "4294967296", "18446744073709551616",
            "1.5", "true", "\"0x0\"", "0xffffffffff", "'eth0:1'", "::/0", "0.0.0.0/0", "10.0.0.1/8", "::ffff:1.2.3.4/128",
            "2001:db8::/129", "a-very-very-long-interface-name", "\"redirect\"", "mark", "*x", "&x v"};

    private byte[] valueReplaced(byte[] b) {
        String text = new String(b, StandardCharsets.UTF_8);
        String[] keys = {"prefix", "action", "to", "mark", "hook", "match", "default", "capacity", "name", "interfaces",
                "rules", "spec", "kind", "apiVersion", "names", "labels", "prefixes"};
        String key = keys[random.nextInt(keys.length)];
        String value = VALUES[random.nextInt(VALUES.length)];
        return text.replaceFirst(key + ": [^,}\\n]*", java.util.regex.Matcher.quoteReplacement(key + ": " + value))
                .getBytes(StandardCharsets.UTF_8);
    }

    private byte[] insert(byte[] b, byte[] what) {
        int at = b.length == 0 ? 0 : random.nextInt(b.length + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + what.length);
        out.write(b, 0, at);
        out.writeBytes(what);
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
