package dev.bpfgit.source;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The check without JGit that lets a cold validate of a plain directory skip JGit: never "no" where JGit finds
 * a repository (work tree, subdirectory, linked work tree, bare repository), "no" where it finds none.
 */
class GitProbeTest {

    private static boolean jgitFinds(Path p) {
        return new FileRepositoryBuilder().findGitDir(p.toFile()).getGitDir() != null;
    }

    private static void agree(Path p, boolean expected) {
        assertEquals(expected, jgitFinds(p), "JGit, " + p);
        assertEquals(expected, DirectorySource.mayBeInGitRepository(p), "the probe, " + p);
    }

    @Test
    void plainDirectoryIsNoRepository(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("policies/a"));
        Files.writeString(dir.resolve("p.yaml"), "a: 1\n");
        agree(dir, false);
        assertFalse(DirectorySource.mayBeInGitRepository(dir.resolve("p.yaml")));
    }

    @Test
    void workTreeItsSubdirectoriesAndFilesAreFound(@TempDir Path tmp) throws Exception {
        Git.init().setDirectory(tmp.toFile()).call().close();
        Path dir = Files.createDirectories(tmp.resolve("policies/a"));
        Files.writeString(dir.resolve("p.yaml"), "a: 1\n");
        agree(tmp, true);
        agree(dir, true);
        assertTrue(DirectorySource.mayBeInGitRepository(dir.resolve("p.yaml")));
    }

    @Test
    void linkedWorkTreeAndBareRepositoryAreFound(@TempDir Path tmp) throws Exception {
        Path bare = tmp.resolve("bare.git");
        Git.init().setBare(true).setDirectory(bare.toFile()).call().close();
        agree(bare, true);
        Path linked = Files.createDirectories(tmp.resolve("linked/policies"));
        Files.writeString(tmp.resolve("linked/.git"), "gitdir: " + bare + "\n");
        agree(linked, true);
    }
}
