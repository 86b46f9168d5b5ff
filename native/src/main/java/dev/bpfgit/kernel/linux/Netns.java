package dev.bpfgit.kernel.linux;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Runs code with the calling thread inside another network namespace. Namespaces are per thread in
 * Linux: interface names, ifindexes and the netlink sockets libc and libbpf open all resolve in the
 * namespace of the thread that asks, which is what XDP and tcx attachment need. bpffs is not affected,
 * so pins stay reachable (unlike {@code ip netns exec}, which remounts /sys).
 */
public final class Netns {
    private Netns() {
    }

    /**
     * Calls {@code body} inside the namespace at {@code nsPath} (e.g. {@code /run/netns/app} or
     * {@code /proc/PID/ns/net}) and moves the thread back afterwards, also when {@code body} throws.
     * Must run on a platform thread: a virtual thread could be moved to another carrier mid-call.
     */
    public static <T> T call(Path nsPath, Callable<T> body) throws Exception {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("Netns.call needs a platform thread; setns(2) applies to the carrier");
        }
        try (Fd home = Fd.own(Libc.open("/proc/thread-self/ns/net"))) {
            try (Fd target = Fd.own(Libc.open(nsPath.toString()))) {
                Libc.setns(target.value(), Libc.CLONE_NEWNET, nsPath.toString());
            }
            Throwable failure = null;
            try {
                return body.call();
            } catch (Throwable t) {
                failure = t;
                throw t;
            } finally {
                try {
                    Libc.setns(home.value(), Libc.CLONE_NEWNET, "/proc/thread-self/ns/net (back)");
                } catch (RuntimeException e) {
                    // the thread is now stranded in the wrong namespace; nothing on it can be trusted
                    IllegalStateException stranded = new IllegalStateException(
                            "thread stranded in network namespace " + nsPath, e);
                    if (failure != null) {
                        stranded.addSuppressed(failure);
                    }
                    throw stranded;
                }
            }
        }
    }

    /** {@link #call} for code without a result or checked exceptions. */
    public static void run(Path nsPath, Runnable body) {
        try {
            call(nsPath, () -> {
                body.run();
                return null;
            });
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // unreachable: a Runnable throws nothing checked
        }
    }
}
