package dev.bpfgit.source;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What every source applies to a policy file's bytes before they become a {@link Snapshot}'s text, so
 * that a directory and a git revision refuse the same files with the same words.
 */
public final class PolicyFiles {
    /**
     * Bytes per file, checked before the file is read. 64 MiB: the largest rule set a policy can hold
     * (1,048,576 rules, about 42 bytes each) fits, and a file the size of the disk is not read into memory.
     */
    public static final long MAX_BYTES = 64L * 1024 * 1024;

    private PolicyFiles() {
    }

    /** {@code *.yaml} or {@code *.yml}: the names a source reads. */
    public static boolean isPolicyName(String fileName) {
        return fileName.endsWith(".yaml") || fileName.endsWith(".yml");
    }

    public static Optional<FileProblem> tooLarge(String file, long size) {
        return size > MAX_BYTES
                ? Optional.of(new FileProblem(file, "file is " + size + " bytes, more than the " + MAX_BYTES
                + " a policy file may have; split it into several files"))
                : Optional.empty();
    }

    /** A file's text, or where its first byte that is not UTF-8 is; nothing of the content is quoted. */
    public static Decoded decode(String file, byte[] bytes) {
        if (ascii(bytes)) {
            // the usual policy file: every byte is its own character, copied once (a string of one byte per
            // character), not decoded through a char buffer twice the size; 4.5 MB at 100,000 rules
            return new Decoded(new String(bytes, StandardCharsets.ISO_8859_1), null);
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            int offset = in.position();
            return new Decoded(null, notUtf8(file, out.flip(), offset, bytes[offset]));
        }
        return new Decoded(out.flip().toString(), null);
    }

    /** No byte with its high bit set: US-ASCII, which is UTF-8 (and ISO 8859-1) as it is. */
    static boolean ascii(byte[] bytes) {
        int any = 0;
        for (byte b : bytes) {
            any |= b;   // a loop without an exit, which the JIT vectorises
        }
        return any >= 0;
    }

    /** Either text or problem. */
    public record Decoded(String text, FileProblem problem) {
    }

    private static FileProblem notUtf8(String file, CharBuffer before, int offset, byte bad) {
        int line = 1, column = 1;
        for (int i = 0; i < before.limit(); i++) {
            char c = before.get(i);
            if (c == '\n') {
                line++;
                column = 1;
            } else if (!Character.isLowSurrogate(c)) {
                column++;
            }
        }
        return new FileProblem(file, line, column, String.format("not UTF-8 text: byte 0x%02x at offset %d;"
                + " policy files must be UTF-8", bad & 0xff, offset));
    }
}
