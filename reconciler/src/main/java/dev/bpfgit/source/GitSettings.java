package dev.bpfgit.source;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code source.git} of {@code bpfgit.yaml} (design §6): which branch of which repository to follow, how to
 * reach it and which signatures to trust. File paths are already resolved against the config file.
 *
 * @param path     the directory inside the repository holding the policies, {@code ""} for its root
 * @param interval how often the remote head is checked
 * @param timeout  for each network operation (ls-remote, fetch)
 * @param cache    the directory under which the local clones live
 */
public record GitSettings(String url, String branch, String path, Duration interval, Duration timeout, Auth auth,
                          Verify verify, Path cache) {

    public static final String DEFAULT_BRANCH = "main";
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(20);
    public static final Path DEFAULT_CACHE = Path.of("/var/lib/bpfgit/git");

    /** @throws IllegalArgumentException for a branch git would not accept or a path leaving the repository */
    public GitSettings {
        JGitProcess.configure();
        if (!org.eclipse.jgit.lib.Repository.isValidRefName("refs/heads/" + branch)) {
            throw new IllegalArgumentException("'" + branch + "' is not a branch name");
        }
        String p = Path.of("/" + path).normalize().toString().substring(1);
        if (p.startsWith("..") || Path.of(path).normalize().startsWith("..")) {
            throw new IllegalArgumentException("path " + path + " leaves the repository");
        }
        path = p;
    }

    /** How to authenticate to the remote. */
    public sealed interface Auth {
        /** Anonymous: {@code file://}, {@code git://}, public https. */
        record None() implements Auth {
        }

        /** ssh:// with this private key; the server's key must be listed in {@code knownHosts}. */
        record SshKey(Path key, Path knownHosts) implements Auth {
        }

        /** https:// with the token in this file (read at each connection, so it can be rotated). */
        record Token(Path tokenFile) implements Auth {
        }
    }

    /** Which commit signatures are trusted; {@link Off} accepts any commit. */
    public sealed interface Verify {
        record Off() implements Verify {
        }

        /** SSH signatures ({@code gpg.format ssh}) by a key in git's allowed-signers file. */
        record AllowedSigners(Path file) implements Verify {
        }

        /** OpenPGP signatures by one of these armored public keys. */
        record OpenPgpKeys(List<Path> files) implements Verify {
            public OpenPgpKeys {
                files = List.copyOf(files);
            }
        }
    }
}
