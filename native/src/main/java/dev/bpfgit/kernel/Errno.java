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
            e(6, "ENXIO", "No such device or address"),
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
            e(34, "ERANGE", "Numerical result out of range"),
            e(38, "ENOSYS", "Function not implemented"),
            e(39, "ENOTEMPTY", "Directory not empty"),
            e(40, "ELOOP", "Too many levels of symbolic links"),
            e(75, "EOVERFLOW", "Value too large for defined data type"),
            e(90, "EMSGSIZE", "Message too long"),
            e(95, "EOPNOTSUPP", "Operation not supported"),
            e(524, "ENOTSUPP", "Operation not supported (kernel-internal ENOTSUPP)"),
            // libbpf's own codes (enum libbpf_errno in libbpf.h), returned negated like errnos
            e(4000, "LIBBPF_ERRNO__LIBELF", "Something wrong in libelf"),
            e(4001, "LIBBPF_ERRNO__FORMAT", "BPF object format invalid"),
            e(4002, "LIBBPF_ERRNO__KVERSION", "Incorrect or no 'version' section"),
            e(4003, "LIBBPF_ERRNO__ENDIAN", "Endian mismatch"),
            e(4004, "LIBBPF_ERRNO__INTERNAL", "Internal error in libbpf"),
            e(4005, "LIBBPF_ERRNO__RELOC", "Relocation failed"),
            e(4006, "LIBBPF_ERRNO__LOAD", "Load of the BPF object failed"),
            e(4007, "LIBBPF_ERRNO__VERIFY", "Kernel verifier blocks program loading"),
            e(4008, "LIBBPF_ERRNO__PROG2BIG", "Program too big"),
            e(4009, "LIBBPF_ERRNO__KVER", "Incorrect kernel version"),
            e(4010, "LIBBPF_ERRNO__PROGTYPE", "Kernel doesn't support this program type"));

    private static Map.Entry<Integer, Errno> e(int v, String n, String d) {
        return Map.entry(v, new Errno(v, n, d));
    }

    public static Errno of(int value) {
        int v = Math.abs(value);
        Errno e = KNOWN.get(v);
        return e != null ? e : new Errno(v, "errno " + v, "errno " + v);
    }
}
