package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DirectorySourceTest {
    private static final String FLEET = "src/test/resources/policies/valid/fleet";

    @Test
    void readsYamlFilesRecursivelyNamedAsTheUserGaveTheDirectory() {
        List<String> expected = List.of(FLEET + "/edge-filter.yaml", FLEET + "/nested/quarantine.yml");
        assertEquals(expected, names(DirectorySource.read(Path.of(FLEET))));
        assertEquals(expected, names(DirectorySource.read(Path.of(FLEET + "/"))));
        assertEquals(expected, names(DirectorySource.read(Path.of("./" + FLEET))));
    }

    @Test
    void skipsHiddenFilesAndDirectoriesAndOtherExtensions(@TempDir Path dir) throws IOException {
        write(dir.resolve("b.yml"), "b: 1\n");
        write(dir.resolve("a.yaml"), "a: 1\n");
        write(dir.resolve("notes.txt"), "no\n");
        write(dir.resolve("README.md"), "no\n");
        write(dir.resolve(".hidden.yaml"), "no\n");
        write(dir.resolve(".git/config.yaml"), "no\n");
        write(dir.resolve("z/.cache/c.yaml"), "no\n");
        write(dir.resolve("z/y/c.yaml"), "c: 1\n");

        Snapshot s = DirectorySource.read(dir);

        assertEquals(Map.of(dir + "/a.yaml", "a: 1\n", dir + "/b.yml", "b: 1\n", dir + "/z/y/c.yaml", "c: 1\n"), s.files());
    }

    @Test
    void readsAMountedConfigMapOnce(@TempDir Path dir) throws IOException {
        // kubelet's layout: the real files in a timestamped hidden directory, visible names are symlinks
        write(dir.resolve("..2025_01_01_00_00_00.1/policy.yaml"), "p: 1\n");
        Files.createSymbolicLink(dir.resolve("..data"), Path.of("..2025_01_01_00_00_00.1"));
        Files.createSymbolicLink(dir.resolve("policy.yaml"), Path.of("..data/policy.yaml"));

        assertEquals(Map.of(dir + "/policy.yaml", "p: 1\n"), DirectorySource.read(dir).files());
    }

    @Test
    void aFileGivenByNameIsReadWhateverItsExtension(@TempDir Path dir) throws IOException {
        write(dir.resolve("policy.txt"), "p: 1\n");
        write(dir.resolve("d/a.yaml"), "a: 1\n");

        Snapshot s = DirectorySource.read(dir.resolve("policy.txt"), dir.resolve("d"));

        assertEquals(Map.of(dir + "/policy.txt", "p: 1\n", dir + "/d/a.yaml", "a: 1\n"), s.files());
    }

    @Test
    void revisionHashesNamesAndContents(@TempDir Path dir) throws IOException {
        write(dir.resolve("a.yaml"), "a: 1\n");
        String first = DirectorySource.read(dir).revision();
        assertTrue(first.matches("dir:[0-9a-f]{12}"), first);
        assertEquals(first, DirectorySource.read(dir).revision());

        write(dir.resolve("a.yaml"), "a: 2\n");
        String changed = DirectorySource.read(dir).revision();
        assertNotEquals(first, changed);

        Files.move(dir.resolve("a.yaml"), dir.resolve("b.yaml"));
        assertNotEquals(changed, DirectorySource.read(dir).revision());

        // fixed (checked with Python: sha256 of 8-byte big-endian length + bytes, per name and content) so that a
        // change of the algorithm, which makes every host see a "new" revision, is deliberate
        assertEquals("fb19aa6bb038", DirectorySource.revision(new java.util.TreeMap<>(Map.of("a.yaml", "a: 1\n"))));
    }

    @Test
    void aMissingPathIsAClearError(@TempDir Path dir) {
        SourceException e = assertThrows(SourceException.class, () -> DirectorySource.read(dir.resolve("nope")));
        assertEquals("read " + dir + "/nope: no such file or directory", e.getMessage());
    }

    @Test
    void aFileThatIsNotUtf8IsAClearError(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("latin1.yaml"), new byte[]{'a', ':', ' ', (byte) 0xe9, '\n'});
        SourceException e = assertThrows(SourceException.class, () -> DirectorySource.read(dir));
        assertEquals("read " + dir + "/latin1.yaml: not UTF-8 text", e.getMessage());
    }

    private static List<String> names(Snapshot s) {
        return s.files().keySet().stream().sorted().toList();
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
