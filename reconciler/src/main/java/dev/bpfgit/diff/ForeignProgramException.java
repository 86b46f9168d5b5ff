package dev.bpfgit.diff;

/** A program bpfgit did not attach holds an attach point bpfgit needs; bpfgit never replaces it. */
public final class ForeignProgramException extends RuntimeException {
    public ForeignProgramException(String message) {
        super(message);
    }
}
