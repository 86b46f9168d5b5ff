package dev.bpfgit.compile;

import dev.bpfgit.kernel.ProgramSpec;

import java.nio.file.Path;

/** A program bpfgit wants pinned at {@code pin}, loaded from {@code spec}. */
public record ProgramDesire(Path pin, ProgramSpec spec) {
}
