package dev.bpfgit.source;

/** The policy source could not be read; the message says what and why, e.g. {@code read policies/: No such file}. */
public class SourceException extends RuntimeException {
    public SourceException(String message, Throwable cause) {
        super(message, cause);
    }

    public SourceException(String message) {
        super(message);
    }
}
