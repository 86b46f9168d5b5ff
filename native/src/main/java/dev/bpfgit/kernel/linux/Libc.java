package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Interface;
import dev.bpfgit.kernel.KernelException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The libc calls libbpf does not cover. Every method either returns a valid result or throws a
 * {@link KernelException} carrying the errno the call left behind.
 * <p>
 * setns, pidfd_open/pidfd_getfd (syscall) and setsockopt/getsockopt go through jnr-ffi (design.md section 1),
 * made only when one of them is first called ({@link Jnr}). The calls of every kernel verb (the euid check,
 * open and close of the fds libbpf returns, the pin-root lock's flock, the interface list, route netlink for
 * the XDP query) go through the FFM API, as libbpf's and sock_diag's do, errno captured by the linker right
 * after the call: jnr-ffi generates its stubs with ASM at every start, about 110 ms of CPU of a cold
 * {@code plan} or {@code apply} that made none of the jnr-ffi calls (bench/README.md, "The cold CLI, sixth
 * session" and "ninth session"); one FFM handle per function, made on its first call.
 */
public final class Libc {
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int CLONE_NEWNET = 0x40000000;
    // x86-64 syscall numbers; glibc 2.36 has no wrappers for these two
    private static final long SYS_PIDFD_OPEN = 434;
    private static final long SYS_PIDFD_GETFD = 438;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MemoryLayout STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** A libc function whose errno is wanted: its handle takes the capture segment first. */
    private static MethodHandle fnErrno(String name, MemoryLayout ret, MemoryLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), FunctionDescriptor.of(ret, args),
                Linker.Option.captureCallState("errno"));
    }

    private static MethodHandle fn(String name, MemoryLayout ret, MemoryLayout... args) {
        FunctionDescriptor d = ret == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(ret, args);
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d);
    }

    // one holder per handle: a verb makes only the handles of the calls it makes
    private static final class Open {
        static final MethodHandle H = fnErrno("open", JAVA_INT, ADDRESS, JAVA_INT);
    }

    private static final class Close {
        static final MethodHandle H = fnErrno("close", JAVA_INT, JAVA_INT);
    }

    private static final class Geteuid {
        static final MethodHandle H = fn("geteuid", JAVA_INT);
    }

    private static final class Isatty {
        static final MethodHandle H = fn("isatty", JAVA_INT, JAVA_INT);
    }

    private static final class IfNameToIndex {
        static final MethodHandle H = fn("if_nametoindex", JAVA_INT, ADDRESS);
    }

    private static final class IfNameIndex {
        static final MethodHandle H = fnErrno("if_nameindex", ADDRESS);
        static final MethodHandle FREE = fn("if_freenameindex", null, ADDRESS);
    }

    private static final class Net {
        static final MethodHandle SOCKET = fnErrno("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle SEND = fnErrno("send", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        static final MethodHandle RECV = fnErrno("recv", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
    }

    private static final class Flock {
        static final MethodHandle H = fnErrno("flock", JAVA_INT, JAVA_INT, JAVA_INT);
        static final MethodHandle SYSCONF = fn("sysconf", JAVA_LONG, JAVA_INT);
    }

    /**
     * jnr-ffi's view of libc, for the calls design.md section 1 names: loaded (its stubs generated) on the first
     * of them, which a cold plan or apply of XDP and tc policies does not make.
     */
    static final class Jnr {
        /** Only the symbols used above. */
        public interface Calls {
            int setns(int fd, int nstype);

            // syscall(2) is variadic; every argument here is an integer in a register, which is how x86-64
            // passes variadic integers too, so a fixed three-argument prototype is call-compatible
            long syscall(long number, long a, long b, long c);

            int setsockopt(int fd, int level, int optname, @In int[] optval, int optlen);

            int getsockopt(int fd, int level, int optname, @Out long[] optval, @In @Out int[] optlen);
        }

        static final Calls C = LibraryLoader.create(Calls.class).load("c");
        private static final jnr.ffi.Runtime RUNTIME = jnr.ffi.Runtime.getRuntime(C);

        static int errno() {
            return RUNTIME.getLastError();
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        return Libbpf.rethrow(t);
    }

    private Libc() {
    }

    /** open(2) read-only and close-on-exec. */
    public static int open(String path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw KernelException.of("open", path, -fd);
        }
        return fd;
    }

    /** open(2): the fd, or -errno. */
    static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            int fd = (int) Open.H.invokeExact(state, a.allocateFrom(path), flags);
            return fd < 0 ? -errno(state) : fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** close(2): 0, or -errno. */
    static int closeRaw(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            return (int) Close.H.invokeExact(state, fd) != 0 ? -errno(state) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** flock(2): 0, or -errno. */
    static int flock(int fd, int op) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            return (int) Flock.H.invokeExact(state, fd, op) != 0 ? -errno(state) : 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long sysconf(int name) {
        try {
            return (long) Flock.SYSCONF.invokeExact(name);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** close(2); a failure here means the fd was not ours, which is a bug, not an operational error. */
    public static void close(int fd) {
        int r = closeRaw(fd);
        if (r != 0) {
            throw new IllegalStateException("close(" + fd + "): errno " + -r);
        }
    }

    /** setns(2) of the calling thread into the namespace behind {@code fd}. */
    public static void setns(int fd, int nstype, String what) {
        if (Jnr.C.setns(fd, nstype) != 0) {
            throw KernelException.of("enter network namespace", what, Jnr.errno());
        }
    }

    public static int geteuid() {
        try {
            return (int) Geteuid.H.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Whether {@code fd} is a terminal; System.console() answers for stdin and stdout, not for stderr. */
    public static boolean isatty(int fd) {
        try {
            return (int) Isatty.H.invokeExact(fd) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The ifindex of an interface in the calling thread's network namespace, or 0 when there is none. */
    public static int ifNameToIndex(String name) {
        try (Arena a = Arena.ofConfined()) {
            return (int) IfNameToIndex.H.invokeExact(a.allocateFrom(name));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The interfaces of the calling thread's network namespace (a netlink dump inside libc). */
    public static List<Interface> interfaces() {
        MemorySegment array;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            array = (MemorySegment) IfNameIndex.H.invokeExact(state);
            if (array.equals(MemorySegment.NULL)) {
                throw KernelException.of("list interfaces", "", errno(state));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        try {
            List<Interface> out = new ArrayList<>();
            // struct if_nameindex { unsigned int if_index; char *if_name; }: 16 bytes on LP64, ended by a zero
            // entry; read entry by entry, as the array's length is only known at its end
            for (long off = 0; ; off += 16) {
                MemorySegment entry = array.reinterpret(off + 16).asSlice(off);
                int index = entry.get(JAVA_INT, 0);
                MemorySegment name = entry.get(ADDRESS, 8);
                if (index == 0 && name.equals(MemorySegment.NULL)) {
                    return out;
                }
                out.add(new Interface(name.reinterpret(Long.MAX_VALUE).getString(0), index));
            }
        } finally {
            try {
                IfNameIndex.FREE.invokeExact(array);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** pidfd_open(2): a pidfd for {@code pid}. */
    public static int pidfdOpen(int pid) {
        long r = Jnr.C.syscall(SYS_PIDFD_OPEN, pid, 0, 0);
        if (r < 0) {
            throw KernelException.of("pidfd_open", "pid " + pid, Jnr.errno());
        }
        return (int) r;
    }

    /** pidfd_getfd(2): a duplicate, in this process, of file descriptor {@code targetFd} of the pidfd's process. */
    public static int pidfdGetfd(int pidfd, int targetFd) {
        long r = Jnr.C.syscall(SYS_PIDFD_GETFD, pidfd, targetFd, 0);
        if (r < 0) {
            throw KernelException.of("pidfd_getfd", "fd " + targetFd, Jnr.errno());
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
        if (Jnr.C.setsockopt(fd, level, option, new int[] {value}, 4) != 0) {
            throw KernelException.of(operation, what, Jnr.errno());
        }
    }

    /** getsockopt(2) of an option of at most 8 bytes, read as a little-endian integer. */
    static long getsockopt(int fd, int level, int option, String operation, String what) {
        long[] value = new long[1];
        int[] len = {8};
        if (Jnr.C.getsockopt(fd, level, option, value, len) != 0) {
            throw KernelException.of(operation, what, Jnr.errno());
        }
        return len[0] == 4 ? value[0] & 0xffffffffL : value[0];
    }

    static final int AF_NETLINK = 16;
    static final int SOCK_RAW = 3;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int NETLINK_ROUTE = 0;

    /** A route netlink socket of the calling thread's network namespace. */
    static int netlinkRoute() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            int fd = (int) Net.SOCKET.invokeExact(state, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            if (fd < 0) {
                throw KernelException.of("open netlink socket", "NETLINK_ROUTE", errno(state));
            }
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void send(int fd, byte[] message, String operation) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            MemorySegment m = a.allocate(message.length);
            MemorySegment.copy(message, 0, m, ValueLayout.JAVA_BYTE, 0, message.length);
            if ((long) Net.SEND.invokeExact(state, fd, m, (long) message.length, 0) != message.length) {
                throw KernelException.of(operation, "netlink", errno(state));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** One datagram into {@code buf}; its length. */
    static int recv(int fd, byte[] buf, String operation) {
        return recv(fd, buf, 0, operation);
    }

    /** One datagram into {@code buf}, with recv(2) flags (MSG_TRUNC: the datagram's length, also when longer). */
    static int recv(int fd, byte[] buf, int flags, String operation) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = a.allocate(STATE);
            MemorySegment m = a.allocate(buf.length);
            long n = (long) Net.RECV.invokeExact(state, fd, m, (long) buf.length, flags);
            if (n < 0) {
                throw KernelException.of(operation, "netlink", errno(state));
            }
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, 0, buf, 0, (int) Math.min(n, buf.length));
            return (int) n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
