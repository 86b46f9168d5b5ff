package dev.bpfgit.observe;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapInfo;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** A map pinned under the root. Entries are read for policy maps; per-CPU maps hold statistics and are not. */
public record LiveMap(Path pin, MapInfo info, Optional<Map<Bytes, Bytes>> entries) {
}
