package dev.bpfgit.kernel;

/** The result of BPF_PROG_TEST_RUN: the program's return value and the mean nanoseconds per run. */
public record TestRun(int retval, long durationNs, byte[] dataOut) {
}
