package dev.bpfgit.kind.reuseport;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kind.reuseport.ReusePortSpec.Member;

import java.util.ArrayList;
import java.util.List;

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
