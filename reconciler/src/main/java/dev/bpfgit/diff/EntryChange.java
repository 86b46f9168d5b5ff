package dev.bpfgit.diff;

import dev.bpfgit.kernel.Bytes;

import java.util.Optional;

/**
 * One map entry added ({@code before} empty), changed, or removed ({@code after} empty).
 *
 * @param owner policy id ({@code Kind/name}) the entry belongs to, or "" for the unit as a whole
 * @param key   the key as people read it, e.g. {@code 10.0.0.0/8}
 * @param text  the value as people read it, e.g. {@code mark 0x10 (was 0x20)}
 */
public record EntryChange(Bytes rawKey, Optional<Bytes> before, Optional<Bytes> after, String owner,
                          String key, String text) {

    public char symbol() {
        return before.isEmpty() ? '+' : after.isEmpty() ? '-' : '~';
    }

    /**
     * The text of a changed entry: {@code now (was before)}, where a value of two words that keeps its first
     * ({@code mark 0x10}, was {@code mark 0x20}) says only what changed, as design §4 shows it:
     * {@code mark 0x10 (was 0x20)}.
     */
    public static String changed(String now, String before) {
        int n = now.indexOf(' ');
        int b = before.indexOf(' ');
        if (n > 0 && n == b && now.regionMatches(0, before, 0, n + 1)
                && now.indexOf(' ', n + 1) < 0 && before.indexOf(' ', b + 1) < 0) {
            return now + " (was " + before.substring(b + 1) + ")";
        }
        return now + " (was " + before + ")";
    }
}
