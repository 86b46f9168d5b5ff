package dev.bpfgit.source;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Signed commits (design §6, {@code verify}): commits signed by {@code git} with SSH keys made by
 * ssh-keygen and with an OpenPGP key made by gpg, checked by {@link GitSource}.
 */
class GitVerifyIT {
    @TempDir
    Path tmp;
    private GitRepo repo;

    private GitRepo repo() {
        repo = new GitRepo(tmp.resolve("work"), tmp.resolve("home"));
        repo.write("a.yaml", "kind: TrafficPolicy\n");
        return repo;
    }

    @AfterEach
    void stopGpgAgent() {
        if (repo != null && Files.isDirectory(repo.home.resolve("gnupg"))) {
            GitRepo.run(tmp, repo.env(), List.of("gpgconf", "--kill", "gpg-agent"));
        }
    }

    private GitSource source(GitRepo r, GitSettings.Verify verify) {
        return new GitSource(new GitSettings(r.url(), "main", "", Duration.ofSeconds(1), Duration.ofSeconds(10),
                new GitSettings.Auth.None(), verify, tmp.resolve("cache")));
    }

    private Path sshKey(String name) {
        Path key = tmp.resolve("keys").resolve(name);
        GitRepo.run(tmp, Map.of(), List.of("mkdir", "-p", key.getParent().toString()));
        GitRepo.run(tmp, Map.of(), List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                key.toString()));
        return key;
    }

    private static String[] sshSigned(Path key) {
        return new String[]{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key, "-c", "commit.gpgsign=true"};
    }

    @Test
    void sshSignatures() throws IOException {
        GitRepo r = repo();
        Path trusted = sshKey("trusted");
        Path stranger = sshKey("stranger");
        Path allowed = tmp.resolve("allowed_signers");
        Files.writeString(allowed, "# the policy maintainers\nada@example.com namespaces=\"git\" "
                + Files.readString(Path.of(trusted + ".pub")));
        GitSettings.Verify verify = new GitSettings.Verify.AllowedSigners(allowed);

        String signed = r.commit("signed", sshSigned(trusted));
        try (GitSource s = source(r, verify)) {
            Snapshot snap = s.read(s.head());
            assertEquals(signed, snap.revision());
            String signer = snap.commit().orElseThrow().signer().orElseThrow();
            assertTrue(signer.startsWith("ada@example.com SHA256:"), signer);
        }

        String unsigned = r.commit("unsigned");
        try (GitSource s = source(r, verify)) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(unsigned, e.revision());
            assertEquals("not signed", e.reason());
            assertEquals("commit " + unsigned + " refused: not signed", e.getMessage());
        }

        String unknown = r.commit("by a stranger", sshSigned(stranger));
        String fingerprint = GitRepo.run(tmp, Map.of(), List.of("ssh-keygen", "-l", "-f", stranger + ".pub"))
                .split(" ")[1];
        try (GitSource s = source(r, verify)) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(unknown, e.revision());
            assertTrue(e.reason().startsWith("SSH signature by " + fingerprint + " not accepted by " + allowed),
                    e.reason());
        }

        // the same commit is accepted once the operator trusts the key, and anything goes with verify off
        Files.writeString(allowed, "bob@example.com " + Files.readString(Path.of(stranger + ".pub")),
                java.nio.file.StandardOpenOption.APPEND);
        try (GitSource s = source(r, verify)) {
            String signer = s.read(unknown).commit().orElseThrow().signer().orElseThrow();
            assertEquals("bob@example.com " + fingerprint, signer);
        }
        try (GitSource s = source(r, new GitSettings.Verify.Off())) {
            assertEquals(unknown, s.read(s.head()).revision());
        }
    }

    @Test
    void aKeyAllowedForAnotherNamespaceIsRefused() throws IOException {
        GitRepo r = repo();
        Path key = sshKey("files-only");
        Path allowed = tmp.resolve("allowed_signers");
        Files.writeString(allowed, "ada@example.com namespaces=\"file\" " + Files.readString(Path.of(key + ".pub")));
        String id = r.commit("signed for files", sshSigned(key));
        try (GitSource s = source(r, new GitSettings.Verify.AllowedSigners(allowed))) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(id, e.revision());
        }
    }

    @Test
    void openPgpSignatures() throws IOException {
        GitRepo r = repo();
        String trusted = gpgKey(r, "Ada Operator <ada@example.com>");
        String stranger = gpgKey(r, "Eve <eve@example.com>");
        Path keyFile = tmp.resolve("ada.asc");
        Files.writeString(keyFile, GitRepo.run(tmp, r.env(), List.of("gpg", "--batch", "--armor", "--export", trusted)));
        GitSettings.Verify verify = new GitSettings.Verify.OpenPgpKeys(List.of(keyFile));

        String signed = r.commit("signed with gpg", "-c", "gpg.format=openpgp", "-c", "user.signingkey=" + trusted,
                "-c", "commit.gpgsign=true");
        try (GitSource s = source(r, verify)) {
            Snapshot snap = s.read(s.head());
            assertEquals(signed, snap.revision());
            assertEquals("Ada Operator <ada@example.com> " + trusted, snap.commit().orElseThrow().signer().orElseThrow());
        }

        String unsigned = r.commit("unsigned");
        try (GitSource s = source(r, verify)) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(unsigned, e.revision());
            assertEquals("not signed", e.reason());
        }

        String unknown = r.commit("signed by eve", "-c", "gpg.format=openpgp", "-c", "user.signingkey=" + stranger,
                "-c", "commit.gpgsign=true");
        try (GitSource s = source(r, verify)) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(unknown, e.revision());
            assertEquals("signed by OpenPGP key " + stranger.substring(stranger.length() - 16)
                    + ", which verify.openpgpKeys does not list", e.reason());
        }

        // an SSH-signed commit is not trusted by OpenPGP keys
        Path ssh = sshKey("ssh");
        String other = r.commit("ssh-signed", sshSigned(ssh));
        try (GitSource s = source(r, verify)) {
            RefusedRevisionException e = assertThrows(RefusedRevisionException.class, () -> s.read(s.head()));
            assertEquals(other, e.revision());
            assertEquals("signed with SSH, but verify.openpgpKeys trusts OpenPGP signatures only", e.reason());
        }
    }

    /** A passphrase-less signing key in the test's own GNUPGHOME; returns its fingerprint. */
    private String gpgKey(GitRepo r, String uid) throws IOException {
        Path home = r.home.resolve("gnupg");
        Files.createDirectories(home);
        Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        GitRepo.run(tmp, r.env(), List.of("gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519",
                "sign", "never"));
        String colons = GitRepo.run(tmp, r.env(), List.of("gpg", "--batch", "--with-colons", "--list-keys", uid));
        return colons.lines().filter(l -> l.startsWith("fpr:")).findFirst().orElseThrow().split(":")[9];
    }
}
