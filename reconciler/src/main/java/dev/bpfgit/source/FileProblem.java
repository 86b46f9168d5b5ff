package dev.bpfgit.source;

/**
 * A policy file that the source refuses to hand over as text (not UTF-8, too large, a link leaving the
 * source, not a regular file), placed like a policy error: 1-based line and column.
 */
public record FileProblem(String file, int line, int column, String message) {
    public FileProblem(String file, String message) {
        this(file, 1, 1, message);
    }

    /** {@code file:line:column: error: message}, as policy errors read. */
    @Override
    public String toString() {
        return file + ":" + line + ":" + column + ": error: " + message;
    }
}
