package dev.bpfgit.kernel;

/**
 * A failed kernel operation. The message reads {@code "<operation> <path>: <ERRNO> (<strerror>)"}, e.g.
 * {@code "pin map /sys/fs/bpf/bpfgit/traffic/eth0/xdp/rules_v4: EEXIST (File exists)"}.
 */
public sealed class KernelException extends RuntimeException
        permits KernelException.NotFound, KernelException.AlreadyExists, KernelException.PermissionDenied,
        KernelException.NotSupported, KernelException.Busy, KernelException.Other {

    private final String operation;
    private final String path;
    private final Errno errno;

    protected KernelException(String operation, String path, Errno errno, String detail) {
        super(message(operation, path, errno, detail));
        this.operation = operation;
        this.path = path;
        this.errno = errno;
    }

    private static String message(String operation, String path, Errno errno, String detail) {
        StringBuilder sb = new StringBuilder(operation);
        if (path != null && !path.isEmpty()) {
            sb.append(' ').append(path);
        }
        sb.append(": ").append(errno.name()).append(" (").append(errno.description()).append(')');
        if (detail != null && !detail.isEmpty()) {
            sb.append(": ").append(detail);
        }
        return sb.toString();
    }

    public String operation() {
        return operation;
    }

    public String path() {
        return path;
    }

    public Errno errno() {
        return errno;
    }

    /** The typed exception for an errno value. */
    public static KernelException of(String operation, String path, int errno) {
        return of(operation, path, Errno.of(errno), null);
    }

    public static KernelException of(String operation, String path, Errno e, String detail) {
        return switch (e.name()) {
            case "ENOENT" -> new NotFound(operation, path, e, detail);
            case "EEXIST" -> new AlreadyExists(operation, path, e, detail);
            case "EPERM", "EACCES" -> new PermissionDenied(operation, path, e, detail);
            case "EOPNOTSUPP", "ENOTSUPP", "ENOSYS" -> new NotSupported(operation, path, e, detail, null, null);
            case "EBUSY" -> new Busy(operation, path, e, detail);
            default -> new Other(operation, path, e, detail);
        };
    }

    public static final class NotFound extends KernelException {
        public NotFound(String op, String path, Errno e, String detail) {
            super(op, path, e, detail);
        }
    }

    public static final class AlreadyExists extends KernelException {
        public AlreadyExists(String op, String path, Errno e, String detail) {
            super(op, path, e, detail);
        }
    }

    public static final class PermissionDenied extends KernelException {
        public PermissionDenied(String op, String path, Errno e, String detail) {
            super(op, path, e, detail);
        }
    }

    /** A feature this kernel lacks; {@code feature} and {@code minKernel} say which and since when, if known. */
    public static final class NotSupported extends KernelException {
        private final String feature;
        private final String minKernel;

        public NotSupported(String op, String path, Errno e, String detail, String feature, String minKernel) {
            super(op, path, e, feature == null ? detail : feature + " needs Linux " + minKernel
                    + (detail == null ? "" : ": " + detail));
            this.feature = feature;
            this.minKernel = minKernel;
        }

        public String feature() {
            return feature;
        }

        public String minKernel() {
            return minKernel;
        }
    }

    /** EBUSY: the attach point or object is held by something else. */
    public static final class Busy extends KernelException {
        public Busy(String op, String path, Errno e, String detail) {
            super(op, path, e, detail);
        }
    }

    public static final class Other extends KernelException {
        public Other(String op, String path, Errno e, String detail) {
            super(op, path, e, detail);
        }
    }
}
