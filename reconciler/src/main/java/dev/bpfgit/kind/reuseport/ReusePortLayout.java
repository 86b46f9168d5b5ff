package dev.bpfgit.kind.reuseport;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The byte layouts of bpf/include/reuseport.h (little-endian, no padding). */
final class ReusePortLayout {
    static final int MAX = ReusePortSpec.MAX_MEMBERS;
    /** {@code RP_SLOTS}: rp_sockets slots per member, filled round-robin with the member's listeners. */
    static final int SLOTS = 16;
    /** {@code RP_SOCKETS}: rp_sockets entries. */
    static final int SOCKETS = MAX * SLOTS;
    static final int CONFIG_SIZE = 176;
    static final int COUNTER_SIZE = 16;
    /** {@code RP_NO_MEMBER}: the counters of decisions left to the kernel. */
    static final int NO_MEMBER = MAX;

    private ReusePortLayout() {
    }

    static Bytes key(int index) {
        return Bytes.wrap(Le.u32(index));
    }

    /** The rp_sockets key of a member's slot. */
    static int slot(int member, int slot) {
        return member * SLOTS + slot;
    }

    /**
     * {@code struct rp_config}: member i's cumulative weight bound; a drained member adds 0 (an empty range).
     * Hot-standby ignores the weights but the datapath still reads drain.
     */
    static Bytes config(ReusePortSpec s) {
        byte[] b = new byte[CONFIG_SIZE];
        Le.putU32(b, 0, s.strategy() == ReusePortSpec.Strategy.WEIGHTED ? 1 : 0);
        Le.putU32(b, 4, s.members().size());
        long total = 0;
        for (Member m : s.members()) {
            total += m.drain() ? 0 : m.weight();
            Le.putU32(b, 16 + 4 * m.index(), total);
            b[16 + 4 * MAX + m.index()] = (byte) (m.drain() ? 1 : 0);
        }
        Le.putU32(b, 8, total);
        return Bytes.wrap(b);
    }

    /**
     * rp_members value: NUL-padded text, long enough for the longest path the schema allows plus a name. The
     * map is not the datapath's: it records in the kernel where the group's sockets are found, so a bpfgit
     * holding no policies (applying a saved plan, say) can keep the group.
     */
    static final int MEMBER_SIZE = 4096 + 64;
    /** rp_members key of the group's own entry. */
    static final int GROUP = MAX;

    /**
     * Key i: {@code <name> <pidFile|cgroup|command> <value>}; key {@link #GROUP}: {@code <policy name> <protocol>
     * <port> <address or *> <netns or ->}. Each value runs to the end, so spaces in it are kept.
     */
    static Map<Bytes, Bytes> members(String policyName, ReusePortSpec s) {
        Map<Bytes, Bytes> out = new TreeMap<>();
        out.put(key(GROUP), text(policyName + " " + s.protocol().name().toLowerCase() + " " + s.port() + " "
                + s.address().map(InetAddress::getHostAddress).orElse("*") + " " + s.netns().orElse("-")));
        for (Member m : s.members()) {
            String how = switch (m.process()) {
                case ReusePortSpec.PidFile f -> "pidFile " + f.path();
                case ReusePortSpec.Cgroup c -> "cgroup " + c.path();
                case ReusePortSpec.Command c -> "command " + c.regex().pattern();
            };
            out.put(key(m.index()), text(m.name() + " " + how));
        }
        return out;
    }

    /** What a group's rp_members entries say, as a spec the runtime can keep (strategy and weights aside). */
    record Recorded(String policyName, ReusePortSpec spec) {
    }

    static java.util.Optional<Recorded> recorded(Map<Long, String> entries) {
        String group = entries.get((long) GROUP);
        if (group == null) {
            return java.util.Optional.empty();
        }
        String[] g = group.split(" ", 5);
        if (g.length < 5) {
            return java.util.Optional.empty();
        }
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < MAX; i++) {
            String m = entries.get((long) i);
            if (m == null) {
                break;
            }
            String[] f = m.split(" ", 3);
            ReusePortSpec.Process how = switch (f[1]) {
                case "pidFile" -> new ReusePortSpec.PidFile(java.nio.file.Path.of(f[2]));
                case "cgroup" -> new ReusePortSpec.Cgroup(f[2]);
                default -> new ReusePortSpec.Command(java.util.regex.Pattern.compile(f[2]));
            };
            members.add(new Member(i, f[0], 1, false, how));
        }
        return java.util.Optional.of(new Recorded(g[0], new ReusePortSpec(Integer.parseInt(g[2]),
                g[3].equals("*") ? java.util.Optional.empty() : java.util.Optional.of(InetAddress.ofLiteral(g[3])),
                dev.bpfgit.kernel.SocketProtocol.valueOf(g[1].toUpperCase()),
                g[4].equals("-") ? java.util.Optional.empty() : java.util.Optional.of(g[4]),
                ReusePortSpec.Strategy.HOT_STANDBY, false, members)));
    }

    private static Bytes text(String s) {
        byte[] t = s.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[MEMBER_SIZE];
        System.arraycopy(t, 0, b, 0, Math.min(t.length, MEMBER_SIZE - 1));
        return Bytes.wrap(b);
    }

    static String text(Bytes value) {
        byte[] v = value.toArray();
        int n = 0;
        while (n < v.length && v[n] != 0) {
            n++;
        }
        return new String(v, 0, n, StandardCharsets.UTF_8);
    }

    /** Plans show a member entry as its index, name and how its process is found. */
    static final EntryCodec MEMBERS = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            long k = Le.u32(key.toArray(), 0);
            return k == GROUP ? "group" : "member " + k;
        }

        @Override
        public String value(Bytes value) {
            return text(value);
        }
    };

    /** Plans show the config entry as the strategy and each member's share. */
    static final EntryCodec CONFIG = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            return "config";
        }

        @Override
        public String value(Bytes value) {
            byte[] v = value.toArray();
            int n = (int) Le.u32(v, 4);
            List<String> members = new ArrayList<>();
            long previous = 0;
            for (int i = 0; i < n && i < MAX; i++) {
                long cum = Le.u32(v, 16 + 4 * i);
                members.add(i + (v[16 + 4 * MAX + i] != 0 ? " drain" : " weight " + (cum - previous)));
                previous = cum;
            }
            return (Le.u32(v, 0) == 1 ? "weighted" : "hot-standby") + ", members " + String.join("; ", members);
        }
    };
}
