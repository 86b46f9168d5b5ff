package dev.bpfgit.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * How policy digests were computed before {@link CanonicalDigest} (main 1257346): {@link CanonicalJson} wrote the
 * canonical JSON as text into {@link DigestWriter}, which fed its UTF-8 bytes to SHA-256. The reference the new
 * digest must equal, byte for byte (the digests are stored in the kernel bookkeeping).
 */
final class OldDigest {
    private static final tools.jackson.databind.ObjectMapper CANONICAL = tools.jackson.databind.json.JsonMapper.builder()
            .enable(tools.jackson.databind.cfg.JsonNodeFeature.WRITE_PROPERTIES_SORTED)
            .build();

    private OldDigest() {
    }

    static String of(tools.jackson.databind.JsonNode canonical) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (DigestWriter out = new DigestWriter(sha)) {
            new CanonicalJson(CANONICAL).write(out, canonical);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * The digest of the text written, as the UTF-8 bytes {@code String.getBytes} gives for the whole text
     * (a lone surrogate is '?'), without holding the text: a 100,000-rule policy's canonical JSON was a
     * string of megabytes, then its bytes. A high surrogate at the end of a chunk waits for the next one.
     */
    static final class DigestWriter extends java.io.Writer {
        private final MessageDigest sha;
        private final char[] chunk = new char[8192];
        /** UTF-8 of a chunk, each chunk encoded on its own as {@code String.getBytes} would ('?' for a lone surrogate). */
        private final java.nio.charset.CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE);
        private final java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(chunk.length * 3);
        private int used;

        DigestWriter(MessageDigest sha) {
            this.sha = sha;
        }

        @Override
        public void write(char[] text, int off, int len) {
            for (int i = 0; i < len; ) {
                if (used == chunk.length) {
                    drain(false);
                }
                int n = Math.min(len - i, chunk.length - used);
                System.arraycopy(text, off + i, chunk, used, n);
                used += n;
                i += n;
            }
        }

        private void drain(boolean last) {
            int n = used;
            if (!last && n > 0 && Character.isHighSurrogate(chunk[n - 1])) {
                n--;
            }
            utf8.reset();
            bytes.clear();
            java.nio.CharBuffer in = java.nio.CharBuffer.wrap(chunk, 0, n);
            utf8.encode(in, bytes, true);
            utf8.flush(bytes);
            bytes.flip();
            sha.update(bytes);
            System.arraycopy(chunk, n, chunk, 0, used - n);
            used -= n;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            drain(true);
        }
    }
}
