package dev.bpfgit.observe;

import dev.bpfgit.kernel.ProgramInfo;

import java.nio.file.Path;
import java.util.Optional;

/** A program pinned under the root; {@code identity} is what bpfgit recorded when it loaded it. */
public record LiveProgram(Path pin, ProgramInfo info, Optional<String> identity) {
}
