package dev.bpfgit.compile;

import dev.bpfgit.kernel.AttachPoint;

import java.nio.file.Path;

/** A pinned bpf_link running the program pinned at {@code program} at {@code at}. */
public record LinkDesire(Path pin, Path program, AttachPoint at) {
}
