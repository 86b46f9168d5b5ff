package dev.bpfgit.policy;

/**
 * How text taken from a policy file appears in an error message: short, on one line, without terminal
 * control characters. An error locates the mistake; it must not reproduce the file (which may hold what
 * its author never meant to print, or escape sequences meant for a terminal).
 */
public final class Shown {
    /** Enough for every real value (a name is 40 characters, an IPv6 prefix 43) and a hint of a longer one. */
    public static final int MAX_VALUE = 64;
    /** A whole message, the quoted values included. */
    static final int MAX_MESSAGE = 400;

    private Shown() {
    }

    /** At most {@link #MAX_VALUE} code points, control characters escaped, "…" where it was cut. */
    public static String value(String s) {
        return clip(s, MAX_VALUE);
    }

    static String message(String s) {
        return clip(s, MAX_MESSAGE);
    }

    static String clip(String s, int max) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(Math.min(s.length(), max + 8));
        int count = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (count++ == max) {
                return out.append('…').toString();
            }
            if (Character.isISOControl(cp) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E)
                    || (cp >= 0x2066 && cp <= 0x2069)) {
                // newlines would forge error lines; C0/C1 controls and bidi overrides would rewrite the terminal
                out.append(cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        }
        return out.toString();
    }
}
