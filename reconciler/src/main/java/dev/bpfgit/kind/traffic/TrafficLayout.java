package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;

/**
 * The byte layouts of bpf/include/traffic.h. Keys: {@code struct lpm_v4 {u32 prefixlen; u8 addr[4]}} and
 * {@code lpm_v6} with 16 address bytes; value {@code struct rule {u32 slot, gen, policy, ifindex, mark;
 * u8 action; u8 pad[3]}}; per-CPU {@code struct counter {u64 packets, bytes; u32 gen, pad}};
 * {@code struct config {u32 default_action, match}}.
 */
public final class TrafficLayout {
    public static final int RULE_SIZE = 24;
    public static final int COUNTER_SIZE = 24;
    public static final int CONFIG_SIZE = 8;
    public static final int SLOT_OFFSET = 0;
    static final int POLICY = 8;
    static final int IFINDEX = 12;
    static final int MARK = 16;
    static final int ACTION = 20;

    private TrafficLayout() {
    }

    public static Bytes key(Prefix p) {
        return dev.bpfgit.kind.LpmMaps.key(p);
    }

    /** {@link #key}'s bytes written at {@code at} of {@code out}, without an object per key. */
    static void key(Prefix p, byte[] out, int at) {
        Le.putU32(out, at, p.length());
        p.writeAddress(out, at + 4);
    }

    public static Prefix prefix(Bytes key) {
        return dev.bpfgit.kind.LpmMaps.prefix(key);
    }

    public static Bytes rule(int policy, Action action, int ifindex, long mark) {
        byte[] v = new byte[RULE_SIZE];
        Le.putU32(v, POLICY, policy & 0xffffffffL);
        Le.putU32(v, IFINDEX, ifindex);
        Le.putU32(v, MARK, mark);
        v[ACTION] = (byte) action.ordinal();
        return Bytes.wrap(v);
    }

    public record Rule(long slot, long gen, int policy, int ifindex, long mark, Action action) {
    }

    private static final Action[] ACTIONS = Action.values();

    /** The action of a rule's action byte ({@code value[ACTION] & 0xff}); a code no action has reads as pass. */
    static Action action(int code) {
        return code < ACTIONS.length ? ACTIONS[code] : Action.PASS;
    }

    public static Rule rule(Bytes value) {
        byte[] v = value.toArray();
        return new Rule(Le.u32(v, 0), Le.u32(v, 4), (int) Le.u32(v, POLICY), (int) Le.u32(v, IFINDEX),
                Le.u32(v, MARK), action(v[ACTION] & 0xff));
    }

    /**
     * {@code rule(value).policy()} read in place: the plan asks it of every changed entry twice (its owner), and
     * {@link #rule(Bytes)} copies the value and the actions and makes a record for it. A value too short for a
     * rule fails as {@link #rule(Bytes)} fails.
     */
    public static int policy(Bytes value) {
        if (value.size() <= ACTION) {
            return rule(value).policy();
        }
        return (int) Le.u32(value, POLICY);
    }

    public static Bytes config(boolean defaultDrop, boolean matchDestination) {
        byte[] v = new byte[CONFIG_SIZE];
        Le.putU32(v, 0, defaultDrop ? Action.DROP.ordinal() : Action.PASS.ordinal());
        Le.putU32(v, 4, matchDestination ? 1 : 0);
        return Bytes.wrap(v);
    }
}
