package dev.bpfgit.kernel;

/** A program the kernel runs at an attach point, whoever attached it. */
public record AttachedProgram(int progId, String name) {
}
