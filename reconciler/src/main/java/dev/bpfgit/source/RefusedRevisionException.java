package dev.bpfgit.source;

/**
 * A revision the source can read but must not be applied: a git commit that is unsigned, or signed by a key
 * the configured verification does not trust. The last verified revision stays enforced.
 */
public final class RefusedRevisionException extends SourceException {
    private final String revision;
    private final String reason;

    public RefusedRevisionException(String revision, String reason) {
        super("commit " + revision + " refused: " + reason);
        this.revision = revision;
        this.reason = reason;
    }

    /** The refused commit id. */
    public String revision() {
        return revision;
    }

    /** Why, e.g. {@code "no signature"} or {@code "signed by SHA256:... which allowed_signers does not list"}. */
    public String reason() {
        return reason;
    }
}
