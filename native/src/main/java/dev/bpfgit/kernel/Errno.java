package dev.bpfgit.kernel;

import java.util.Map;

/** An errno value with its symbolic name and description (x86-64 Linux numbering). */
public record Errno(int value, String name, String description) {
    private static final Map<Integer, Errno> KNOWN = Map.ofEntries(
            e(1, "EPERM", "Operation not permitted"),
            e(2, "ENOENT", "No such file or directory"),
            e(3, "ESRCH", "No such process"),
            e(4, "EINTR", "Interrupted system call"),
            e(5, "EIO", "Input/output error"),
            e(7, "E2BIG", "Argument list too long"),
            e(9, "EBADF", "Bad file descriptor"),
            e(11, "EAGAIN", "Resource temporarily unavailable"),
            e(12, "ENOMEM", "Cannot allocate memory"),
            e(13, "EACCES", "Permission denied"),
            e(14, "EFAULT", "Bad address"),
            e(16, "EBUSY", "Device or resource busy"),
            e(17, "EEXIST", "File exists"),
            e(18, "EXDEV", "Invalid cross-device link"),
            e(19, "ENODEV", "No such device"),
            e(20, "ENOTDIR", "Not a directory"),
            e(21, "EISDIR", "Is a directory"),
            e(22, "EINVAL", "Invalid argument"),
            e(24, "EMFILE", "Too many open files"),
            e(28, "ENOSPC", "No space left on device"),
            e(38, "ENOSYS", "Function not implemented"),
            e(39, "ENOTEMPTY", "Directory not empty"),
            e(40, "ELOOP", "Too many levels of symbolic links"),
            e(95, "EOPNOTSUPP", "Operation not supported"),
            e(524, "ENOTSUPP", "Operation not supported (kernel-internal ENOTSUPP)"),
            e(4003, "LIBBPF_ERRNO__LOAD", "Load of the BPF object failed"),
            e(4007, "LIBBPF_ERRNO__PROG2BIG", "Program too big"));

    private static Map.Entry<Integer, Errno> e(int v, String n, String d) {
        return Map.entry(v, new Errno(v, n, d));
    }

    public static Errno of(int value) {
        int v = Math.abs(value);
        Errno e = KNOWN.get(v);
        return e != null ? e : new Errno(v, "errno " + v, "errno " + v);
    }
}
