package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Policy files in a git working tree are named by the commit they are at, or as a change on top of it. */
class GitRevisionSourceIT {
    @TempDir
    Path tmp;

    @Test
    void aCleanPathIsNamedByHeadAndAnEditedOneAsDirty() {
        GitRepo r = new GitRepo(tmp.resolve("work"), tmp.resolve("home"));
        r.write(".config/policies/a.yaml", "a: 1\n").write(".config/policies/.skip.yaml", "no\n")
                .write("other.yaml", "o: 1\n");
        String id = r.commit("policies under a dot directory");
        Path policies = r.dir.resolve(".config/policies");

        Snapshot clean = GitRevisionSource.named(policies, DirectorySource.read(policies));
        assertEquals(id, clean.revision());
        assertEquals("policies under a dot directory", clean.commit().orElseThrow().subject());
        assertEquals(Map.of(policies + "/a.yaml", "a: 1\n"), clean.files());

        // a change elsewhere in the repository does not make these files dirty
        r.write("other.yaml", "o: 2\n");
        assertEquals(id, GitRevisionSource.named(policies, DirectorySource.read(policies)).revision());

        r.write(".config/policies/b.yml", "b: 1\n");
        Snapshot added = GitRevisionSource.named(policies, DirectorySource.read(policies));
        assertEquals(id + "+dirty", added.revision());
        assertTrue(added.commit().isEmpty());

        Path file = policies.resolve("a.yaml");
        assertEquals(id, GitRevisionSource.named(file, DirectorySource.read(file)).revision());
        r.write(".config/policies/a.yaml", "a: 2\n");
        assertEquals(id + "+dirty", GitRevisionSource.named(file, DirectorySource.read(file)).revision());

        Snapshot atHead = GitRevisionSource.read(policies, "HEAD");
        assertEquals(id, atHead.revision());
        assertEquals(Map.of(policies + "/a.yaml", "a: 1\n"), atHead.files());
    }

    @Test
    void outsideGitOrBeforeTheFirstCommitTheDigestStays() {
        Path plain = tmp.resolve("plain");
        new GitRepo(tmp.resolve("fresh"), tmp.resolve("home")).write("a.yaml", "a: 1\n");
        Snapshot noCommit = DirectorySource.read(tmp.resolve("fresh"));
        assertSame(noCommit, GitRevisionSource.named(tmp.resolve("fresh"), noCommit));
        GitRepo.run(tmp, Map.of(), java.util.List.of("mkdir", "-p", plain.toString()));
        Snapshot none = new Snapshot("dir:0", Map.of());
        assertSame(none, GitRevisionSource.named(plain, none));
    }
}
