package dev.bpfgit.policy;

/**
 * One mistake in a policy file.
 *
 * @param pointer JSON pointer of the offending field inside its document, e.g. {@code /spec/rules/2/prefix}
 */
public record PolicyError(Location location, String pointer, String message) {
    @Override
    public String toString() {
        return location + ": " + (pointer.isEmpty() ? "" : pointer + ": ") + message;
    }
}
