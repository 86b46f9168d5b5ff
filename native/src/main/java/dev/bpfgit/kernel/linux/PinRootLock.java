package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.KernelException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

import java.nio.file.Path;

/**
 * One bpfgit sidecar per pin root: an exclusive flock(2) on the root directory itself (bpffs holds no
 * regular files, but any inode can be flocked). Released on close or when the process dies.
 */
public final class PinRootLock implements AutoCloseable {
    private static final int O_DIRECTORY = 0x10000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;
    private static final int LOCK_UN = 8;

    /** The jnr-ffi view of the two calls this class needs. */
    public interface C {
        int open(String path, int flags);

        int flock(int fd, int op);

        int close(int fd);
    }

    private static final C C = LibraryLoader.create(C.class).load("c");
    private static final Runtime RUNTIME = Runtime.getRuntime(C);

    private final int fd;

    private PinRootLock(int fd) {
        this.fd = fd;
    }

    /** Takes the lock or fails at once naming the reason (EWOULDBLOCK: another bpfgit runs on this root). */
    public static PinRootLock acquire(Path root) {
        int fd = C.open(root.toString(), Libc.O_RDONLY | O_DIRECTORY | Libc.O_CLOEXEC);
        if (fd < 0) {
            throw KernelException.of("open pin root", root.toString(), RUNTIME.getLastError());
        }
        if (C.flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = RUNTIME.getLastError();
            C.close(fd);
            throw KernelException.of("lock pin root", root.toString(), Errno.of(e),
                    e == 11 ? "another bpfgit run holds it" : null);
        }
        return new PinRootLock(fd);
    }

    @Override
    public void close() {
        C.flock(fd, LOCK_UN);
        C.close(fd);
    }
}
