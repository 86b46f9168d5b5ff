package dev.bpfgit.observe;

import dev.bpfgit.compile.Objects;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * bpfgit's bookkeeping, stored with the pins in a hash map at {@code <root>/meta} so that status and plan
 * work after a restart: the applied revision, a digest per policy, which policy acts in which unit, a
 * fingerprint per unit and the identity of each loaded program. Keys and values are NUL-padded text
 * ({@code struct meta_key}, {@code struct meta_value} in bpf/meta.bpf.c), so bpftool prints them.
 *
 * <p>Keys name units and policies of any kind, and a kind's identifiers may be long (a cgroup path). A key
 * of at most {@value #KEY_SIZE} - 1 bytes is stored as it is: every key TrafficPolicy writes is, so pins made by
 * earlier versions stay valid. A longer key is stored as its first {@value #READABLE} bytes (cut at a
 * character), {@code ~} and the first 16 hex digits of its SHA-256, and the full key is kept in values under
 * {@code name/<those 16 digits>/<i>}, {@value #VALUE_SIZE} - 1 bytes each; {@link #decode(Map)} puts the full
 * key back, so the rest of bpfgit only sees full keys. See {@link #stored(String)}.
 */
public record Meta(Map<String, String> values) {
    public static final String PIN = "meta";
    /** Prefix of the keys recording why the last apply of a policy failed. */
    public static final String FAILED = "failed/";
    /** Prefix of the keys where the sidecar records its view of its source, for status. */
    public static final String SIDECAR = "sidecar/";
    public static final int KEY_SIZE = 96;
    public static final int VALUE_SIZE = 160;
    /** Bytes of a long key kept readable before its hash. */
    static final int READABLE = KEY_SIZE - 1 - 17;
    /** Prefix of the values holding the full text of long keys. */
    public static final String NAME = "name/";
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
        String v = values.get(key);
        return Optional.ofNullable(v != null ? v : values.get(stored(key)));
    }

    /** The key as stored in the map: {@code key} itself when it fits, else a readable prefix and a hash. */
    public static String stored(String key) {
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        if (b.length < KEY_SIZE) {
            return key;
        }
        return cut(key, READABLE) + "~" + hash(key);
    }

    private static String hash(String key) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The entries that store {@code key = value}: one, plus the pieces of the full key when it is long. */
    public static List<Entry> encode(String key, String value) {
        List<Entry> out = new ArrayList<>();
        out.add(new Entry(encodeKey(key), encodeValue(value)));
        List<String> names = nameKeys(key);
        List<String> pieces = pieces(key);
        for (int i = 0; i < names.size(); i++) {
            out.add(new Entry(encodeKey(names.get(i)), encodeValue(pieces.get(i))));
        }
        return out;
    }

    /** The stored keys of {@code key}: what deleting it removes. */
    public static List<Bytes> encodeDelete(String key) {
        List<Bytes> out = new ArrayList<>();
        out.add(encodeKey(key));
        nameKeys(key).forEach(n -> out.add(encodeKey(n)));
        return out;
    }

    private static List<String> nameKeys(String key) {
        if (stored(key).equals(key)) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < pieces(key).size(); i++) {
            out.add(NAME + hash(key) + "/" + i);
        }
        return out;
    }

    /** {@code text} in pieces of at most VALUE_SIZE - 1 bytes, cut at characters. */
    private static List<String> pieces(String text) {
        List<String> out = new ArrayList<>();
        for (String rest = text; !rest.isEmpty(); ) {
            String piece = cut(rest, VALUE_SIZE - 1);
            out.add(piece);
            rest = rest.substring(piece.length());
        }
        return out;
    }

    /** The longest prefix of {@code text} of at most {@code max} UTF-8 bytes, cut at a character. */
    private static String cut(String text, int max) {
        int used = 0;
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (used + n > max) {
                break;
            }
            used += n;
            i += Character.charCount(cp);
        }
        return text.substring(0, i);
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

    /** The stored form of {@code key} (see {@link #stored}); the full text of a long key is {@link #encode}'s. */
    public static Bytes encodeKey(String key) {
        return text(stored(key), KEY_SIZE);
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
        // long keys: the stored form back to the full key, when its pieces are all there and agree
        Map<String, String> full = new TreeMap<>();
        m.forEach((k, v) -> {
            if (k.startsWith(NAME)) {
                return;
            }
            int tilde = k.lastIndexOf('~');
            if (tilde < 0 || k.length() - tilde != 17) {
                full.put(k, v);
                return;
            }
            String h = k.substring(tilde + 1);
            StringBuilder name = new StringBuilder();
            for (int i = 0; m.containsKey(NAME + h + "/" + i); i++) {
                name.append(m.get(NAME + h + "/" + i));
            }
            String key = name.toString();
            full.put(!key.isEmpty() && stored(key).equals(k) ? key : k, v);
        });
        return new Meta(full);
    }
}
