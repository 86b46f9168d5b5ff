package dev.bpfgit.diff;

import dev.bpfgit.kernel.Bytes;

import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.RandomAccess;

/**
 * The entry changes of one step of a saved plan ({@code apply --plan FILE}), packed as they are read: an
 * immutable {@code List<EntryChange>} whose elements are made when they are read, as {@link EntryChanges} is for
 * a plan made here.
 *
 * <p>It exists for memory. A saved first plan of the geo-routing table holds 1.16M entries; read back with an
 * {@link EntryChange} each (its {@link Bytes}, Optionals and Strings) it took several hundred MB. Here the raw
 * bytes, and the key and text as people read them (UTF-8), sit in a few flat arrays, the owner as an index into
 * the few policy names: about 40 bytes per entry beside the bytes themselves.
 */
public final class SavedEntryChanges extends AbstractList<EntryChange> implements RandomAccess {
    private static final int BEFORE = 1;
    private static final int AFTER = 2;

    private final int size;
    private final byte[] raw;
    private final int[] rawOff;     // per change: key, before and after start; then the end
    private final byte[] present;   // BEFORE | AFTER
    private final int[] owner;      // index in owners
    private final String[] owners;
    private final byte[] text;
    private final int[] textOff;    // per change: key start, text start; then the end

    private SavedEntryChanges(Builder b) {
        size = b.size;
        raw = Arrays.copyOf(b.raw, b.rawLen);
        rawOff = Arrays.copyOf(b.rawOff, 3 * size + 1);
        present = Arrays.copyOf(b.present, size);
        owner = Arrays.copyOf(b.owner, size);
        owners = b.ownerNames.toArray(String[]::new);
        text = Arrays.copyOf(b.text, b.textLen);
        textOff = Arrays.copyOf(b.textOff, 2 * size + 1);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public EntryChange get(int i) {
        java.util.Objects.checkIndex(i, size);
        Optional<Bytes> before = (present[i] & BEFORE) != 0 ? Optional.of(slice(3 * i + 1)) : Optional.empty();
        Optional<Bytes> after = (present[i] & AFTER) != 0 ? Optional.of(slice(3 * i + 2)) : Optional.empty();
        return new EntryChange(slice(3 * i), before, after, owners[owner[i]], string(2 * i), string(2 * i + 1));
    }

    private Bytes slice(int at) {
        return Bytes.wrap(Arrays.copyOfRange(raw, rawOff[at], rawOff[at + 1]));
    }

    private String string(int at) {
        return new String(text, textOff[at], textOff[at + 1] - textOff[at], StandardCharsets.UTF_8);
    }

    /** Collects changes in order; {@link #build} once. */
    public static final class Builder {
        private int size;
        private byte[] raw = new byte[256];
        private int rawLen;
        private int[] rawOff = new int[16];
        private byte[] present = new byte[4];
        private int[] owner = new int[4];
        private final List<String> ownerNames = new ArrayList<>();
        private final Map<String, Integer> ownerIndex = new HashMap<>();
        private byte[] text = new byte[256];
        private int textLen;
        private int[] textOff = new int[16];

        public Builder() {
            rawOff[0] = 0;
            textOff[0] = 0;
        }

        /**
         * One change: hex strings of pairs of lower-case hex digits ({@code before}, {@code after}: null when
         * absent).
         *
         * @throws IllegalArgumentException naming the field that is not hex
         */
        public Builder add(String rawKey, String rawBefore, String rawAfter, String ownerName, String key,
                           String shown) {
            int n = size;
            if (n == present.length) {
                present = Arrays.copyOf(present, n * 2);
                owner = Arrays.copyOf(owner, n * 2);
            }
            if (3 * n + 4 > rawOff.length) {
                rawOff = Arrays.copyOf(rawOff, rawOff.length * 2);
            }
            if (2 * n + 3 > textOff.length) {
                textOff = Arrays.copyOf(textOff, textOff.length * 2);
            }
            hex("rawKey", rawKey);
            rawOff[3 * n + 1] = rawLen;
            if (rawBefore != null) {
                hex("rawBefore", rawBefore);
            }
            rawOff[3 * n + 2] = rawLen;
            if (rawAfter != null) {
                hex("rawAfter", rawAfter);
            }
            rawOff[3 * n + 3] = rawLen;
            present[n] = (byte) ((rawBefore != null ? BEFORE : 0) | (rawAfter != null ? AFTER : 0));
            owner[n] = ownerIndex.computeIfAbsent(ownerName, o -> {
                ownerNames.add(o);
                return ownerNames.size() - 1;
            });
            utf8(key);
            textOff[2 * n + 1] = textLen;
            utf8(shown);
            textOff[2 * n + 2] = textLen;
            size++;
            return this;
        }

        public SavedEntryChanges build() {
            return new SavedEntryChanges(this);
        }

        private void hex(String field, String s) {
            int len = s.length();
            if ((len & 1) != 0) {
                throw new IllegalArgumentException(field + ": an odd number of hex digits");
            }
            room(len / 2);
            for (int i = 0; i < len; i += 2) {
                int hi = Character.digit(s.charAt(i), 16);
                int lo = Character.digit(s.charAt(i + 1), 16);
                if (hi < 0 || lo < 0) {
                    throw new IllegalArgumentException(field + ": not a hex digit at " + (hi < 0 ? i : i + 1));
                }
                raw[rawLen++] = (byte) (hi << 4 | lo);
            }
        }

        private void room(int more) {
            if (rawLen + more > raw.length) {
                raw = Arrays.copyOf(raw, Math.max(raw.length * 2, rawLen + more));
            }
        }

        private void utf8(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (textLen + b.length > text.length) {
                text = Arrays.copyOf(text, Math.max(text.length * 2, textLen + b.length));
            }
            System.arraycopy(b, 0, text, textLen, b.length);
            textLen += b.length;
        }
    }
}
