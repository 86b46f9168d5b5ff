package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.KernelException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One bpfgit writer per pin root: an exclusive flock(2) on the root directory itself (bpffs holds no
 * regular files, but any inode can be flocked). Released on close or when the process dies, so a crashed
 * writer never leaves a stale lock. Who holds it is read from /proc/locks (pid) and /proc/PID (command
 * line, start time) rather than from a record the holder writes: a record could outlive its writer.
 */
public final class PinRootLock implements AutoCloseable {
    private static final int O_DIRECTORY = 0x10000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int LOCK_UN = 8;
    private static final int EWOULDBLOCK = 11;
    private static final int ENOENT = 2;
    private static final int SC_CLK_TCK = 2;
    private static final long POLL_MILLIS = 100;

    // libc's jnr-ffi view, whose stubs native-init makes ahead: one generated class for the verbs' libc
    // calls, not a second one made on main when the lock is taken (bench/README.md, "The cold CLI, eleventh
    // session")
    private static final Libc.C C = Libc.C;

    private final int fd;
    private final Path root;
    private final boolean created;

    private PinRootLock(int fd, Path root, boolean created) {
        this.fd = fd;
        this.root = root;
        this.created = created;
    }

    /** Who holds a pin root's lock, as the kernel and /proc show it. */
    public record Holder(long pid, String command, Optional<Instant> since) {
        @Override
        public String toString() {
            return "pid " + pid + " (" + command + since.map(s -> ", running since " + s).orElse("") + ")";
        }
    }

    /** Takes the lock or fails at once (EAGAIN naming the holder). The root must exist. */
    public static PinRootLock acquire(Path root) {
        return acquire(root, Duration.ZERO, null);
    }

    /**
     * Takes the lock, waiting up to {@code timeout} for another writer to release it.
     *
     * @param createRoot makes the root (mode 0700) when it does not exist, or null: a missing root is ENOENT.
     *                   Called again if the root is removed while we wait (a {@code destroy} that held it).
     * @throws KernelException EAGAIN after the timeout, naming the holder
     */
    public static PinRootLock acquire(Path root, Duration timeout, Runnable createRoot) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean created = false;
        while (true) {
            if (createRoot != null && !Files.isDirectory(root)) {
                createRoot.run();
                created = true;
            }
            int fd = C.open(root.toString(), Libc.O_RDONLY | O_DIRECTORY | Libc.O_CLOEXEC);
            if (fd < 0) {
                int e = Libc.errno();
                if (e == ENOENT && createRoot != null) {
                    continue;   // removed between the check and the open
                }
                throw KernelException.of("open pin root", root.toString(), e);
            }
            if (C.flock(fd, LOCK_EX | LOCK_NB) == 0) {
                // the holder may have removed the directory we opened (destroy): lock the one at the path now
                if (stillAt(fd, root)) {
                    return new PinRootLock(fd, root, created);
                }
                C.flock(fd, LOCK_UN);
                C.close(fd);
                if (createRoot == null && !Files.isDirectory(root)) {
                    throw KernelException.of("open pin root", root.toString(), ENOENT);
                }
                continue;
            }
            int e = Libc.errno();
            C.close(fd);
            if (e != EWOULDBLOCK) {
                throw KernelException.of("lock pin root", root.toString(), e);
            }
            if (System.nanoTime() - deadline >= 0) {
                String who = holder(root).map(Holder::toString).orElse("another process");
                throw KernelException.of("lock pin root", root.toString(), Errno.of(EWOULDBLOCK),
                        "another bpfgit writer holds it: " + who + "; waited " + human(timeout)
                                + " (--lock-timeout, lock.timeout in the configuration)");
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw KernelException.of("lock pin root", root.toString(), Errno.of(4 /* EINTR */), "interrupted");
            }
        }
    }

    private static boolean stillAt(int fd, Path root) {
        try {
            Path target = Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd));
            return target.equals(root.toAbsolutePath().normalize());
        } catch (IOException e) {
            return false;
        }
    }

    /** The process holding the flock on {@code root}, from /proc/locks; empty when none or unknown. */
    public static Optional<Holder> holder(Path root) {
        long ino;
        long dev;
        List<String> locks;
        try {
            ino = ((Number) Files.getAttribute(root, "unix:ino")).longValue();
            dev = ((Number) Files.getAttribute(root, "unix:dev")).longValue();
            locks = Files.readAllLines(Path.of("/proc/locks"));
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return Optional.empty();
        }
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        String id = String.format("%02x:%02x:%d", major, minor, ino);
        for (String line : locks) {
            // "1: FLOCK  ADVISORY  WRITE 4242 00:1a:1234 0 EOF"; waiters carry "->" and are skipped
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[1].equals("FLOCK") && f[5].equals(id)) {
                long pid = Long.parseLong(f[4]);
                return Optional.of(new Holder(pid, command(pid), since(pid)));
            }
        }
        return Optional.empty();
    }

    /** "bpfgit apply policies/ --root ..." from the Java command line, or the raw command line. */
    private static String command(long pid) {
        try {
            String[] args = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")),
                    StandardCharsets.UTF_8).split("\0");
            List<String> out = new ArrayList<>();
            int main = -1;
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("dev.bpfgit.cli.Main") || args[i].endsWith("bpfgit.jar")) {
                    main = i;
                }
            }
            if (main >= 0) {
                out.add("bpfgit");
                out.addAll(List.of(args).subList(main + 1, args.length));
            } else {
                out.addAll(List.of(args));
            }
            String s = String.join(" ", out);
            return s.length() > 160 ? s.substring(0, 157) + "..." : s;
        } catch (IOException e) {
            return "command unknown";
        }
    }

    private static Optional<Instant> since(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // field 22 (starttime, clock ticks after boot) counted after the ")" that ends the command name
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[19]);
            long btime = Files.readAllLines(Path.of("/proc/stat")).stream().filter(l -> l.startsWith("btime "))
                    .mapToLong(l -> Long.parseLong(l.substring(6).trim())).findFirst().orElseThrow();
            long hz = C.sysconf(SC_CLK_TCK);
            return Optional.of(Instant.ofEpochSecond(btime).plusMillis(ticks * 1000 / (hz > 0 ? hz : 100)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String human(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    /** True when this lock made the root (it did not exist). */
    public boolean createdRoot() {
        return created;
    }

    /**
     * Releases the lock. A root this lock created and that is still empty is removed first: a writer that
     * ended without writing (invalid policy, declined confirmation) leaves the host as it found it.
     */
    @Override
    public void close() {
        if (created) {
            try {
                Files.delete(root);
            } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                // written to (kept), or removed by the writer itself (destroy)
            } catch (IOException e) {
                // best effort: an empty directory left behind is harmless
            }
        }
        C.flock(fd, LOCK_UN);
        C.close(fd);
    }
}
