package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.SocketOwner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** Who owns a socket (/proc), which cgroups a path names, and whether bpf_sock_destroy exists. */
final class SocketScan {
    private static final Map<String, Boolean> KFUNC = new ConcurrentHashMap<>();

    private SocketScan() {
    }

    /** For each inode asked about that some process has open: the processes, by pid. */
    static Map<Long, List<SocketOwner>> owners(Collection<Long> inodes) {
        Set<Long> wanted = new HashSet<>(inodes);
        Map<Long, List<SocketOwner>> out = new HashMap<>();
        if (wanted.isEmpty()) {
            return out;
        }
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"),
                p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path proc : procs) {
                int pid = Integer.parseInt(proc.getFileName().toString());
                Set<Long> seen = new HashSet<>();
                try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                    for (Path fd : fds) {
                        String target;
                        try {
                            target = Files.readSymbolicLink(fd).toString();
                        } catch (IOException e) {
                            continue;   // closed while we looked
                        }
                        if (target.startsWith("socket:[")) {
                            long inode = Long.parseLong(target, 8, target.length() - 1, 10);
                            if (wanted.contains(inode)) {
                                seen.add(inode);
                            }
                        }
                    }
                } catch (IOException e) {
                    continue;   // exited, or a kernel thread
                }
                if (!seen.isEmpty()) {
                    SocketOwner owner = new SocketOwner(pid, comm(proc));
                    seen.forEach(i -> out.computeIfAbsent(i, k -> new ArrayList<>()).add(owner));
                }
            }
        } catch (IOException e) {
            throw Failures.io("list processes in", Path.of("/proc"), e);
        }
        return out;
    }

    private static String comm(Path proc) {
        try {
            return Files.readString(proc.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /** The cgroup v2 mount point, from /proc/self/mountinfo (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified). */
    static Path cgroupRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
                int dash = line.indexOf(" - ");
                if (dash > 0 && line.substring(dash + 3).startsWith("cgroup2 ")) {
                    return Path.of(line.split(" ")[4]);
                }
            }
        } catch (IOException e) {
            throw Failures.io("read mounts", Path.of("/proc/self/mountinfo"), e);
        }
        throw Failures.of("find the cgroup v2 mount", "/proc/self/mountinfo", Failures.ENOENT,
                "no cgroup2 filesystem is mounted");
    }

    /**
     * The ids (inode numbers of the directories, which is what the kernel reports as the cgroup id) of the
     * cgroup {@code cgroup} (relative to the cgroup v2 root) and of every cgroup below it.
     */
    static Set<Long> cgroupIds(String cgroup) {
        Path root = cgroupRoot();
        Path dir = root.resolve(cgroup.replaceFirst("^/+", "")).normalize();
        if (!dir.startsWith(root)) {
            throw Failures.of("find cgroup", cgroup, Failures.EINVAL, "it leaves the cgroup v2 root " + root);
        }
        if (!Files.isDirectory(dir)) {
            throw Failures.of("find cgroup", dir, Failures.ENOENT, null);
        }
        Set<Long> ids = new TreeSet<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(Files::isDirectory).forEach(d -> {
                try {
                    ids.add(((Number) Files.getAttribute(d, "unix:ino")).longValue());
                } catch (NoSuchFileException e) {
                    // removed while we walked
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw Failures.io("list cgroups under", dir, e);
        } catch (UncheckedIOException e) {
            throw Failures.io("list cgroups under", dir, e.getCause());
        }
        return ids;
    }

    /**
     * Whether the kernel has the bpf_sock_destroy kfunc for socket iterators: loads {@code probe} (an object
     * whose programs call it; bpf/sockdestroy_probe.bpf.o) and unloads it again. Probed once per object, never
     * decided by kernel version. A self-contained feature probe, for a general probe class to take over.
     */
    static java.util.Optional<Boolean> knownSockDestroyKfunc(ObjectFile probe) {
        return java.util.Optional.ofNullable(KFUNC.get(probe.sha256()));
    }

    /** Programs calling bpf_sock_destroy from a socket iterator loaded: the probe would say yes. */
    static void sockDestroyKfuncSeen(ObjectFile probe) {
        KFUNC.put(probe.sha256(), true);
    }

    static boolean sockDestroyKfunc(ObjectFile probe) {
        return KFUNC.computeIfAbsent(probe.sha256(), k -> {
            try (BpfObject o = BpfObject.open(probe)) {
                LibbpfLog.clear();
                return o.load() >= 0;
            }
        });
    }
}
