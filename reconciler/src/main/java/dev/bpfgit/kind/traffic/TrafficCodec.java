package dev.bpfgit.kind.traffic;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kind.traffic.TrafficPolicySpec.Action;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/** Reads rules_v4 / rules_v6 entries for plans: {@code "198.51.100.0/24"} → {@code "redirect eth1"}. */
final class TrafficCodec implements EntryCodec {
    private final Map<Integer, String> ifnames;

    /** @param ifnames ifindex to name on this host, to show redirect targets by name */
    TrafficCodec(Map<Integer, String> ifnames) {
        this.ifnames = Map.copyOf(ifnames);
    }

    @Override
    public String key(Bytes key) {
        if (key.size() == 8) {
            int len = (int) Le.u32(key, 0);
            if (len >= 0 && len <= 32) {
                // Prefix.toString's text of an IPv4 key, read in place: the text plan asks it of every changed
                // entry, and a Prefix was a copy of the key and two of its address
                return new StringBuilder(18).append(key.get(4) & 0xff).append('.').append(key.get(5) & 0xff)
                        .append('.').append(key.get(6) & 0xff).append('.').append(key.get(7) & 0xff).append('/')
                        .append(len).toString();
            }
        }
        return TrafficLayout.prefix(key).toString();
    }

    /** An IPv4 key's text counted from its bytes ({@code a.b.c.d/n}); any other key's as {@link #key} makes it. */
    @Override
    public int keyLength(Bytes key) {
        if (key.size() == 8) {
            int len = (int) Le.u32(key, 0);
            if (len >= 0 && len <= 32) {
                return digits(key.get(4) & 0xff) + digits(key.get(5) & 0xff) + digits(key.get(6) & 0xff)
                        + digits(key.get(7) & 0xff) + digits(len) + 4;
            }
        }
        return key(key).length();
    }

    private static int digits(int v) {
        return v >= 100 ? 3 : v >= 10 ? 2 : 1;
    }

    @Override
    public String value(Bytes value) {
        if (value.size() <= TrafficLayout.ACTION) {
            TrafficLayout.Rule r = TrafficLayout.rule(value);   // too short for a rule: fails as rule fails
            return text(r.action(), r.ifindex(), r.mark());
        }
        // read in place: the text plan asks it of every changed entry (a changed one twice), and rule(value) was a
        // copy of the value, a Rule and two copies of Action.values()
        return text(TrafficLayout.action(value.get(TrafficLayout.ACTION) & 0xff),
                (int) Le.u32(value, TrafficLayout.IFINDEX), Le.u32(value, TrafficLayout.MARK));
    }

    private String text(Action action, int ifindex, long mark) {
        return switch (action) {
            case PASS -> "pass";
            case DROP -> "drop";
            case REDIRECT -> "redirect " + ifnames.getOrDefault(ifindex, "ifindex " + ifindex);
            case MARK -> "mark 0x" + Long.toHexString(mark);
        };
    }

    @Override
    public int specificity(Bytes key) {
        // the key's leading little-endian u32 prefix length, read in place: the diff asks once per changed entry,
        // and a Prefix is three copies of the key; a key that is no valid prefix fails as Prefix fails
        int n = key.size();
        if (n == 8 || n == 20) {
            int len = (int) Le.u32(key, 0);
            if (len >= 0 && len <= (n - 4) * 8) {
                return len;
            }
        }
        return TrafficLayout.prefix(key).length();
    }

    @Override
    public int specificity(SortedEntries entries, int i) {
        // as specificity(Bytes), without the key's copy (and its hash) that entries.key(i) makes
        int n = entries.keySize(i);
        if (n == 8 || n == 20) {
            long len = entries.keyU32(i, 0);
            if (len <= (n - 4) * 8) {
                return (int) len;
            }
        }
        return specificity(entries.key(i));
    }

    @Override
    public List<Bytes> containers(Bytes key, IntPredicate specificity) {
        // key: u32 prefixlen (little-endian), then the address bytes
        byte[] k = key.toArray();
        int len = (int) Le.u32(k, 0);
        List<Bytes> out = new ArrayList<>();
        for (int l = 0; l < len; l++) {
            if (!specificity.test(l)) {
                continue;
            }
            byte[] c = k.clone();
            Le.putU32(c, 0, l);
            for (int bit = l; bit < (c.length - 4) * 8; bit++) {
                c[4 + bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
            }
            out.add(Bytes.wrap(c));
        }
        return out;
    }

    @Override
    public int owner(Bytes value) {
        return TrafficLayout.policy(value);
    }

    @Override
    public int owner(SortedEntries entries, int i) {
        return entries.valueSize(i) > TrafficLayout.ACTION ? (int) entries.valueU32(i, TrafficLayout.POLICY)
                : owner(entries.value(i));
    }

    @Override
    public String value(SortedEntries entries, int i) {
        if (entries.valueSize(i) <= TrafficLayout.ACTION) {
            return value(entries.value(i));
        }
        return text(TrafficLayout.action(entries.valueByte(i, TrafficLayout.ACTION) & 0xff),
                (int) entries.valueU32(i, TrafficLayout.IFINDEX), entries.valueU32(i, TrafficLayout.MARK));
    }
}
