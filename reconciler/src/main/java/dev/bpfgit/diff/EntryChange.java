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
}
