package dev.bpfgit.source;

import dev.bpfgit.kernel.testing.KernelTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ssh:// through JGit's Apache MINA sshd transport, against an OpenSSH server the test starts on 127.0.0.1
 * with its own host key and one authorized key. Runs with the kernel tests because sshd needs root.
 */
@KernelTest
class GitSshIT {
    private static final Path PRIVSEP = Path.of("/run/sshd");
    @TempDir
    Path tmp;
    private Process sshd;
    private boolean madePrivsep;
    private int port;
    private GitRepo repo;
    private Path bare;
    private Path clientKey;
    private Path hostKey;

    @BeforeEach
    void startSshd() throws IOException {
        repo = new GitRepo(tmp.resolve("work"), tmp.resolve("home"));
        repo.write("policies/a.yaml", "kind: TrafficPolicy\n").commit("over ssh");
        bare = tmp.resolve("srv/policies.git");
        GitRepo.run(tmp, repo.env(), List.of("git", "clone", "-q", "--bare", repo.dir.toString(), bare.toString()));
        hostKey = keygen("host");
        clientKey = keygen("client");
        Files.copy(Path.of(clientKey + ".pub"), tmp.resolve("authorized_keys"));
        port = GitRepo.freePort();
        Path config = tmp.resolve("sshd_config");
        Files.writeString(config, String.join("\n",
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "PidFile " + tmp.resolve("sshd.pid"),
                "AuthorizedKeysFile " + tmp.resolve("authorized_keys"),
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "PermitRootLogin prohibit-password",
                "AllowUsers root",
                ""));
        if (!Files.isDirectory(PRIVSEP)) {
            Files.createDirectories(PRIVSEP);
            madePrivsep = true;
        }
        sshd = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString(), "-p", String.valueOf(port))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("sshd.log").toFile()).start();
        GitRepo.awaitListening(port, sshd);
    }

    @AfterEach
    void stopSshd() throws IOException {
        GitRepo.stop(sshd);
        if (madePrivsep) {
            Files.deleteIfExists(PRIVSEP);
        }
    }

    private Path keygen(String name) {
        Path key = tmp.resolve("keys/" + name);
        GitRepo.run(tmp, Map.of(), List.of("mkdir", "-p", key.getParent().toString()));
        GitRepo.run(tmp, Map.of(), List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                key.toString()));
        return key;
    }

    private GitSource source(Path knownHosts) {
        return new GitSource(new GitSettings("ssh://root@127.0.0.1:" + port + bare, "main", "policies",
                Duration.ofSeconds(1), Duration.ofSeconds(10), new GitSettings.Auth.SshKey(clientKey, knownHosts),
                new GitSettings.Verify.Off(), tmp.resolve("cache")));
    }

    private Path knownHosts(Path hostPublicKey) throws IOException {
        String[] pub = Files.readString(hostPublicKey).strip().split(" ");
        Path f = tmp.resolve("known_hosts-" + hostPublicKey.getFileName());
        Files.writeString(f, "[127.0.0.1]:" + port + " " + pub[0] + " " + pub[1] + "\n");
        return f;
    }

    @Test
    void aKnownHostIsReadWithTheKey() throws IOException {
        try (GitSource s = source(knownHosts(Path.of(hostKey + ".pub")))) {
            String head = s.head();
            assertEquals(repo.git("rev-parse", "main").strip(), head);
            Snapshot snap = s.read(head);
            assertEquals(head, snap.revision());
            assertEquals(Set.of("policies/a.yaml"), snap.files().keySet());
            assertEquals(1, s.fetches());
        }
    }

    @Test
    void anUnknownHostKeyIsRefused() throws IOException {
        Path otherHost = keygen("impostor");
        try (GitSource s = source(knownHosts(Path.of(otherHost + ".pub")))) {
            SourceException e = assertThrows(SourceException.class, s::head);
            assertTrue(e.getMessage().startsWith("git ls-remote ssh://root@127.0.0.1:" + port), e.getMessage());
        }
        Path empty = tmp.resolve("known_hosts-empty");
        Files.writeString(empty, "");
        try (GitSource s = source(empty)) {
            assertThrows(SourceException.class, s::head);
            assertEquals("", Files.readString(empty), "nothing is ever added to known_hosts");
        }
        assertTrue(Files.notExists(tmp.resolve("cache").resolve(".ssh-home/.ssh/known_hosts")));
    }
}
