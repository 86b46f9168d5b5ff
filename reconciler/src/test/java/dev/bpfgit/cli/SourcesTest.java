package dev.bpfgit.cli;

import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.Snapshot;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A read named beside the parse names the files as a read named at once does. */
class SourcesTest {

    private static void commit(Path repo) throws Exception {
        try (Git git = Git.open(repo.toFile())) {
            git.add().addFilepattern(".").call();
            git.commit().setMessage("c").setAuthor("t", "t@example.com").setCommitter("t", "t@example.com")
                    .setSign(false).call();
        }
    }

    private static void same(Path dir) {
        Snapshot now = Sources.read(List.of(dir), null);
        Sources.Ahead ahead = Sources.readAhead(List.of(dir), null);
        assertEquals(now.files(), ahead.files().files());
        assertEquals("", ahead.files().revision());
        assertEquals(now, ahead.named().get());
    }

    @Test
    void aDirectoryAndACheckoutCleanAndDirtyAreNamedAsByRead(@TempDir Path plain, @TempDir Path repo) throws Exception {
        Files.writeString(plain.resolve("a.yaml"), "a: 1\n");
        same(plain);
        assertTrue(Sources.readAhead(List.of(plain), null).named().get().revision().startsWith("dir:"));

        Git.init().setDirectory(repo.toFile()).call().close();
        Path dir = repo.resolve("policies");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("a.yaml"), "a: 1\n");
        commit(repo);
        same(dir);
        assertTrue(Sources.readAhead(List.of(dir), null).named().get().commit().isPresent());
        Files.writeString(dir.resolve("b.yaml"), "b: 1\n");
        same(dir);
        assertTrue(Sources.readAhead(List.of(dir), null).named().get().revision().endsWith("+dirty"));
    }

    @Test
    void refusedFilesAreRefusedBeforeAnyParse(@TempDir Path plain) throws Exception {
        Files.write(plain.resolve("latin1.yaml"), new byte[]{'a', ':', ' ', (byte) 0xe9, '\n'});
        PolicyException now = assertThrows(PolicyException.class, () -> Sources.read(List.of(plain), null));
        PolicyException ahead = assertThrows(PolicyException.class, () -> Sources.readAhead(List.of(plain), null));
        assertEquals(now.errors(), ahead.errors());
    }
}
