package dev.bpfgit.source;

import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A git revision refuses the files a directory refuses, with the same words. */
class GitRevisionSourceTest {

    private static void commit(Path repo) throws Exception {
        try (Git git = Git.open(repo.toFile())) {
            git.add().addFilepattern(".").call();
            git.commit().setMessage("c").setAuthor("t", "t@example.com").setCommitter("t", "t@example.com")
                    .setSign(false).call();
        }
    }

    @Test
    void readsPolicyFilesAndLinksInsideThePath(@TempDir Path repo) throws Exception {
        Git.init().setDirectory(repo.toFile()).call().close();
        Path dir = repo.resolve("policies");
        Files.createDirectories(dir.resolve("a"));
        Files.writeString(dir.resolve("a/real.yaml"), "a: 1\n");
        Files.createSymbolicLink(dir.resolve("link.yaml"), Path.of("a/real.yaml"));
        commit(repo);

        Snapshot s = GitRevisionSource.read(dir, "HEAD");

        assertEquals(Map.of(dir + "/a/real.yaml", "a: 1\n", dir + "/link.yaml", "a: 1\n"), s.files());
    }

    @Test
    void refusesNonUtf8AndLinksLeavingThePathLikeADirectoryDoes(@TempDir Path repo) throws Exception {
        Git.init().setDirectory(repo.toFile()).call().close();
        Path dir = repo.resolve("policies");
        Files.createDirectories(dir);
        Files.writeString(repo.resolve("secret.yaml"), "password: hunter2-SECRET\n");
        Files.write(dir.resolve("latin1.yaml"), new byte[]{'a', ':', ' ', '1', '\n', 'b', ':', ' ', (byte) 0xe9, '\n'});
        Files.createSymbolicLink(dir.resolve("up.yaml"), Path.of("../secret.yaml"));
        Files.createSymbolicLink(dir.resolve("abs.yaml"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(dir.resolve("gone.yaml"), Path.of("nowhere.yaml"));
        commit(repo);

        InvalidFilesException fromGit = assertThrows(InvalidFilesException.class, () -> GitRevisionSource.read(dir, "HEAD"));
        assertEquals(List.of(
                new FileProblem(dir + "/abs.yaml", "symbolic link to a file outside the source directory; not read"),
                new FileProblem(dir + "/gone.yaml", "symbolic link to a file that does not exist; not read"),
                new FileProblem(dir + "/latin1.yaml", 2, 4,
                        "not UTF-8 text: byte 0xe9 at offset 8; policy files must be UTF-8"),
                new FileProblem(dir + "/up.yaml", "symbolic link to a file outside the source directory; not read")),
                fromGit.problems());
        assertFalse(fromGit.getMessage().contains("hunter2"));

        // the same files on disk: the same problems, word for word
        InvalidFilesException fromDisk = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir));
        assertEquals(fromGit.problems(), fromDisk.problems());
    }

    /** A read that git names (clean or dirty) costs no digest of its files; elsewhere it is the directory's. */
    @Test
    void aCheckoutIsNamedWithoutTheDigestOfItsFiles(@TempDir Path repo, @TempDir Path plain) throws Exception {
        Git.init().setDirectory(repo.toFile()).call().close();
        Path dir = repo.resolve("policies");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("a.yaml"), "a: 1\n");
        commit(repo);
        AtomicInteger asked = new AtomicInteger();

        Snapshot clean = GitRevisionSource.named(dir, counted(dir, asked));
        assertEquals(GitRevisionSource.named(dir, DirectorySource.read(dir)), clean);
        assertTrue(clean.commit().isPresent(), clean.toString());

        Files.writeString(dir.resolve("b.yaml"), "b: 1\n");
        Snapshot dirty = GitRevisionSource.named(dir, counted(dir, asked));
        assertEquals(GitRevisionSource.named(dir, DirectorySource.read(dir)), dirty);
        assertTrue(dirty.revision().endsWith("+dirty"), dirty.revision());
        assertEquals(0, asked.get(), "the files' digest was computed for a read git names");

        Files.writeString(plain.resolve("a.yaml"), "a: 1\n");
        Snapshot unnamed = GitRevisionSource.named(plain, counted(plain, asked));
        assertEquals(DirectorySource.read(plain), unnamed);
        assertTrue(unnamed.revision().startsWith("dir:"), unnamed.revision());
        assertEquals(1, asked.get());
    }

    private static DirectorySource.Read counted(Path dir, AtomicInteger asked) {
        DirectorySource.Read read = DirectorySource.readFiles(List.of(dir));
        return new DirectorySource.Read(read.files(), () -> {
            asked.incrementAndGet();
            return read.revision().get();
        });
    }
}
