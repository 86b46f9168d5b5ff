package dev.bpfgit.diff;

import java.util.List;

/**
 * A program bpfgit did not attach holds an attach point bpfgit needs (or runs beside bpfgit's where the
 * policies did not accept that); bpfgit never replaces it.
 *
 * @see Differ#diffAround
 */
public final class ForeignProgramException extends RuntimeException {
    private final List<String> policies;

    public ForeignProgramException(String message) {
        this(message, List.of());
    }

    /** @param policies ids ({@code Kind/name}) of the policies that cannot be applied because of it */
    public ForeignProgramException(String message, List<String> policies) {
        super(message);
        this.policies = List.copyOf(policies);
    }

    public List<String> policies() {
        return policies;
    }
}
