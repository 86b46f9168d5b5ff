package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Errno;
import dev.bpfgit.kernel.KernelException;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Turns libbpf return codes and java.nio failures into typed {@link KernelException}s. */
final class Failures {
    static final int ENOENT = 2;
    static final int EPERM = 1;
    static final int E2BIG = 7;
    static final int EBADF = 9;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int EXDEV = 18;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int EOPNOTSUPP = 95;
    static final int ENOTSUPP = 524;
    static final int EIO = 5;

    // java.nio hides errno behind strerror text; map that text back through the names Errno knows
    private static final Map<String, Integer> BY_DESCRIPTION = new HashMap<>();

    static {
        for (int v = 1; v < 134; v++) {
            Errno e = Errno.of(v);
            if (!e.name().startsWith("errno ")) {
                BY_DESCRIPTION.put(e.description(), v);
            }
        }
    }

    private Failures() {
    }

    /** {@code ret} when it is not negative; else the typed exception for {@code -ret}. */
    static int check(int ret, String operation, Object path) {
        if (ret < 0) {
            throw KernelException.of(operation, str(path), -ret);
        }
        return ret;
    }

    static KernelException of(String operation, Object path, int errno, String detail) {
        return KernelException.of(operation, str(path), Errno.of(errno), detail);
    }

    /** Both "not supported" errnos: the kernel-internal 524 that batch ops return and EOPNOTSUPP. */
    static boolean notSupported(int errno) {
        return errno == ENOTSUPP || errno == EOPNOTSUPP;
    }

    static KernelException io(String operation, Path path, IOException e) {
        int errno = switch (e) {
            case NoSuchFileException x -> ENOENT;
            case FileAlreadyExistsException x -> EEXIST;
            case DirectoryNotEmptyException x -> 39;
            case AccessDeniedException x -> 13;
            case NotDirectoryException x -> 20;
            case FileSystemException x when x.getReason() != null ->
                    BY_DESCRIPTION.getOrDefault(x.getReason(), EIO);
            default -> EIO;
        };
        String detail = errno == EIO ? e.toString() : null;
        return KernelException.of(operation, path.toString(), Errno.of(errno), detail);
    }

    private static String str(Object path) {
        return path == null ? "" : path.toString();
    }
}
