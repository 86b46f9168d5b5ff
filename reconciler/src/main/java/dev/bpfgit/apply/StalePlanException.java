package dev.bpfgit.apply;

/** A saved plan whose live state changed since it was made: applying it could undo someone's change. */
public final class StalePlanException extends RuntimeException {
    public StalePlanException(String message) {
        super(message);
    }
}
