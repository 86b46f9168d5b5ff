package dev.bpfgit.apply;

/**
 * What apply did.
 *
 * @param steps        changes executed
 * @param entriesWritten map entries written (adds and changes), bookkeeping excluded
 * @param entriesDeleted map entries deleted
 */
public record ApplyResult(int steps, int entriesWritten, int entriesDeleted) {
}
