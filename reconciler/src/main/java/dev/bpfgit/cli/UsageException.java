package dev.bpfgit.cli;

/** Bad input that is not a policy mistake: a missing path, a malformed flag. Exit code 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
