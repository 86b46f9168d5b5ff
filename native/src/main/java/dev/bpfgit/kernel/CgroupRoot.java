package dev.bpfgit.kernel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the cgroup v2 hierarchy is mounted: policies name cgroups below it ({@code /system.slice/x.service}).
 * The system property {@code bpfgit.cgroupRoot} (or the environment variable {@code BPFGIT_CGROUP_ROOT})
 * sets it; otherwise {@code /sys/fs/cgroup/unified} on hosts with the hybrid layout, else {@code /sys/fs/cgroup}.
 */
public final class CgroupRoot {
    private CgroupRoot() {
    }

    public static Path path() {
        String set = System.getProperty("bpfgit.cgroupRoot", System.getenv("BPFGIT_CGROUP_ROOT"));
        if (set != null && !set.isBlank()) {
            return Path.of(set);
        }
        Path unified = Path.of("/sys/fs/cgroup/unified");
        return Files.isDirectory(unified) ? unified : Path.of("/sys/fs/cgroup");
    }

    /** The directory of a cgroup named as in a policy ({@code /a/b}; {@code /} is the root). */
    public static Path resolve(String cgroup) {
        String rel = cgroup.replaceFirst("^/+", "");
        return rel.isEmpty() ? path() : path().resolve(rel);
    }
}
