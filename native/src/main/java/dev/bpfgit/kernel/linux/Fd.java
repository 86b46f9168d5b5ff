package dev.bpfgit.kernel.linux;

/** Owns one file descriptor (a BPF object, a namespace) and closes it exactly once. */
final class Fd implements AutoCloseable {
    private final int fd;
    private boolean closed;

    private Fd(int fd) {
        this.fd = fd;
    }

    /** Takes ownership of a valid descriptor. */
    static Fd own(int fd) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        return new Fd(fd);
    }

    int value() {
        if (closed) {
            throw new IllegalStateException("fd " + fd + " already closed");
        }
        return fd;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return "fd " + fd;
    }
}
