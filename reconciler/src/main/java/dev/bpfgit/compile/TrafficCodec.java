package dev.bpfgit.compile;

import dev.bpfgit.kernel.Bytes;

import java.util.Map;

/** Reads rules_v4 / rules_v6 entries for plans: {@code "198.51.100.0/24"} → {@code "redirect eth1"}. */
final class TrafficCodec implements EntryCodec {
    private final Map<Integer, String> ifnames;

    /** @param ifnames ifindex to name on this host, to show redirect targets by name */
    TrafficCodec(Map<Integer, String> ifnames) {
        this.ifnames = Map.copyOf(ifnames);
    }

    @Override
    public String key(Bytes key) {
        return TrafficLayout.prefix(key).toString();
    }

    @Override
    public String value(Bytes value) {
        TrafficLayout.Rule r = TrafficLayout.rule(value);
        return switch (r.action()) {
            case PASS -> "pass";
            case DROP -> "drop";
            case REDIRECT -> "redirect " + ifnames.getOrDefault(r.ifindex(), "ifindex " + r.ifindex());
            case MARK -> "mark 0x" + Long.toHexString(r.mark());
        };
    }

    @Override
    public int specificity(Bytes key) {
        return TrafficLayout.prefix(key).length();
    }

    @Override
    public int owner(Bytes value) {
        return TrafficLayout.rule(value).policy();
    }
}
