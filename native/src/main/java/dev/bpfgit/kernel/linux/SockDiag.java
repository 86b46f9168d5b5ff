package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kernel.SocketProtocol;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NETLINK_SOCK_DIAG: a dump of a namespace's TCP and UDP sockets (what {@code ss} reads) and SOCK_DESTROY
 * (what {@code ss -K} sends; needs CONFIG_INET_DIAG_DESTROY and CAP_NET_ADMIN). A netlink socket acts in the
 * network namespace it was created in, so it is created inside the target namespace.
 */
final class SockDiag implements AutoCloseable {
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_SOCK_DIAG = 4;
    private static final int SOCK_DIAG_BY_FAMILY = 20;
    private static final int SOCK_DESTROY = 21;
    private static final int NLMSG_ERROR = 2;
    private static final int NLMSG_DONE = 3;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_ACK = 4;
    private static final int NLM_F_DUMP = 0x300;
    private static final int INET_DIAG_CGROUP_ID = 21;
    private static final int IPPROTO_TCP = 6;
    private static final int IPPROTO_UDP = 17;
    private static final int HEADER = 16;
    private static final int REQ = 56;          // struct inet_diag_req_v2
    private static final int MSG = 72;          // struct inet_diag_msg
    private static final int RECV_BUFFER = 1 << 20;
    /**
     * SOCK_DESTROY requests sent in one write. Each ack is an skb of its own (about 1 KiB of receive buffer
     * whatever its length): a batch must fit the receive buffer, or the kernel drops acks (ENOBUFS).
     */
    private static final int BATCH = 256;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVBUFFORCE = 33;
    private static final int RCVBUF = 4 << 20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SOCKET = libc("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SEND = libc("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = libc("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = libc("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private static MethodHandle libc(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), d, Linker.Option.captureCallState("errno"));
    }

    private final Fd fd;
    private final String where;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment state = arena.allocate(Libbpf.ERRNO_STATE);
    private final MemorySegment buffer = arena.allocate(RECV_BUFFER);
    private int seq;

    private SockDiag(Fd fd, String where) {
        this.fd = fd;
        this.where = where;
    }

    /** A sock_diag socket of the namespace at {@code netns}, or of the calling thread's. */
    static SockDiag open(Optional<Path> netns) {
        String where = netns.map(Path::toString).orElse("this network namespace");
        if (netns.isEmpty()) {
            return new SockDiag(Fd.own(socket(where)), where);
        }
        // the socket keeps the namespace it was created in; only its creation needs the thread there
        return new SockDiag(Fd.own(Iterators.inNetns(netns.get(), () -> socket(where))), where);
    }

    private static int socket(String where) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(Libbpf.ERRNO_STATE);
            int r = (int) SOCKET.invokeExact(st, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
            if (r < 0) {
                throw Failures.of("open sock_diag socket in", where, Libbpf.errno(st), null);
            }
            // room for a batch of acks; CAP_NET_ADMIN (which SOCK_DESTROY needs anyway) may exceed rmem_max
            MemorySegment size = a.allocateFrom(JAVA_INT, RCVBUF);
            int ignored = (int) SETSOCKOPT.invokeExact(st, r, SOL_SOCKET, SO_RCVBUFFORCE, size, 4);
            return r;
        } catch (Throwable t) {
            throw Libbpf.rethrow(t);
        }
    }

    /** Every TCP and UDP socket, IPv4 and IPv6, whose state is in {@code tcpStates} / {@code udpStates} (bit masks). */
    List<InetSocket> dump(int tcpStates, int udpStates) {
        List<InetSocket> out = new ArrayList<>();
        for (int family : new int[]{AF_INET, AF_INET6}) {
            if (tcpStates != 0) {
                dump(family, IPPROTO_TCP, tcpStates, out);
            }
            if (udpStates != 0) {
                dump(family, IPPROTO_UDP, udpStates, out);
            }
        }
        return out;
    }

    private void dump(int family, int protocol, int states, List<InetSocket> out) {
        ByteBuffer req = request(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, family, protocol, states);
        send(req, "dump sockets");
        int mySeq = seq;
        while (true) {
            int n = recv("dump sockets");
            ByteBuffer b = buffer.asSlice(0, n).asByteBuffer().order(ByteOrder.nativeOrder());
            int off = 0;
            while (off + HEADER <= n) {
                int len = b.getInt(off);
                int type = Short.toUnsignedInt(b.getShort(off + 4));
                if (len < HEADER || off + len > n) {
                    throw Failures.of("dump sockets in", where, Failures.EIO, "truncated netlink message");
                }
                if (b.getInt(off + 8) == mySeq) {
                    if (type == NLMSG_DONE) {
                        return;
                    }
                    if (type == NLMSG_ERROR) {
                        int err = -b.getInt(off + HEADER);
                        if (err != 0) {
                            throw Failures.of("dump sockets in", where, err, null);
                        }
                        return;
                    }
                    if (type == SOCK_DIAG_BY_FAMILY) {
                        out.add(parse(b, off + HEADER, off + len, protocol == IPPROTO_TCP ? SocketProtocol.TCP
                                : SocketProtocol.UDP));
                    }
                }
                off += align(len);
            }
        }
    }

    private static InetSocket parse(ByteBuffer b, int at, int end, SocketProtocol protocol) {
        int family = Byte.toUnsignedInt(b.get(at));
        int state = Byte.toUnsignedInt(b.get(at + 1));
        int id = at + 4;
        int sport = Short.toUnsignedInt(Short.reverseBytes(b.getShort(id)));
        int dport = Short.toUnsignedInt(Short.reverseBytes(b.getShort(id + 2)));
        InetAddress src = address(b, id + 4, family);
        InetAddress dst = address(b, id + 20, family);
        int ifindex = b.getInt(id + 36);
        long cookie = Integer.toUnsignedLong(b.getInt(id + 40)) | Integer.toUnsignedLong(b.getInt(id + 44)) << 32;
        long inode = Integer.toUnsignedLong(b.getInt(at + 68));
        long cgroup = 0;
        for (int a = at + MSG; a + 4 <= end; ) {
            int alen = Short.toUnsignedInt(b.getShort(a));
            int atype = Short.toUnsignedInt(b.getShort(a + 2)) & 0x3fff;
            if (alen < 4) {
                break;
            }
            if (atype == INET_DIAG_CGROUP_ID && alen >= 12) {
                cgroup = b.getLong(a + 4);
            }
            a += align(alen);
        }
        return new InetSocket(protocol, new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport), state,
                inode, cookie, cgroup, ifindex);
    }

    private static InetAddress address(ByteBuffer b, int at, int family) {
        byte[] a = new byte[family == AF_INET ? 4 : 16];
        b.get(at, a);
        try {
            return InetAddress.getByAddress(a);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only thrown for a wrong length
        }
    }

    /**
     * SOCK_DESTROY for each socket, sent in batches; the result per socket, in order: 0, or the errno (ENOENT
     * when it closed meanwhile).
     */
    int[] destroy(List<InetSocket> sockets) {
        int[] result = new int[sockets.size()];
        for (int from = 0; from < sockets.size(); from += BATCH) {
            int to = Math.min(sockets.size(), from + BATCH);
            ByteBuffer req = ByteBuffer.allocate((to - from) * (HEADER + REQ)).order(ByteOrder.nativeOrder());
            int firstSeq = seq + 1;
            for (int i = from; i < to; i++) {
                req.put(request(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, sockets.get(i)));
            }
            req.flip();
            send(req, "destroy sockets");
            int pending = to - from;
            while (pending > 0) {
                int n = recv("destroy sockets");
                ByteBuffer b = buffer.asSlice(0, n).asByteBuffer().order(ByteOrder.nativeOrder());
                for (int off = 0; off + HEADER <= n; ) {
                    int len = b.getInt(off);
                    if (len < HEADER) {
                        break;
                    }
                    int s = b.getInt(off + 8) - firstSeq;
                    if (Short.toUnsignedInt(b.getShort(off + 4)) == NLMSG_ERROR && s >= 0 && s < to - from) {
                        result[from + s] = -b.getInt(off + HEADER);
                        pending--;
                    }
                    off += align(len);
                }
            }
        }
        return result;
    }

    private ByteBuffer request(int type, int flags, int family, int protocol, int states) {
        ByteBuffer b = header(type, flags);
        b.put((byte) family).put((byte) protocol).put((byte) 0).put((byte) 0).putInt(states);
        b.put(new byte[48]);
        return b.flip();
    }

    private ByteBuffer request(int type, int flags, InetSocket s) {
        ByteBuffer b = header(type, flags);
        boolean v4 = s.local().getAddress().getAddress().length == 4;
        b.put((byte) (v4 ? AF_INET : AF_INET6)).put((byte) (s.protocol() == SocketProtocol.TCP ? IPPROTO_TCP : IPPROTO_UDP))
                .put((byte) 0).put((byte) 0).putInt(-1);
        b.putShort(Short.reverseBytes((short) s.local().getPort()));
        b.putShort(Short.reverseBytes((short) s.remote().getPort()));
        putAddress(b, s.local().getAddress());
        putAddress(b, s.remote().getAddress());
        b.putInt(s.ifindex());
        b.putInt((int) s.cookie()).putInt((int) (s.cookie() >>> 32));
        return b.flip();
    }

    private static void putAddress(ByteBuffer b, InetAddress a) {
        byte[] bytes = a.getAddress();
        b.put(bytes);
        b.put(new byte[16 - bytes.length]);
    }

    private ByteBuffer header(int type, int flags) {
        ByteBuffer b = ByteBuffer.allocate(HEADER + REQ).order(ByteOrder.nativeOrder());
        b.putInt(HEADER + REQ).putShort((short) type).putShort((short) flags).putInt(++seq).putInt(0);
        return b;
    }

    private void send(ByteBuffer data, String operation) {
        MemorySegment m = arena.allocate(data.remaining());
        MemorySegment.copy(data.array(), data.position(), m, JAVA_BYTE, 0, data.remaining());
        long r;
        try {
            r = (long) SEND.invokeExact(state, fd.value(), m, m.byteSize(), 0);
        } catch (Throwable t) {
            throw Libbpf.rethrow(t);
        }
        if (r < 0) {
            throw Failures.of(operation + " in", where, Libbpf.errno(state), null);
        }
    }

    private int recv(String operation) {
        while (true) {
            long r;
            try {
                r = (long) RECV.invokeExact(state, fd.value(), buffer, buffer.byteSize(), 0);
            } catch (Throwable t) {
                throw Libbpf.rethrow(t);
            }
            if (r >= 0) {
                return (int) r;
            }
            int errno = Libbpf.errno(state);
            if (errno != 4) { // EINTR
                throw Failures.of(operation + " in", where, errno, null);
            }
        }
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }

    @Override
    public void close() {
        try {
            fd.close();
        } finally {
            arena.close();
        }
    }
}
