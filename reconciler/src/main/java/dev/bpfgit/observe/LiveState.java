package dev.bpfgit.observe;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the kernel really has under the pin root, plus what runs at the attach points bpfgit wants.
 *
 * @param dirs     directories under the root (for cleanup of empty ones)
 * @param attached programs at each attach point asked about, whoever attached them
 * @param interfaces the host's interfaces (name to ifindex): a link whose ifindex differs is stale
 * @param basis    a digest of everything above: a saved plan is applied only if it is unchanged
 */
public record LiveState(Path root, Map<Path, LiveMap> maps, Map<Path, LiveProgram> programs,
                        Map<Path, LiveLink> links, Set<Path> dirs, Meta meta,
                        Map<AttachPoint, List<AttachedProgram>> attached, Map<String, Integer> interfaces,
                        String basis) {
    public LiveState {
        interfaces = Map.copyOf(interfaces);
        maps = Map.copyOf(maps);
        programs = Map.copyOf(programs);
        links = Map.copyOf(links);
        dirs = Set.copyOf(dirs);
        attached = Map.copyOf(attached);
    }
}
