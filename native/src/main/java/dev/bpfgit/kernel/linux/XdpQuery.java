package dev.bpfgit.kernel.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The XDP programs of one interface, from an RTM_GETLINK request for that ifindex alone. libbpf's
 * bpf_xdp_query dumps every interface of the namespace with its statistics to pick one out: the largest
 * fixed cost of a warm 10k reconcile after the dump, and one that grows with the host's interface count.
 */
final class XdpQuery {
    private static final int RTM_NEWLINK = 16;
    private static final int RTM_GETLINK = 18;
    private static final int NLMSG_ERROR = 2;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLMSG_HDR = 16;
    private static final int IFINFOMSG = 16;
    private static final int IFLA_EXT_MASK = 29;
    private static final int IFLA_XDP = 43;
    private static final int IFLA_XDP_DRV_PROG_ID = 5;
    private static final int IFLA_XDP_SKB_PROG_ID = 6;
    private static final int IFLA_XDP_HW_PROG_ID = 7;
    private static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;
    private static final int MSG_TRUNC = 0x20;
    /** A link message without statistics is a few KiB; MSG_TRUNC tells a larger one rather than cutting it. */
    private static final int BUFFER = 32 * 1024;

    private XdpQuery() {
    }

    /**
     * The ids of the programs attached at the driver, generic (skb) and hardware hooks of {@code ifindex}, in
     * that order (libbpf's drv_prog_id, skb_prog_id, hw_prog_id); empty when none is or the interface is gone.
     */
    static Set<Integer> programIds(int ifindex, String what) {
        ByteBuffer req = ByteBuffer.allocate(NLMSG_HDR + IFINFOMSG + 8).order(ByteOrder.nativeOrder());
        req.putInt(req.capacity()).putShort((short) RTM_GETLINK).putShort((short) NLM_F_REQUEST).putInt(1).putInt(0);
        // ifinfomsg: family AF_UNSPEC, pad, type, ifindex, flags, change
        req.put((byte) 0).put((byte) 0).putShort((short) 0).putInt(ifindex).putInt(0).putInt(0);
        req.putShort((short) 8).putShort((short) IFLA_EXT_MASK).putInt(RTEXT_FILTER_SKIP_STATS);
        byte[] buf = new byte[BUFFER];
        int n;
        try (Fd sock = Fd.own(Libc.netlinkRoute())) {
            Libc.send(sock.value(), req.array(), "query");
            n = Libc.recv(sock.value(), buf, MSG_TRUNC, "query");
        }
        if (n > buf.length) {
            throw Failures.of("query", what, Failures.EIO, "netlink reply of " + n + " bytes truncated");
        }
        return parse(ByteBuffer.wrap(buf, 0, n).order(ByteOrder.nativeOrder()), ifindex, what);
    }

    static Set<Integer> parse(ByteBuffer b, int ifindex, String what) {
        int n = b.limit();
        if (n < NLMSG_HDR) {
            throw Failures.of("query", what, Failures.EIO, "short netlink reply");
        }
        int len = b.getInt(0);
        int type = Short.toUnsignedInt(b.getShort(4));
        if (type == NLMSG_ERROR) {
            int err = -b.getInt(NLMSG_HDR);
            if (err == Failures.ENODEV) {
                return Set.of();   // gone since it was resolved: as libbpf's dump, nothing attached
            }
            throw Failures.of("query", what, err, null);
        }
        if (type != RTM_NEWLINK || len > n || len < NLMSG_HDR + IFINFOMSG || b.getInt(NLMSG_HDR + 4) != ifindex) {
            throw Failures.of("query", what, Failures.EIO, "unexpected netlink reply (type " + type + ")");
        }
        int[] ids = new int[3];   // drv, skb, hw
        for (int a = NLMSG_HDR + IFINFOMSG; a + 4 <= len; ) {
            int alen = Short.toUnsignedInt(b.getShort(a));
            int atype = b.getShort(a + 2) & 0x3fff;
            if (alen < 4 || a + alen > len) {
                break;
            }
            if (atype == IFLA_XDP) {
                for (int o = a + 4; o + 4 <= a + alen; ) {
                    int olen = Short.toUnsignedInt(b.getShort(o));
                    int otype = b.getShort(o + 2) & 0x3fff;
                    if (olen < 4 || o + olen > a + alen) {
                        break;
                    }
                    if (olen >= 8) {
                        switch (otype) {
                            case IFLA_XDP_DRV_PROG_ID -> ids[0] = b.getInt(o + 4);
                            case IFLA_XDP_SKB_PROG_ID -> ids[1] = b.getInt(o + 4);
                            case IFLA_XDP_HW_PROG_ID -> ids[2] = b.getInt(o + 4);
                            default -> {
                            }
                        }
                    }
                    o += align(olen);
                }
            }
            a += align(alen);
        }
        Set<Integer> out = new LinkedHashSet<>();
        for (int id : ids) {
            if (id != 0) {
                out.add(id);
            }
        }
        return out;
    }

    private static int align(int len) {
        return (len + 3) & ~3;
    }
}
