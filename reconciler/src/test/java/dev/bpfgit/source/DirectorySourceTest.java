package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.time.Duration;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
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
    void theRevisionOfWhatWasReadIsThatOfItsTextsAndTheTextsAreTheFiles(@TempDir Path dir) throws IOException {
        // ASCII (copied as it is), and UTF-8 of two, three and four bytes and a byte order mark (decoded)
        Map<String, String> texts = Map.of("a.yaml", "a: 1\n", "b.yaml", "# é € 🛡\nb: 2\n", "c.yaml", "\uFEFFc: 3\n",
                "d/e.yaml", "e: \"x\"\n".repeat(1000));
        for (var e : texts.entrySet()) {
            write(dir.resolve(e.getKey()), e.getValue());
        }
        Snapshot s = DirectorySource.read(dir);
        Map<String, String> expected = new java.util.TreeMap<>();
        texts.forEach((name, text) -> expected.put(dir.resolve(name).toString(), text));
        assertEquals(expected, new java.util.TreeMap<>(s.files()));
        assertEquals(DirectorySource.revisionOf(texts), s.revision());
    }

    /** {@code plan q}, {@code plan /abs/q}, a link to q, a copy elsewhere, the sidecar's path: one id for one content. */
    @Test
    void theRevisionDependsOnlyOnTheNamesInsideTheDirectoryAndTheContents(@TempDir Path tmp) throws IOException {
        Path q = tmp.resolve("a/q");
        write(q.resolve("edge.yaml"), "e: 1\n");
        write(q.resolve("sub/core.yml"), "c: 2\n");
        String id = DirectorySource.read(q).revision();

        Path cwd = Path.of("").toAbsolutePath();
        assertEquals(id, DirectorySource.read(cwd.relativize(q)).revision());   // as typed relative to the cwd
        assertEquals(id, DirectorySource.read(tmp.resolve("a/../a/./q")).revision());
        assertEquals(id, DirectorySource.read(Files.createSymbolicLink(tmp.resolve("link"), q)).revision());
        Path elsewhere = tmp.resolve("b/c/policies");
        write(elsewhere.resolve("edge.yaml"), "e: 1\n");
        write(elsewhere.resolve("sub/core.yml"), "c: 2\n");
        assertEquals(id, DirectorySource.read(elsewhere).revision());
        // the names the snapshot shows still say where the files were found
        assertTrue(DirectorySource.read(elsewhere).files().containsKey(elsewhere + "/sub/core.yml"));

        write(elsewhere.resolve("sub/core.yml"), "c: 3\n");
        assertNotEquals(id, DirectorySource.read(elsewhere).revision());
        write(elsewhere.resolve("sub/core.yml"), "c: 2\n");
        Files.move(elsewhere.resolve("sub"), elsewhere.resolve("other"));
        assertNotEquals(id, DirectorySource.read(elsewhere).revision());   // a name inside changed

        // the same as a map of names inside to contents, as a kept copy is checked
        assertEquals(id, DirectorySource.revisionOf(Map.of("edge.yaml", "e: 1\n", "sub/core.yml", "c: 2\n")));
        // the id earlier builds gave: the names as typed, which upgraded hosts still record
        Snapshot s = DirectorySource.read(q);
        assertNotEquals(id, DirectorySource.revisionOf(s.files()));
    }

    /** Two paths may each hold a file of one name: both count, in any order of the paths. */
    @Test
    void twoPathsWithAFileOfTheSameNameInsideGiveOneIdInEitherOrder(@TempDir Path tmp) throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        write(a.resolve("x.yaml"), "a: 1\n");
        write(b.resolve("x.yaml"), "b: 1\n");
        String ab = DirectorySource.read(a, b).revision();
        assertEquals(ab, DirectorySource.read(b, a).revision());
        assertNotEquals(ab, DirectorySource.read(a).revision());
        write(b.resolve("x.yaml"), "b: 2\n");
        assertNotEquals(ab, DirectorySource.read(a, b).revision());
        // a file named on its own counts by its file name, as inside a directory
        assertEquals(DirectorySource.read(a).revision(), DirectorySource.read(a.resolve("x.yaml")).revision());
        // a file named again besides its directory counts once, by its name inside the directory
        write(a.resolve("sub/y.yaml"), "y: 1\n");
        assertEquals(DirectorySource.read(a).revision(), DirectorySource.read(a, a.resolve("sub/y.yaml")).revision());
    }

    @Test
    void aMissingPathIsAClearError(@TempDir Path dir) {
        SourceException e = assertThrows(SourceException.class, () -> DirectorySource.read(dir.resolve("nope")));
        assertEquals("read " + dir + "/nope: no such file or directory", e.getMessage());
    }

    @Test
    void aFileThatIsNotUtf8IsRefusedAtItsFirstBadByte(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("latin1.yaml"), new byte[]{'a', ':', ' ', '1', '\n', 'b', ':', ' ', (byte) 0xe9, '\n'});
        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir));
        assertEquals(dir + "/latin1.yaml:2:4: error: not UTF-8 text: byte 0xe9 at offset 8; policy files must be UTF-8",
                e.getMessage());
    }

    @Test
    void aLinkOutOfTheDirectoryIsRefusedByItsNameAndItsTargetNeverRead(@TempDir Path tmp) throws IOException {
        Path secret = tmp.resolve("secret");
        write(secret, "password: hunter2-SECRET\n");
        Path dir = tmp.resolve("policies");
        write(dir.resolve("ok.yaml"), "a: 1\n");
        Files.createSymbolicLink(dir.resolve("leak.yaml"), secret);
        Files.createSymbolicLink(dir.resolve("up.yaml"), Path.of("../secret"));
        Files.createDirectories(dir.resolve("sub"));
        Files.createSymbolicLink(dir.resolve("sub/inside.yaml"), Path.of("../ok.yaml"));

        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir));

        assertEquals(List.of(
                new FileProblem(dir + "/leak.yaml", "symbolic link to a file outside the source directory; not read"),
                new FileProblem(dir + "/up.yaml", "symbolic link to a file outside the source directory; not read")),
                e.problems());
        assertFalse(e.getMessage().contains("hunter2") || e.getMessage().contains(secret.toString()), e.getMessage());
    }

    @Test
    void aLinkInsideTheDirectoryIsRead(@TempDir Path dir) throws IOException {
        write(dir.resolve("a/real.yaml"), "a: 1\n");
        Files.createSymbolicLink(dir.resolve("link.yaml"), Path.of("a/real.yaml"));
        assertEquals(Map.of(dir + "/a/real.yaml", "a: 1\n", dir + "/link.yaml", "a: 1\n"), DirectorySource.read(dir).files());
    }

    @Test
    void aBrokenLinkIsAnErrorNotAMissingPolicy(@TempDir Path dir) throws IOException {
        // silently skipping it would read as "this policy was deleted" and remove it from the kernel
        Files.createSymbolicLink(dir.resolve("gone.yaml"), Path.of("nowhere.yaml"));
        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir));
        assertEquals(dir + "/gone.yaml:1:1: error: symbolic link to a file that does not exist; not read", e.getMessage());
    }

    @Test
    void aFifoWithAPolicyNameIsRefusedWithoutOpeningIt(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("x.yaml");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        write(dir.resolve("ok.yaml"), "a: 1\n");
        // opening a FIFO with no writer blocks forever: a hang here is the failure
        InvalidFilesException e = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir)));
        assertEquals(dir + "/x.yaml:1:1: error: not a regular file (a FIFO); not read", e.getMessage());
        InvalidFilesException named = assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertThrows(InvalidFilesException.class, () -> DirectorySource.read(fifo)));
        assertEquals(fifo + ":1:1: error: not a regular file (a FIFO); not read", named.getMessage());
    }

    @Test
    void aDeviceLinkedFromTheDirectoryIsRefusedByName(@TempDir Path dir) throws IOException {
        Files.createSymbolicLink(dir.resolve("zero.yaml"), Path.of("/dev/zero"));
        Files.createSymbolicLink(dir.resolve("null.yaml"), Path.of("/dev/null"));
        // given by name, a link is followed, so the kind of file is what stops /dev/zero filling the memory
        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir.resolve("zero.yaml")));
        assertEquals(dir + "/zero.yaml:1:1: error: not a regular file (a character device); not read", e.getMessage());
        assertEquals(2, assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir)).problems().size());
    }

    @Test
    void aFileOverTheSizeLimitIsRefusedWithoutReadingIt(@TempDir Path dir) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("huge.yaml").toFile(), "rw")) {
            f.setLength(PolicyFiles.MAX_BYTES + 1);   // sparse: no disk used
        }
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("limit.yaml").toFile(), "rw")) {
            f.setLength(PolicyFiles.MAX_BYTES);
        }
        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> DirectorySource.read(dir));
        assertEquals(List.of(new FileProblem(dir + "/huge.yaml", "file is 67108865 bytes, more than the 67108864 a"
                + " policy file may have; split it into several files")), e.problems());
    }

    private static List<String> names(Snapshot s) {
        return s.files().keySet().stream().sorted().toList();
    }

    private static void write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }
}
