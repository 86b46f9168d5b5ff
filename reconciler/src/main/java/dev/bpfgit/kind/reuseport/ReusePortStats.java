package dev.bpfgit.kind.reuseport;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the runtimes of this process learnt, for the metrics: sockets adopted per member (counted over every
 * runtime, as a revision change makes a new one) and whether the last pass found the member degraded.
 */
final class ReusePortStats {
    record Key(String policy, String member) {
    }

    private final Map<Key, AtomicLong> adoptions = new ConcurrentHashMap<>();
    private final Map<Key, Boolean> degraded = new ConcurrentHashMap<>();

    void adopted(String policy, String member, int sockets) {
        adoptions.computeIfAbsent(new Key(policy, member), k -> new AtomicLong()).addAndGet(sockets);
    }

    void state(String policy, String member, boolean isDegraded) {
        degraded.put(new Key(policy, member), isDegraded);
    }

    long adoptions(String policy, String member) {
        AtomicLong n = adoptions.get(new Key(policy, member));
        return n == null ? 0 : n.get();
    }

    /** Null when no pass has looked at the member yet. */
    Boolean degraded(String policy, String member) {
        return degraded.get(new Key(policy, member));
    }
}
