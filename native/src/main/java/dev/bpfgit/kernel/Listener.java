package dev.bpfgit.kernel;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A socket another process holds: a TCP listener, or a bound unconnected UDP socket.
 *
 * @param pid      the process that has it open
 * @param fd       its file descriptor number in that process (the lowest one, if it is open several times)
 * @param inode    the socket inode ({@code socket:[inode]}), which names it across processes
 * @param local    the bound address and port (a wildcard address for {@code 0.0.0.0} or {@code ::})
 */
public record Listener(int pid, int fd, long inode, SocketProtocol protocol, InetSocketAddress local) {
    public Listener {
        Objects.requireNonNull(protocol);
        Objects.requireNonNull(local);
    }

    /** e.g. {@code "tcp 127.0.0.1:8080 (pid 42, fd 3)"} or {@code "tcp [::1]:8080 (pid 42, fd 3)"}. */
    public String label() {
        String host = host(local.getAddress());
        return protocol.name().toLowerCase() + " " + (host.contains(":") ? "[" + host + "]" : host) + ":"
                + local.getPort() + " (pid " + pid + ", fd " + fd + ")";
    }

    /** An address as people write it: an IPv6 address with its longest run of zero groups as {@code ::}. */
    public static String host(java.net.InetAddress address) {
        String full = address.getHostAddress();
        if (!(address instanceof java.net.Inet6Address)) {
            return full;
        }
        int pct = full.indexOf('%');
        String scope = pct < 0 ? "" : full.substring(pct);
        String[] groups = (pct < 0 ? full : full.substring(0, pct)).split(":");
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < groups.length; ) {
            int j = i;
            while (j < groups.length && groups[j].equals("0")) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = Math.max(j, i + 1);
        }
        if (bestStart < 0) {
            return full;
        }
        String head = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
        String tail = String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
        return head + "::" + tail + scope;
    }
}
