package dev.bpfgit.source;

import java.time.Instant;
import java.util.Optional;

/**
 * The git commit a snapshot was read from, for status, logs and metrics.
 *
 * @param id      the full commit id (40 hex digits)
 * @param subject the first line of the message
 * @param signer  who signed it when verification is on and accepted it (key fingerprint or principal)
 */
public record Commit(String id, String subject, String author, Instant authorTime, Optional<String> signer) {
    /** The id as shown to people: 12 hex digits. */
    public String shortId() {
        return id.length() > 12 ? id.substring(0, 12) : id;
    }
}
