package dev.bpfgit.source;

import org.apache.sshd.common.config.keys.KeyUtils;
import org.eclipse.jgit.internal.transport.sshd.OpenSshServerKeyDatabase;
import org.eclipse.jgit.transport.CredentialsProvider;
import org.eclipse.jgit.transport.sshd.ServerKeyDatabase;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.List;

/**
 * Strict host key checking against one known_hosts file: a server is accepted only when the file lists its
 * key for that host (and port). Unknown and changed keys alike are refused and nothing is ever added, whatever
 * {@code StrictHostKeyChecking} would say; JGit's OpenSSH-format reader does the matching (hashed names,
 * {@code [host]:port}, {@code @revoked}).
 */
final class KnownHostsOnly implements ServerKeyDatabase {
    private final OpenSshServerKeyDatabase file;

    KnownHostsOnly(Path knownHosts) {
        this.file = new OpenSshServerKeyDatabase(false, List.of(knownHosts));
    }

    @Override
    public List<PublicKey> lookup(String connectAddress, InetSocketAddress remoteAddress, Configuration config) {
        return file.lookup(connectAddress, remoteAddress, config);
    }

    @Override
    public boolean accept(String connectAddress, InetSocketAddress remoteAddress, PublicKey serverKey,
                          Configuration config, CredentialsProvider provider) {
        return lookup(connectAddress, remoteAddress, config).stream().anyMatch(k -> KeyUtils.compareKeys(k, serverKey));
    }
}
