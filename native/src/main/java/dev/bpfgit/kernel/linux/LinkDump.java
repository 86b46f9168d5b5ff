package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.Interface;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The interfaces of the calling thread's network namespace from an RTM_GETLINK dump without statistics.
 * glibc's if_nameindex makes the same dump with every interface's statistics and keeps only the names: observe
 * lists the interfaces on every reconcile.
 */
final class LinkDump {
    private static final int RTM_NEWLINK = 16;
    private static final int RTM_GETLINK = 18;
    private static final int NLMSG_ERROR = 2;
    private static final int NLMSG_DONE = 3;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_DUMP = 0x300;
    private static final int NLMSG_HDR = 16;
    private static final int IFINFOMSG = 16;
    private static final int IFLA_IFNAME = 3;
    private static final int IFLA_EXT_MASK = 29;
    private static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;
    private static final int MSG_TRUNC = 0x20;
    private static final int BUFFER = 64 * 1024;

    private LinkDump() {
    }

    /** Name and ifindex of every interface, in the kernel's dump order. */
    static List<Interface> interfaces() {
        ByteBuffer req = ByteBuffer.allocate(NLMSG_HDR + IFINFOMSG + 8).order(ByteOrder.nativeOrder());
        req.putInt(req.capacity()).putShort((short) RTM_GETLINK).putShort((short) (NLM_F_REQUEST | NLM_F_DUMP))
                .putInt(1).putInt(0);
        req.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(0).putInt(0).putInt(0);
        req.putShort((short) 8).putShort((short) IFLA_EXT_MASK).putInt(RTEXT_FILTER_SKIP_STATS);
        List<Interface> out = new ArrayList<>();
        byte[] buf = new byte[BUFFER];
        try (Fd sock = Fd.own(Libc.netlinkRoute())) {
            Libc.send(sock.value(), req.array(), "list interfaces");
            while (true) {
                int n = Libc.recv(sock.value(), buf, MSG_TRUNC, "list interfaces");
                if (n > buf.length) {
                    throw Failures.of("list interfaces", "netlink", Failures.EIO,
                            "netlink reply of " + n + " bytes truncated");
                }
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n).order(ByteOrder.nativeOrder());
                for (int off = 0; off + NLMSG_HDR <= n; ) {
                    int len = b.getInt(off);
                    int type = Short.toUnsignedInt(b.getShort(off + 4));
                    if (len < NLMSG_HDR || off + len > n) {
                        throw Failures.of("list interfaces", "netlink", Failures.EIO, "malformed netlink reply");
                    }
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        throw Failures.of("list interfaces", "netlink", -b.getInt(off + NLMSG_HDR), null);
                    }
                    if (type == RTM_NEWLINK && len >= NLMSG_HDR + IFINFOMSG) {
                        int ifindex = b.getInt(off + NLMSG_HDR + 4);
                        String name = name(b, off + NLMSG_HDR + IFINFOMSG, off + len);
                        if (name != null) {
                            out.add(new Interface(name, ifindex));
                        }
                    }
                    off += align(len);
                }
            }
        }
    }

    private static String name(ByteBuffer b, int from, int end) {
        for (int a = from; a + 4 <= end; ) {
            int alen = Short.toUnsignedInt(b.getShort(a));
            int atype = b.getShort(a + 2) & 0x3fff;
            if (alen < 4 || a + alen > end) {
                return null;
            }
            if (atype == IFLA_IFNAME) {
                int n = 0;
                while (n < alen - 4 && b.get(a + 4 + n) != 0) {
                    n++;
                }
                return new String(b.array(), b.arrayOffset() + a + 4, n, StandardCharsets.UTF_8);
            }
            a += align(alen);
        }
        return null;
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }
}
