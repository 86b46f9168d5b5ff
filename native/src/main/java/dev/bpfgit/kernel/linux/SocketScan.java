package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.SocketOwner;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Who owns a socket (/proc). */
final class SocketScan {
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
}
