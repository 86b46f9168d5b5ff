package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link GitSource} against real repositories made with the git CLI, over file:// and a git daemon. */
class GitSourceIT {
    private static final String POLICY = "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\n";

    @TempDir
    Path tmp;

    private GitRepo repo() {
        GitRepo r = new GitRepo(tmp.resolve("work"), tmp.resolve("home"));
        r.write("hosts/edge/a.yaml", POLICY + "# a\n")
                .write("hosts/edge/sub/b.yml", POLICY + "# b\n")
                .write("hosts/edge/.hidden/c.yaml", POLICY)
                .write("hosts/edge/.d.yaml", POLICY)
                .write("hosts/edge/notes.txt", "not a policy")
                .write("hosts/core/d.yaml", POLICY);
        r.commit("first policies");
        return r;
    }

    private GitSettings settings(String url, String path) {
        return new GitSettings(url, "main", path, Duration.ofSeconds(1), Duration.ofSeconds(10),
                new GitSettings.Auth.None(), new GitSettings.Verify.Off(), tmp.resolve("cache"));
    }

    @Test
    void readsTheBranchUnderThePathAsTheCommitId() {
        GitRepo r = repo();
        String id = r.git("rev-parse", "main").strip();
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            assertEquals(id, s.head());
            Snapshot snap = s.read(s.head());
            assertEquals(id, snap.revision());
            assertEquals(Set.of("hosts/edge/a.yaml", "hosts/edge/sub/b.yml"), snap.files().keySet());
            assertEquals(POLICY + "# a\n", snap.files().get("hosts/edge/a.yaml"));
            Commit c = snap.commit().orElseThrow();
            assertEquals(id, c.id());
            assertEquals("first policies", c.subject());
            assertEquals("Ada Operator <ada@example.com>", c.author());
            assertEquals(Instant.ofEpochSecond(Long.parseLong(r.git("log", "-1", "--format=%at").strip())),
                    c.authorTime());
            assertTrue(c.signer().isEmpty());
            assertEquals("git " + r.url() + " main:hosts/edge", s.describe());
        }
        try (GitSource root = new GitSource(settings(r.url(), ""))) {
            assertEquals(Set.of("hosts/edge/a.yaml", "hosts/edge/sub/b.yml", "hosts/core/d.yaml"),
                    root.read(root.head()).files().keySet());
        }
    }

    @Test
    void anUnchangedHeadFetchesNothingAndTheCloneSurvivesARestart() throws IOException {
        GitRepo r = repo();
        String head;
        Path cache;
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            head = s.head();
            s.read(head);
            assertEquals(1, s.fetches());
            cache = s.cacheDir();
            for (int i = 0; i < 3; i++) {
                assertEquals(head, s.head());
            }
            assertEquals(1, s.fetches(), "head() must not fetch");
        }
        FileTime before = newest(cache);
        try (GitSource again = new GitSource(settings(r.url(), "hosts/edge"))) {
            Snapshot snap = again.read(again.head());
            assertEquals(head, snap.revision());
            assertEquals(0, again.fetches(), "a restart at the same commit reads the clone it left");
        }
        assertEquals(before, newest(cache));
    }

    @Test
    void aNewCommitIsANewRevision() {
        GitRepo r = repo();
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            String first = s.head();
            s.read(first);
            r.write("hosts/edge/a.yaml", POLICY + "# changed\n");
            String second = r.commit("change a");
            assertEquals(second, s.head());
            assertNotEquals(first, second);
            Snapshot snap = s.read(second);
            assertEquals(second, snap.revision());
            assertEquals(POLICY + "# changed\n", snap.files().get("hosts/edge/a.yaml"));
            assertEquals("change a", snap.commit().orElseThrow().subject());
            assertEquals(2, s.fetches());
        }
    }

    /** A restarted sidecar reads the revision it applied, though the branch moved on (issue: last good revision). */
    @Test
    void anEarlierRevisionIsReadFromTheCloneOrFetchedById() {
        GitRepo r = repo();
        String first = r.git("rev-parse", "main").strip();
        r.write("hosts/edge/a.yaml", POLICY + "# changed\n");
        String second = r.commit("change a");
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            s.read(s.head());
            assertEquals(1, s.fetches());
            // the shallow clone has only the head: the earlier commit is fetched by its id
            Snapshot old = s.readRevision(first).orElseThrow();
            assertEquals(first, old.revision());
            assertEquals(POLICY + "# a\n", old.files().get("hosts/edge/a.yaml"));
            assertEquals("first policies", old.commit().orElseThrow().subject());
            assertEquals(2, s.fetches());
            assertEquals(second, s.readRevision(second).orElseThrow().revision());
            assertEquals(2, s.fetches(), "a commit in the clone is read without a fetch");
        }
        // a restart: the clone kept what was fetched
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            assertEquals(first, s.readRevision(first).orElseThrow().revision());
            assertEquals(0, s.fetches());
            assertTrue(s.readRevision("not-a-commit").isEmpty());
            SourceException e = assertThrows(SourceException.class, () -> s.readRevision("0".repeat(40)));
            assertTrue(e.getMessage().contains("0".repeat(40)), e.getMessage());
        }
    }

    @Test
    void manyCommitsAreRepackedAndTheOldOnesDropped() throws IOException {
        GitRepo r = repo();
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            for (int i = 0; i < 12; i++) {
                r.write("hosts/edge/a.yaml", POLICY + "# " + i + "\n");
                String id = r.commit("change " + i);
                assertEquals(POLICY + "# " + i + "\n", s.read(s.head()).files().get("hosts/edge/a.yaml"));
                assertEquals(id, s.head());
            }
            assertEquals(12, s.fetches());
            try (Stream<Path> packs = Files.list(s.cacheDir().resolve("objects/pack"))) {
                long n = packs.filter(p -> p.toString().endsWith(".pack")).count();
                assertTrue(n <= 9, n + " packs");
            }
        }
    }

    @Test
    void aCorruptCacheIsClonedAgain() throws IOException {
        GitRepo r = repo();
        Path cache;
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            s.read(s.head());
            cache = s.cacheDir();
        }
        try (Stream<Path> walk = Files.walk(cache.resolve("objects"))) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                Files.write(p, new byte[]{1, 2, 3});
            }
        }
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            Snapshot snap = s.read(s.head());
            assertEquals(Set.of("hosts/edge/a.yaml", "hosts/edge/sub/b.yml"), snap.files().keySet());
            assertEquals(POLICY + "# a\n", snap.files().get("hosts/edge/a.yaml"));
        }
        Files.writeString(cache.resolve("config"), "[core\n garbage");
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            assertEquals(2, s.read(s.head()).files().size());
            assertEquals(1, s.fetches(), "an unreadable clone is not fetched into, but cloned again");
        }
        assertTrue(Files.readString(cache.resolve("config")).contains("[bpfgit]"));
    }

    @Test
    void aCacheMadeForAnotherUrlIsClonedAgain() throws IOException {
        GitRepo r = repo();
        Path cache;
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            s.read(s.head());
            cache = s.cacheDir();
        }
        String config = Files.readString(cache.resolve("config"));
        Files.writeString(cache.resolve("config"), config.replace(r.url(), "file:///elsewhere/repo"));
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            assertEquals(2, s.read(s.head()).files().size());
            assertEquals(1, s.fetches());
        }
        assertTrue(Files.readString(cache.resolve("config")).contains(r.url()));
    }

    @Test
    void aFileThatIsNotUtf8IsRefusedByName() {
        GitRepo r = repo();
        r.write("hosts/edge/bad.yaml", new byte[]{'a', ':', ' ', (byte) 0xff, '\n'});
        r.commit("bad bytes");
        try (GitSource s = new GitSource(settings(r.url(), "hosts/edge"))) {
            // a mistake in the revision, which the sidecar reports as invalid, not as an unreachable source
            InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> s.read(s.head()));
            // the same words as a directory's refusal (PolicyFiles), placed at the first bad byte
            assertEquals("hosts/edge/bad.yaml:1:4: error: not UTF-8 text: byte 0xff at offset 3; policy files must be"
                    + " UTF-8", e.getMessage());
        }
    }

    @Test
    void aMissingBranchOrPathIsASourceError() {
        GitRepo r = repo();
        GitSettings other = new GitSettings(r.url(), "nope", "", Duration.ofSeconds(1), Duration.ofSeconds(5),
                new GitSettings.Auth.None(), new GitSettings.Verify.Off(), tmp.resolve("cache"));
        try (GitSource s = new GitSource(other)) {
            SourceException e = assertThrows(SourceException.class, s::head);
            assertTrue(e.getMessage().contains("no branch nope"), e.getMessage());
        }
        try (GitSource s = new GitSource(settings(r.url(), "hosts/none"))) {
            SourceException e = assertThrows(SourceException.class, () -> s.read(s.head()));
            assertTrue(e.getMessage().endsWith("has no directory hosts/none"), e.getMessage());
        }
        try (GitSource s = new GitSource(settings("file://" + tmp.resolve("absent"), ""))) {
            assertThrows(SourceException.class, s::head);
        }
    }

    @Test
    void overAGitDaemonOnLoopback() throws IOException {
        GitRepo r = repo();
        Path served = tmp.resolve("served");
        Files.createDirectories(served);
        GitRepo.run(tmp, r.env(), List.of("git", "clone", "-q", "--bare", r.dir.toString(),
                served.resolve("policies.git").toString()));
        r.git("remote", "add", "served", served.resolve("policies.git").toString());
        int port = GitRepo.freePort();
        Process daemon = new ProcessBuilder("/usr/lib/git-core/git-daemon", "--listen=127.0.0.1", "--port=" + port,
                "--export-all", "--reuseaddr", "--base-path=" + served, served.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("daemon.log").toFile()).start();
        try {
            GitRepo.awaitListening(port, daemon);
            String url = "git://127.0.0.1:" + port + "/policies.git";
            try (GitSource s = new GitSource(settings(url, "hosts/edge"))) {
                String first = s.head();
                assertEquals(r.git("rev-parse", "main").strip(), first);
                assertEquals(Set.of("hosts/edge/a.yaml", "hosts/edge/sub/b.yml"), s.read(first).files().keySet());
                r.write("hosts/edge/e.yaml", POLICY);
                String second = r.commit("add e");
                r.git("push", "-q", "served", "main");
                assertEquals(second, s.head());
                assertEquals(3, s.read(second).files().size());
                assertEquals(2, s.fetches());
                // the clone is shallow: one commit of history
                assertEquals("1", GitRepo.run(tmp, r.env(), List.of("git", "--git-dir=" + s.cacheDir(),
                        "rev-list", "--count", "refs/remotes/origin/main")).strip());
            }
        } finally {
            GitRepo.stop(daemon);
        }
    }

    private static FileTime newest(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.map(p -> {
                try {
                    return Files.getLastModifiedTime(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).max(FileTime::compareTo).orElseThrow();
        }
    }
}
