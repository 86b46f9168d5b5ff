package dev.bpfgit.kernel;

/**
 * bpfgit's own duplicate of another process's socket (pidfd_getfd): the same kernel socket, held through
 * a file descriptor of this process until {@link #close()}. Closing the duplicate does not close the
 * owner's socket; while the duplicate is open, the socket outlives its owner, so hold it only as long as
 * needed (putting it into a map or attaching a program needs it; the map entry and the attachment do not).
 */
public interface AdoptedSocket extends AutoCloseable {

    Listener listener();

    /** SO_COOKIE: the kernel's id of the socket, which is what a SOCKMAP lookup from user space returns. */
    long cookie();

    @Override
    void close();
}
