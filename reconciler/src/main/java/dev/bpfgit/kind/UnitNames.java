package dev.bpfgit.kind;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Directory names of units under the pin root, from a kind's identifiers (an interface, a cgroup path, a
 * port). bpffs takes names up to 255 bytes and no {@code /}, and every unit's path also makes meta keys
 * ({@code unit/<rel>}, {@code owner/<rel>/<policy>}), so identifiers are kept short and readable:
 * <ul>
 *   <li>an identifier of at most {@value #MAX} bytes without {@code /}, NUL, {@code .} and {@code ..}
 *   alone, is the name as it is (every interface name is: TrafficPolicy's {@code traffic/<if>/<hook>});</li>
 *   <li>any other is its first {@value #READABLE} bytes with {@code /}, {@code .} and NUL made {@code _},
 *   {@code ~} and 16 hex digits of the SHA-256 of the whole identifier.</li>
 * </ul>
 * The full identifier belongs in the unit's label (plans) and the kind's own records, not in the name.
 */
public final class UnitNames {
    public static final int MAX = 48;
    static final int READABLE = MAX - 17;

    private UnitNames() {
    }

    public static String segment(String identifier) {
        byte[] b = identifier.getBytes(StandardCharsets.UTF_8);
        boolean plain = b.length > 0 && b.length <= MAX && identifier.indexOf('/') < 0
                && identifier.indexOf('\0') < 0 && !identifier.equals(".") && !identifier.equals("..");
        if (plain) {
            return identifier;
        }
        StringBuilder readable = new StringBuilder();
        int used = 0;
        for (int i = 0; i < identifier.length(); ) {
            int cp = identifier.codePointAt(i);
            String c = cp == '/' || cp == '.' || cp == 0 ? "_" : new String(Character.toChars(cp));
            int n = c.getBytes(StandardCharsets.UTF_8).length;
            if (used + n > READABLE) {
                break;
            }
            readable.append(c);
            used += n;
            i += Character.charCount(cp);
        }
        return readable + "~" + hash(identifier);
    }

    private static String hash(String identifier) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(identifier.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
