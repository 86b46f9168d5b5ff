package dev.bpfgit.kind.egress;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kind.LpmMaps;

import java.util.List;

/** The byte layouts of bpf/include/egresstimeout.h (little-endian, addresses in network order). */
final class EgressLayout {
    static final int MAX_POLICIES = 256;
    static final int TIMEOUTS_SIZE = 24;
    static final int CONFIG_SIZE = 8;
    static final int COUNTER_SIZE = 40;
    static final int SOCK_SIZE = 24;
    /** Prefixes per family and cgroup. */
    static final int MAX_PREFIXES = 16384;

    private EgressLayout() {
    }

    static Bytes timeouts(int policy, EgressSpec.Timeouts t) {
        byte[] b = new byte[TIMEOUTS_SIZE];
        Le.putU32(b, 0, policy);
        Le.putU32(b, 4, t.synMs());
        Le.putU32(b, 8, t.establishedMs());
        Le.putU32(b, 12, t.finMs());
        Le.putU32(b, 16, t.userMs());
        Le.putU32(b, 20, t.anyMs());
        return Bytes.wrap(b);
    }

    static Bytes config(long cgroupId) {
        byte[] b = new byte[CONFIG_SIZE];
        Le.putU32(b, 0, cgroupId & 0xffffffffL);
        Le.putU32(b, 4, cgroupId >>> 32);
        return Bytes.wrap(b);
    }

    static String describe(EgressSpec.Timeouts t) {
        return "syn " + EgressReader.human(t.synMs()) + ", established " + EgressReader.human(t.establishedMs())
                + ", fin " + EgressReader.human(t.finMs()) + ", user " + EgressReader.human(t.userMs())
                + ", any " + EgressReader.human(t.anyMs());
    }

    /** Plans show a destination entry as its prefix and timeouts, with the policy that set them. */
    static EntryCodec destinations(List<String> policies) {
        return new EntryCodec() {
            @Override
            public String key(Bytes key) {
                return LpmMaps.prefix(key).toString();
            }

            @Override
            public String value(Bytes value) {
                byte[] v = value.toArray();
                int policy = (int) Le.u32(v, 0);
                EgressSpec.Timeouts t = new EgressSpec.Timeouts(Le.u32(v, 4), Le.u32(v, 8), Le.u32(v, 12),
                        Le.u32(v, 16), Le.u32(v, 20));
                return describe(t) + policies.stream().filter(id -> PolicyIds.of(id) == policy).findFirst()
                        .map(id -> " (" + id + ")").orElse("");
            }

            @Override
            public int owner(Bytes value) {
                return (int) Le.u32(value.toArray(), 0);
            }

            @Override
            public int specificity(Bytes key) {
                return LpmMaps.prefix(key).length();
            }
        };
    }

    static final EntryCodec CONFIG = new EntryCodec() {
        @Override
        public String key(Bytes key) {
            return "config";
        }

        @Override
        public String value(Bytes value) {
            byte[] v = value.toArray();
            long id = Le.u32(v, 0) | (Le.u32(v, 4) << 32);
            return id == 0 ? "cgroup id unknown" : "cgroup id " + id;
        }
    };
}
