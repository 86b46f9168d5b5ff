package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Interface;
import dev.bpfgit.kernel.KernelException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

import java.util.ArrayList;
import java.util.List;

/**
 * The libc calls libbpf does not cover, through jnr-ffi. Every method either returns a valid result or
 * throws a {@link KernelException} carrying the errno the call left behind.
 */
public final class Libc {
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int CLONE_NEWNET = 0x40000000;
    // x86-64 syscall numbers; glibc 2.36 has no wrappers for these two
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;

    /** The jnr-ffi view of libc; only the symbols used below. */
    public interface C {
        int open(String path, int flags);

        int close(int fd);

        int setns(int fd, int nstype);

        int geteuid();

        int isatty(int fd);

        int if_nametoindex(String name);

        Pointer if_nameindex();

        void if_freenameindex(Pointer p);

        // syscall(2) is variadic; every argument here is an integer in a register, which is how x86-64
        // passes variadic integers too, so a fixed three-argument prototype is call-compatible
        long syscall(long number, long a, long b, long c);

        int setsockopt(int fd, int level, int optname, @In int[] optval, int optlen);

        int getsockopt(int fd, int level, int optname, @Out long[] optval, @In @Out int[] optlen);

        int socket(int domain, int type, int protocol);

        long send(int fd, @In byte[] buf, long len, int flags);

        long recv(int fd, @Out byte[] buf, long len, int flags);

        // the pin-root lock's (PinRootLock)
        int flock(int fd, int op);

        long sysconf(int name);
    }

    static final C C = load();
    private static C load() {
        // jnr-ffi's reflection-based loader (a java.lang.reflect.Proxy whose methods are bound on first call)
        // instead of its default, which generates the view's class with asm and makes 9 annotation proxies and
        // a few method-handle forms while doing so: a cold verb spends about 55 ms less CPU here, a call costs
        // about 0.6 us more, and bpfgit makes a few calls per verb or reconcile (bench/README.md, native15).
        // jnr-ffi reads the property once, when its loader class is initialised; Libc is its only user.
        if (System.getProperty("jnr.ffi.asm.enabled") == null) {
            System.setProperty("jnr.ffi.asm.enabled", "false");
        }
        return LibraryLoader.create(C.class).load("c");
    }

    private static final Runtime RUNTIME = Runtime.getRuntime(C);

    private Libc() {
    }

    static int errno() {
        return RUNTIME.getLastError();
    }

    /** open(2) read-only and close-on-exec. */
    public static int open(String path) {
        int fd = C.open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw KernelException.of("open", path, errno());
        }
        return fd;
    }

    /** close(2); a failure here means the fd was not ours, which is a bug, not an operational error. */
    public static void close(int fd) {
        if (C.close(fd) != 0) {
            throw new IllegalStateException("close(" + fd + "): errno " + errno());
        }
    }

    /** setns(2) of the calling thread into the namespace behind {@code fd}. */
    public static void setns(int fd, int nstype, String what) {
        if (C.setns(fd, nstype) != 0) {
            throw KernelException.of("enter network namespace", what, errno());
        }
    }

    public static int geteuid() {
        return C.geteuid();
    }

    /** Whether {@code fd} is a terminal; System.console() answers for stdin and stdout, not for stderr. */
    public static boolean isatty(int fd) {
        return C.isatty(fd) == 1;
    }

    /** The ifindex of an interface in the calling thread's network namespace, or 0 when there is none. */
    public static int ifNameToIndex(String name) {
        return C.if_nametoindex(name);
    }

    /** The interfaces of the calling thread's network namespace (a netlink dump inside libc). */
    public static List<Interface> interfaces() {
        Pointer array = C.if_nameindex();
        if (array == null) {
            throw KernelException.of("list interfaces", "", errno());
        }
        try {
            List<Interface> out = new ArrayList<>();
            // struct if_nameindex { unsigned int if_index; char *if_name; }: 16 bytes on LP64
            for (long off = 0; ; off += 16) {
                int index = array.getInt(off);
                Pointer name = array.getPointer(off + 8);
                if (index == 0 && name == null) {
                    return out;
                }
                out.add(new Interface(name.getString(0), index));
            }
        } finally {
            C.if_freenameindex(array);
        }
    }

    /** pidfd_open(2): a pidfd for {@code pid}. */
    public static int pidfdOpen(int pid) {
        long r = C.syscall(SYS_PIDFD_OPEN, pid, 0, 0);
        if (r < 0) {
            throw KernelException.of("pidfd_open", "pid " + pid, errno());
        }
        return (int) r;
    }

    /** pidfd_getfd(2): a duplicate, in this process, of file descriptor {@code targetFd} of the pidfd's process. */
    public static int pidfdGetfd(int pidfd, int targetFd) {
        long r = C.syscall(SYS_PIDFD_GETFD, pidfd, targetFd, 0);
        if (r < 0) {
            throw KernelException.of("pidfd_getfd", "fd " + targetFd, errno());
        }
        return (int) r;
    }

    static final int SOL_SOCKET = 1;
    static final int SO_REUSEPORT = 15;
    static final int SO_ATTACH_REUSEPORT_EBPF = 52;
    static final int SO_COOKIE = 57;
    static final int SO_DETACH_REUSEPORT_BPF = 68;

    /** setsockopt(2) with an int option value. */
    static void setsockopt(int fd, int level, int option, int value, String operation, String what) {
        if (C.setsockopt(fd, level, option, new int[] {value}, 4) != 0) {
            throw KernelException.of(operation, what, errno());
        }
    }

    /** getsockopt(2) of an option of at most 8 bytes, read as a little-endian integer. */
    static long getsockopt(int fd, int level, int option, String operation, String what) {
        long[] value = new long[1];
        int[] len = {8};
        if (C.getsockopt(fd, level, option, value, len) != 0) {
            throw KernelException.of(operation, what, errno());
        }
        return len[0] == 4 ? value[0] & 0xffffffffL : value[0];
    }

    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_ROUTE = 0;

    /** A route netlink socket of the calling thread's network namespace. */
    static int netlinkRoute() {
        int fd = C.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) {
            throw KernelException.of("open netlink socket", "NETLINK_ROUTE", errno());
        }
        return fd;
    }

    static void send(int fd, byte[] message, String operation) {
        if (C.send(fd, message, message.length, 0) != message.length) {
            throw KernelException.of(operation, "netlink", errno());
        }
    }

    /** One datagram into {@code buf}; its length. */
    static int recv(int fd, byte[] buf, String operation) {
        return recv(fd, buf, 0, operation);
    }

    /** One datagram into {@code buf}, with recv(2) flags (MSG_TRUNC: the datagram's length, also when longer). */
    static int recv(int fd, byte[] buf, int flags, String operation) {
        long n = C.recv(fd, buf, buf.length, flags);
        if (n < 0) {
            throw KernelException.of(operation, "netlink", errno());
        }
        return (int) n;
    }
}
