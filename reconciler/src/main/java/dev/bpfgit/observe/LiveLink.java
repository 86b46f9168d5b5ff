package dev.bpfgit.observe;

import dev.bpfgit.kernel.LinkInfo;

import java.nio.file.Path;

/** A bpf_link pinned under the root. */
public record LiveLink(Path pin, LinkInfo info) {
}
