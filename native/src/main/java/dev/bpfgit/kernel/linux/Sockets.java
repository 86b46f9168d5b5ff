package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.SocketProtocol;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Other processes' sockets: found through /proc (which shows the process's own network namespace, so the
 * caller need not enter it), duplicated with pidfd_getfd, put into SOCKMAPs and given an sk_reuseport
 * program with setsockopt.
 */
final class Sockets {
    private static final String TCP_LISTEN = "0A";
    private static final String TCP_CLOSE = "07";   // what /proc shows for a bound, unconnected UDP socket
    private static final int ESRCH = 3;

    private Sockets() {
    }

    static int readPidFile(Path pidFile) {
        String text;
        try {
            text = Files.readString(pidFile).strip();
        } catch (IOException e) {
            throw Failures.io("read pid file", pidFile, e);
        }
        try {
            int pid = Integer.parseInt(text);
            if (pid > 0) {
                return pid;
            }
        } catch (NumberFormatException e) {
            // reported below with the text
        }
        throw Failures.of("read pid file", pidFile, Failures.EINVAL,
                "it holds " + (text.isEmpty() ? "nothing" : "'" + abbreviate(text) + "'") + ", not a pid");
    }

    static List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address) {
        return listeners(pid, protocol, port, address, Optional.empty());
    }

    /**
     * The process's sockets among those bound in {@code netns} (its own namespace when empty): the socket
     * table of the namespace names the inodes, the process's fds say which of them it holds.
     */
    static List<Listener> listeners(int pid, SocketProtocol protocol, int port, Optional<InetAddress> address,
                                    Optional<Path> netns) {
        String what = protocol.name().toLowerCase() + " " + address.map(InetAddress::getHostAddress).orElse("*")
                + ":" + port + netns.map(n -> " in netns " + n).orElse("") + " of pid " + pid;
        Path proc = Path.of("/proc", Integer.toString(pid));
        if (!Files.isDirectory(proc)) {
            throw Failures.of("find sockets", what, Failures.ENOENT, "no process " + pid);
        }
        Map<Long, InetSocketAddress> inodes = bound(tables(protocol, netns.isPresent() ? netns : Optional.of(proc),
                what), protocol, port, address);
        if (inodes.isEmpty()) {
            throw Failures.of("find sockets", what, Failures.ENOENT,
                    (netns.isPresent() ? "netns " + netns.get() : "process " + pid) + " has no "
                            + (protocol == SocketProtocol.TCP ? "listening TCP" : "bound UDP")
                            + " socket on that address and port");
        }
        Map<Long, Integer> lowestFd = new HashMap<>();
        boolean alive;
        try {
            alive = fds(proc, inodes, (inode, fd) -> lowestFd.merge(inode, fd, Math::min));
        } catch (java.nio.file.AccessDeniedException e) {
            // /proc/PID/fd needs ptrace read access: a process whose capabilities bpfgit's lack refuses it
            throw Failures.of("list the file descriptors of", proc.resolve("fd"), 13,
                    "bpfgit needs CAP_SYS_PTRACE to see another process's sockets");
        }
        if (!alive) {
            throw Failures.of("find sockets", what, Failures.ENOENT, "no process " + pid);
        }
        List<Listener> out = new ArrayList<>();
        lowestFd.forEach((inode, fd) -> out.add(new Listener(pid, fd, inode, protocol, inodes.get(inode))));
        if (out.isEmpty()) {
            // sockets on the port exist in that namespace but belong to other processes
            throw Failures.of("find sockets", what, Failures.ENOENT,
                    "process " + pid + " holds none of the sockets bound there");
        }
        out.sort(Comparator.comparingInt(Listener::fd));
        return out;
    }

    /**
     * Every socket bound at the port in {@code netns} (this process's namespace when empty), each with the
     * lowest pid and fd that hold it; sockets no process holds (being closed) are left out.
     */
    static List<Listener> bound(SocketProtocol protocol, int port, Optional<InetAddress> address, Optional<Path> netns) {
        String what = protocol.name().toLowerCase() + " " + address.map(InetAddress::getHostAddress).orElse("*")
                + ":" + port + netns.map(n -> " in netns " + n).orElse("");
        Map<Long, InetSocketAddress> inodes = bound(tables(protocol, netns.isPresent() ? netns
                : Optional.of(Path.of("/proc/self")), what), protocol, port, address);
        Map<Long, Listener> holders = new TreeMap<>();
        if (!inodes.isEmpty()) {
            try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                for (Path proc : procs) {
                    int pid = Integer.parseInt(proc.getFileName().toString());
                    try {
                        fds(proc, inodes, (inode, fd) -> holders.merge(inode, new Listener(pid, fd, inode, protocol,
                                inodes.get(inode)), (a, b) -> a.pid() < b.pid() || a.pid() == b.pid() && a.fd() < b.fd()
                                ? a : b));
                    } catch (java.nio.file.AccessDeniedException e) {
                        // not ours to look at; another holder of the socket may be
                    }
                }
            } catch (IOException e) {
                throw Failures.io("list processes for", Path.of("/proc"), e);
            }
        }
        return List.copyOf(holders.values());
    }

    /**
     * The lines of the protocol's IPv4 and IPv6 socket tables: of {@code /proc/PID/net} when {@code where} is a
     * /proc directory, else of the network namespace file it names (read by a thread that enters it).
     */
    private static List<String> tables(SocketProtocol protocol, Optional<Path> where, String what) {
        String base = protocol == SocketProtocol.TCP ? "tcp" : "udp";
        Path at = where.orElseThrow();
        Path nsPath = at;
        if (at.equals(Path.of("/proc/self/ns/net"))) {
            at = Path.of("/proc/self");   // this process's own namespace: no thread needs to enter it
        }
        if (at.startsWith("/proc") && !at.toString().contains("/ns/")) {
            List<String> out = new ArrayList<>(lines(at.resolve("net").resolve(base), what));
            out.addAll(lines(at.resolve("net").resolve(base + "6"), what));
            return out;
        }
        java.util.concurrent.Callable<List<String>> read = () -> Netns.call(nsPath, () -> {
            Path net = Path.of("/proc/thread-self/net");
            List<String> out = new ArrayList<>(lines(net.resolve(base), what));
            out.addAll(lines(net.resolve(base + "6"), what));
            return out;
        });
        if (!Files.exists(nsPath)) {
            throw Failures.of("find sockets", what, Failures.ENOENT, "no network namespace " + nsPath);
        }
        try {
            if (!Thread.currentThread().isVirtual()) {
                return read.call();
            }
            // setns(2) moves a carrier thread: a platform thread of its own enters the namespace
            java.util.concurrent.FutureTask<List<String>> task = new java.util.concurrent.FutureTask<>(read);
            Thread.ofPlatform().name("bpfgit-netns-read").start(task).join();
            return task.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted reading sockets " + what, e);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Inode to bound address of the table's TCP listeners or bound unconnected UDP sockets at the port. */
    private static Map<Long, InetSocketAddress> bound(List<String> table, SocketProtocol protocol, int port,
                                                      Optional<InetAddress> address) {
        Map<Long, InetSocketAddress> inodes = new HashMap<>();
        for (String line : table) {
            String[] f = line.strip().split("\\s+");
            if (f.length < 10 || !f[0].endsWith(":")) {
                continue;   // the header
            }
            String state = f[3];
            boolean bound = protocol == SocketProtocol.TCP ? state.equals(TCP_LISTEN)
                    : state.equals(TCP_CLOSE) && f[2].endsWith(":0000");
            if (!bound) {
                continue;
            }
            InetSocketAddress local = address(f[1]);
            if (local.getPort() != port || address.isPresent() && !address.get().equals(local.getAddress())) {
                continue;
            }
            long inode = Long.parseLong(f[9]);
            if (inode != 0) {
                inodes.put(inode, local);
            }
        }
        return inodes;
    }

    private interface Found {
        void at(long inode, int fd);
    }

    /** Calls {@code found} for each fd of the process that is one of {@code inodes}; false when it is gone. */
    private static boolean fds(Path proc, Map<Long, ?> inodes, Found found) throws java.nio.file.AccessDeniedException {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (java.nio.file.AccessDeniedException e) {
                    throw e;    // the links need ptrace read access, the directory may not
                } catch (IOException e) {
                    continue;   // closed while we looked
                }
                if (target.startsWith("socket:[")) {
                    long inode = Long.parseLong(target.substring(8, target.length() - 1));
                    if (inodes.containsKey(inode)) {
                        found.at(inode, Integer.parseInt(fd.getFileName().toString()));
                    }
                }
            }
            return true;
        } catch (NoSuchFileException e) {
            return false;   // the process ended
        } catch (java.nio.file.AccessDeniedException e) {
            throw e;
        } catch (IOException e) {
            throw Failures.io("list file descriptors of", proc.resolve("fd"), e);
        }
    }

    private static List<String> lines(Path file, String what) {
        try {
            return Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            return List.of();   // no IPv6 in that kernel or namespace, or the process ended
        } catch (IOException e) {
            throw Failures.io("find sockets " + what + " in", file, e);
        }
    }

    /** {@code 0100007F:1F90} or the 32-digit IPv6 form: 32-bit words in host (little-endian) order. */
    static InetSocketAddress address(String hex) {
        int colon = hex.indexOf(':');
        byte[] words = HexFormat.of().parseHex(hex.substring(0, colon));
        byte[] addr = new byte[words.length];
        for (int w = 0; w < words.length; w += 4) {
            for (int b = 0; b < 4; b++) {
                addr[w + b] = words[w + 3 - b];
            }
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), Integer.parseInt(hex.substring(colon + 1), 16));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("address " + hex, e);   // unreachable: 4 or 16 bytes
        }
    }

    static AdoptedSocket adopt(Listener l) {
        String what = l.label();
        int dup;
        try (Fd pidfd = Fd.own(Libc.pidfdOpen(l.pid()))) {
            try {
                dup = Libc.pidfdGetfd(pidfd.value(), l.fd());
            } catch (KernelException.PermissionDenied e) {
                throw new KernelException.PermissionDenied("take a duplicate of socket (pidfd_getfd)", what, e.errno(),
                        "bpfgit needs CAP_SYS_PTRACE to take another process's sockets");
            }
        } catch (KernelException e) {
            if (e.errno().value() == ESRCH || e.errno().value() == Failures.EBADF) {
                throw Failures.of("take a duplicate of socket (pidfd_getfd)", what, Failures.ENOENT,
                        e.errno().value() == ESRCH ? "the process is gone" : "the process closed that fd");
            }
            throw e;
        }
        Fd fd = Fd.own(dup);
        try {
            String target = readlink(Path.of("/proc/self/fd/" + dup));
            if (!target.equals("socket:[" + l.inode() + "]")) {
                throw Failures.of("take a duplicate of socket", what, Failures.ENOENT,
                        "the fd is now " + target + ": the process closed or replaced the socket");
            }
            long reuse = Libc.getsockopt(dup, Libc.SOL_SOCKET, Libc.SO_REUSEPORT, "read SO_REUSEPORT of socket", what);
            if (reuse == 0) {
                throw Failures.of("adopt socket", what, Failures.EINVAL,
                        "the socket was bound without SO_REUSEPORT: the server must set it before bind()");
            }
            long cookie = Libc.getsockopt(dup, Libc.SOL_SOCKET, Libc.SO_COOKIE, "read SO_COOKIE of socket", what);
            return new Adopted(l, fd, cookie);
        } catch (RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    private static String readlink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (IOException e) {
            throw Failures.io("read link", p, e);
        }
    }

    /** The duplicate fd, owned here. */
    static final class Adopted implements AdoptedSocket {
        private final Listener listener;
        private final Fd fd;
        private final long cookie;

        Adopted(Listener listener, Fd fd, long cookie) {
            this.listener = listener;
            this.fd = fd;
            this.cookie = cookie;
        }

        @Override
        public Listener listener() {
            return listener;
        }

        @Override
        public long cookie() {
            return cookie;
        }

        int fd() {
            return fd.value();
        }

        @Override
        public void close() {
            fd.close();
        }

        @Override
        public String toString() {
            return listener.label() + " cookie " + cookie;
        }
    }

    private static Adopted own(AdoptedSocket s) {
        if (s instanceof Adopted a) {
            return a;
        }
        throw new IllegalArgumentException("not a socket adopted by LinuxKernel: " + s);
    }

    static void put(Path sockmap, int key, AdoptedSocket socket) {
        Adopted a = own(socket);
        try (Fd map = Pins.open(sockmap, PinType.MAP, "open map");
             Arena arena = Arena.ofConfined()) {
            MapInfo info = Info.map(map.value(), sockmap);
            MemorySegment k = arena.allocate(JAVA_INT);
            k.set(JAVA_INT, 0, key);
            MemorySegment v = arena.allocate(8, 8);
            // value_size 8: the kernel reads a u64 fd (and answers lookups with the cookie); 4: a u32 fd
            if (info.valueSize() == 8) {
                v.set(JAVA_LONG, 0, a.fd());
            } else {
                v.set(JAVA_INT, 0, a.fd());
            }
            int r = Libbpf.mapUpdate(map.value(), k, v, 0);
            if (r < 0) {
                throw Failures.of("put socket into map", sockmap, -r, "key " + key + ": " + a.listener().label()
                        + (-r == Failures.EBUSY ? " (a socket in a REUSEPORT_SOCKARRAY cannot also be in a SOCKMAP)" : ""));
            }
        }
    }

    static SortedMap<Integer, Long> sockets(Path sockmap) {
        try (Fd map = Pins.open(sockmap, PinType.MAP, "open map");
             Arena arena = Arena.ofConfined()) {
            MapInfo info = Info.map(map.value(), sockmap);
            MemorySegment k = arena.allocate(JAVA_INT);
            MemorySegment v = arena.allocate(Math.max(8, info.valueSize()), 8);
            SortedMap<Integer, Long> out = new TreeMap<>();
            // a SOCKMAP is an array: every key below max_entries exists, an empty slot answers ENOENT
            for (int key = 0; key < info.maxEntries(); key++) {
                k.set(JAVA_INT, 0, key);
                int r = Libbpf.mapLookup(map.value(), k, v);
                if (r == -Failures.ENOENT) {
                    continue;
                }
                Failures.check(r, "look up socket " + key + " in map", sockmap);
                out.put(key, info.valueSize() == 8 ? v.get(JAVA_LONG, 0) : v.get(JAVA_INT, 0) & 0xffffffffL);
            }
            return out;
        }
    }

    static void attach(Path progPin, AdoptedSocket socket) {
        Adopted a = own(socket);
        try (Fd prog = Pins.open(progPin, PinType.PROG, "open program")) {
            Libc.setsockopt(a.fd(), Libc.SOL_SOCKET, Libc.SO_ATTACH_REUSEPORT_EBPF, prog.value(),
                    "attach " + progPin + " to the reuseport group of (SO_ATTACH_REUSEPORT_EBPF)", a.listener().label());
        }
    }

    static void detach(AdoptedSocket socket) {
        Adopted a = own(socket);
        Libc.setsockopt(a.fd(), Libc.SOL_SOCKET, Libc.SO_DETACH_REUSEPORT_BPF, 0,
                "detach the program of the reuseport group of (SO_DETACH_REUSEPORT_BPF)", a.listener().label());
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }
}
