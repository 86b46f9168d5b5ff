package dev.bpfgit.kind.sockterm;

import dev.bpfgit.kernel.InetSocket;
import dev.bpfgit.kind.sockterm.SocketTerminationSpec.Destination;
import dev.bpfgit.kind.LpmMaps;
import dev.bpfgit.policy.Prefix;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.Set;

/**
 * The match of sockterm.bpf.c in Java, for the plan and the netlink path: the longest destination prefix
 * holding the remote address (a v4-mapped IPv6 address as IPv4) decides, then its ports; the protocol must be
 * one of the policy's and, with a cgroup, the socket's cgroup one of {@code cgroups}. The states are the
 * caller's: {@code Kernel.connectedSockets} returns only those the programs consider.
 */
final class SocketMatcher {
    private SocketMatcher() {
    }

    static boolean matches(SocketTerminationSpec s, InetSocket k, Set<Long> cgroups) {
        if (!s.protocols().contains(k.protocol())) {
            return false;
        }
        byte[] remote = unmapped(k.remote().getAddress());
        Destination best = null;
        for (Destination d : s.destinations()) {
            if (LpmMaps.contains(d.prefix(), remote) && (best == null || d.prefix().length() > best.prefix().length())) {
                best = d;
            }
        }
        if (best == null || !best.ports().isEmpty() && !best.ports().contains(k.remote().getPort())) {
            return false;
        }
        return s.cgroup().isEmpty() || cgroups.contains(k.cgroup());
    }

    static byte[] unmapped(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16 && Arrays.equals(b, 0, 12, new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff}, 0, 12)) {
            return Arrays.copyOfRange(b, 12, 16);
        }
        return b;
    }
}
