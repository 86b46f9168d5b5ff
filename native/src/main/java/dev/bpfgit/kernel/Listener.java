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

    /** e.g. {@code "tcp 127.0.0.1:8080 (pid 42, fd 3)"}. */
    public String label() {
        String host = local.getAddress().getHostAddress();
        return protocol.name().toLowerCase() + " " + (host.contains(":") ? "[" + host + "]" : host) + ":"
                + local.getPort() + " (pid " + pid + ", fd " + fd + ")";
    }
}
