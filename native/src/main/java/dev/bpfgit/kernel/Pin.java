package dev.bpfgit.kernel;

import java.nio.file.Path;

/** One object pinned in bpffs. */
public record Pin(Path path, PinType type) {
}
