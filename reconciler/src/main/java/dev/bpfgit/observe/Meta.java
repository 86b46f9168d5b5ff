package dev.bpfgit.observe;

import dev.bpfgit.compile.Objects;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * bpfgit's bookkeeping, stored with the pins in a hash map at {@code <root>/meta} so that status and plan
 * work after a restart: the applied revision, a digest per policy, which policy acts in which unit, a
 * fingerprint per unit and the identity of each loaded program. Keys and values are NUL-padded text
 * ({@code struct meta_key}, {@code struct meta_value} in bpf/meta.bpf.c), so bpftool prints them.
 */
public record Meta(Map<String, String> values) {
    public static final String PIN = "meta";
    /** Prefix of the keys recording why the last apply of a policy failed. */
    public static final String FAILED = "failed/";
    /** Prefix of the keys where the sidecar records its view of its source, for status. */
    public static final String SIDECAR = "sidecar/";
    public static final int KEY_SIZE = 96;
    public static final int VALUE_SIZE = 160;
    public static final Meta EMPTY = new Meta(Map.of());
    /** The applied git commit's first message line, author time (ISO-8601) and verified signer. */
    public static final String COMMIT_SUBJECT = "commit/subject";
    public static final String COMMIT_AUTHOR_TIME = "commit/author-time";
    public static final String COMMIT_SIGNER = "commit/signer";

    public Meta {
        values = Map.copyOf(new TreeMap<>(values));
    }

    public static MapSpec spec() {
        return new MapSpec("bpfgit_meta", MapType.HASH, KEY_SIZE, VALUE_SIZE, 4096, 0,
                Optional.of(new BtfTypes(Objects.get("meta.bpf.o"), "meta_key", "meta_value")));
    }

    public static Path pin(Path root) {
        return root.resolve(PIN);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public Optional<String> revision() {
        return get("revision");
    }

    public static String policyKey(String policyId) {
        return "policy/" + policyId;
    }

    public static String unitKey(String unitRel) {
        return "unit/" + unitRel;
    }

    public static String ownerKey(String unitRel, String policyId) {
        return "owner/" + unitRel + "/" + policyId;
    }

    public static String programKey(String progRel) {
        return "program/" + progRel;
    }

    /** Policy ids ({@code Kind/name}) bpfgit last applied. */
    public Map<String, String> policies() {
        Map<String, String> r = new TreeMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith("policy/")) {
                r.put(k.substring("policy/".length()), v);
            }
        });
        return r;
    }

    /** {@code text} cut to what a value holds, at a character boundary, with an ellipsis when cut. */
    public static String fit(String text) {
        int max = VALUE_SIZE - 1;
        if (text.getBytes(StandardCharsets.UTF_8).length <= max) {
            return text;
        }
        String ellipsis = "\u2026";
        int budget = max - ellipsis.getBytes(StandardCharsets.UTF_8).length;
        StringBuilder sb = new StringBuilder();
        int used = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (used + n > budget) {
                break;
            }
            sb.appendCodePoint(cp);
            used += n;
            i += Character.charCount(cp);
        }
        return sb.append(ellipsis).toString();
    }

    public static Bytes encodeKey(String key) {
        return text(key, KEY_SIZE);
    }

    public static Bytes encodeValue(String value) {
        return text(value, VALUE_SIZE);
    }

    private static Bytes text(String s, int size) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length >= size) {
            throw new IllegalArgumentException("meta text longer than " + (size - 1) + " bytes: " + s);
        }
        byte[] out = new byte[size];
        System.arraycopy(b, 0, out, 0, b.length);
        return Bytes.wrap(out);
    }

    public static String decode(Bytes b) {
        byte[] a = b.toArray();
        int n = 0;
        while (n < a.length && a[n] != 0) {
            n++;
        }
        return new String(a, 0, n, StandardCharsets.UTF_8);
    }

    public static Meta decode(Map<Bytes, Bytes> entries) {
        Map<String, String> m = new TreeMap<>();
        entries.forEach((k, v) -> m.put(decode(k), decode(v)));
        return new Meta(m);
    }
}
