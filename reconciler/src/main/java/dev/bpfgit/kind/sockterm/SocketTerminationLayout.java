package dev.bpfgit.kind.sockterm;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Destination;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** The byte layouts of bpf/include/sockterm.h (little-endian, no padding; addresses in network order). */
final class SocketTerminationLayout {
    static final int DEST = 8;
    static final int PORT_KEY = 8;
    static final int CONFIG = 8;
    static final int RECORD = 56;
    static final int CNT_TCP = 0;
    static final int CNT_UDP = 1;
    static final int CNT_FAILED = 2;
    static final int CNT_SLOTS = 4;

    private SocketTerminationLayout() {
    }

    static Bytes dest(Destination d) {
        byte[] v = new byte[DEST];
        Le.putU32(v, 0, d.index());
        Le.putU32(v, 4, d.ports().isEmpty() ? 1 : 0);
        return Bytes.wrap(v);
    }

    static Bytes portKey(int index, int port) {
        byte[] k = new byte[PORT_KEY];
        Le.putU32(k, 0, index);
        k[4] = (byte) port;
        k[5] = (byte) (port >>> 8);
        return Bytes.wrap(k);
    }

    static Bytes config(SocketTerminationSpec s) {
        byte[] v = new byte[CONFIG];
        int protocols = (s.protocols().contains(SocketProtocol.TCP) ? 1 : 0)
                | (s.protocols().contains(SocketProtocol.UDP) ? 2 : 0);
        Le.putU32(v, 0, protocols);
        Le.putU32(v, 4, s.cgroup().isPresent() ? 1 : 0);
        return Bytes.wrap(v);
    }

    static Bytes u32(int i) {
        return Bytes.wrap(Le.u32(i));
    }

    static Bytes u64(long v) {
        byte[] b = new byte[8];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        return Bytes.wrap(b);
    }

    static long u64(Bytes b) {
        return ByteBuffer.wrap(b.toArray()).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** A socket the iterator acted on, and what bpf_sock_destroy returned. */
    record Terminated(InetSocket socket, int err) {
    }

    /** The iterator's records ({@code struct st_record}). */
    static List<Terminated> records(byte[] out) {
        List<Terminated> list = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + RECORD <= out.length; at += RECORD) {
            SocketProtocol protocol = (out[at] & 0xff) == 6 ? SocketProtocol.TCP : SocketProtocol.UDP;
            boolean v4 = (out[at + 1] & 0xff) == 2;
            int state = out[at + 2] & 0xff;
            int err = b.getInt(at + 4);
            int sport = Short.toUnsignedInt(b.getShort(at + 8));
            int dport = Short.toUnsignedInt(b.getShort(at + 10));
            InetAddress src = address(out, at + 16, v4);
            InetAddress dst = address(out, at + 32, v4);
            long cgroup = b.getLong(at + 48);
            list.add(new Terminated(new InetSocket(protocol, new InetSocketAddress(src, sport),
                    new InetSocketAddress(dst, dport), state, 0, 0, cgroup, 0), err));
        }
        return list;
    }

    private static InetAddress address(byte[] out, int at, boolean v4) {
        byte[] a = new byte[v4 ? 4 : 16];
        System.arraycopy(out, at, a, 0, a.length);
        try {
            return InetAddress.getByAddress(a);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static final EntryCodec DEST_CODEC = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            return LpmMaps.prefix(key).toString();
        }

        @Override
        public String value(Bytes value) {
            byte[] v = value.toArray();
            return "destination " + Le.u32(v, 0) + (Le.u32(v, 4) == 1 ? ", any port" : "");
        }
    };

    static final EntryCodec PORT_CODEC = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            byte[] k = key.toArray();
            return "destination " + Le.u32(k, 0) + " port " + ((k[4] & 0xff) | (k[5] & 0xff) << 8);
        }

        @Override
        public String value(Bytes value) {
            return "match";
        }
    };

    static final EntryCodec CONFIG_CODEC = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            return "config";
        }

        @Override
        public String value(Bytes value) {
            byte[] v = value.toArray();
            long p = Le.u32(v, 0);
            String protocols = ((p & 1) != 0 ? "tcp" : "") + ((p & 3) == 3 ? "+" : "") + ((p & 2) != 0 ? "udp" : "");
            return protocols + (Le.u32(v, 4) == 1 ? ", cgroup scope" : "");
        }
    };
}
