package dev.bpfgit.kernel;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A TCP or UDP socket of a network namespace as sock_diag reports it.
 *
 * @param state  the kernel's socket state (TCP_ESTABLISHED = 1, ...; a connected UDP socket is 1 too)
 * @param inode  the socket inode ({@code socket:[inode]} in its owners' /proc/PID/fd), 0 for a socket no
 *               file refers to any more
 * @param cookie the socket cookie (SO_COOKIE), which SOCK_DESTROY checks so that a reused 4-tuple is safe
 * @param cgroup the cgroup v2 id of the socket (of the process that created it)
 * @param ifindex the bound device, 0 when none; part of the socket's id for SOCK_DESTROY
 */
public record InetSocket(SocketProtocol protocol, InetSocketAddress local, InetSocketAddress remote, int state,
                         long inode, long cookie, long cgroup, int ifindex) {
    public InetSocket {
        Objects.requireNonNull(protocol);
        Objects.requireNonNull(local);
        Objects.requireNonNull(remote);
    }

    /** e.g. {@code "tcp 10.0.0.1:40312 -> 10.96.0.10:53"}. */
    public String tuple() {
        return protocol.name().toLowerCase() + " " + show(local) + " -> " + show(remote);
    }

    static String show(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
