package dev.bpfgit.run;

import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.InvalidFilesException;
import dev.bpfgit.source.PolicyFiles;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The copy of a directory's last applied revision: its id computed again, written atomically, a source's limits. */
class LastGoodStoreTest {
    @TempDir
    Path tmp;
    private Path policies;
    private Path state;
    private LastGoodStore store;
    private Path copies;

    @BeforeEach
    void setUp() throws IOException {
        policies = Files.createDirectories(tmp.resolve("policies"));
        state = tmp.resolve("state/lastgood");
        store = new LastGoodStore(state, Path.of("/sys/fs/bpf/it-root"), policies);
        copies = LastGoodStore.directory(state, Path.of("/sys/fs/bpf/it-root"));
    }

    /** The directory as the sidecar reads it. */
    private Snapshot read() {
        return DirectorySource.read(List.of(policies));
    }

    private Snapshot twoFiles(String a) throws IOException {
        Files.writeString(policies.resolve("a.yaml"), a);
        Files.createDirectories(policies.resolve("sub"));
        Files.writeString(policies.resolve("sub/b.yml"), "b: ü\n");
        return read();
    }

    @Test
    void aSavedRevisionReadsBackWithTheIdTheDirectoryHad() throws IOException {
        assertEquals(Optional.empty(), store.read("dir:000000000000"));   // nothing kept yet
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        // the directory turns invalid; the copy is what it was
        Files.writeString(policies.resolve("a.yaml"), "a: [\n");
        Snapshot back = store.read(s.revision()).orElseThrow();
        assertEquals(s.revision(), back.revision());
        assertEquals(s.files(), back.files());
        assertEquals(2, back.files().size());
    }

    /** destroy: a root's copy goes with its pins, another root's stays, and the state directory once empty. */
    @Test
    void removingARootsCopyLeavesAnotherRootsAndThenNothing() throws IOException {
        Path other = Path.of("/sys/fs/bpf/it-other");
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        new LastGoodStore(state, other, policies).save(s);
        Path otherCopy = LastGoodStore.directory(state, other);
        Files.createSymbolicLink(copies.resolve("link-out"), policies);   // removed, never followed

        assertEquals(Optional.of(copies), LastGoodStore.remove(state, Path.of("/sys/fs/bpf/it-root")));
        assertTrue(Files.notExists(copies, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.exists(policies.resolve("sub/b.yml")), "a link's target is not removed");
        assertEquals(Optional.empty(), store.read(s.revision()));
        assertEquals(s.revision(), new LastGoodStore(state, other, policies).read(s.revision()).orElseThrow()
                .revision());

        assertEquals(Optional.of(otherCopy), LastGoodStore.remove(state, other));
        assertTrue(Files.notExists(state), "the state directory left empty is removed");
        assertTrue(Files.exists(state.getParent()), "only the lastGood directory itself");
        assertEquals(Optional.empty(), LastGoodStore.remove(state, other));
    }

    @Test
    void aCopyOfAnotherRevisionIsRefusedSayingWhy() throws IOException {
        Snapshot first = twoFiles("a: 1\n");
        store.save(first);
        Snapshot second = twoFiles("a: 2\n");
        assertNotEquals(first.revision(), second.revision());
        SourceException e = assertThrows(SourceException.class, () -> store.read(second.revision()));
        assertTrue(e.getMessage().contains("is of revision " + first.revision()) && e.getMessage().contains(
                "not of " + second.revision() + ", the one the pins record as applied"), e.getMessage());
    }

    /** The id comes from the content read, never from a name: an edited copy is not the revision any more. */
    @Test
    void anEditedCopyIsNotTakenForTheRevision() throws IOException {
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        Path file = current().resolve("files/a.yaml");
        Files.writeString(file, "a: 666\n");
        SourceException e = assertThrows(SourceException.class, () -> store.read(s.revision()));
        assertTrue(e.getMessage().contains("not of " + s.revision()), e.getMessage());
        // names inside the directory are part of the id, the directory's own path is not: it only names the files
        Files.writeString(file, "a: 1\n");
        assertEquals(s.revision(), store.read(s.revision()).orElseThrow().revision());
        Files.move(current().resolve("files/sub"), current().resolve("files/other"));
        assertThrows(SourceException.class, () -> store.read(s.revision()));
        Files.move(current().resolve("files/other"), current().resolve("files/sub"));
        Path source = current().resolve("source");
        Files.setPosixFilePermissions(source, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(source, tmp.resolve("elsewhere") + "\n");
        Snapshot moved = store.read(s.revision()).orElseThrow();
        assertEquals(s.revision(), moved.revision());
        assertEquals(java.util.Set.of(tmp.resolve("elsewhere/a.yaml").toString(),
                tmp.resolve("elsewhere/sub/b.yml").toString()), moved.files().keySet());
    }

    /**
     * A host upgraded from a build whose directory ids hashed the file names as the sidecar typed them: its pins
     * record that older id; the copy of the same files is enforced, under the id the files have now (which the
     * sidecar's next reconcile records), and a copy of other files is still refused.
     */
    @Test
    void aCopyRecordedUnderTheIdOfEarlierBuildsIsEnforcedUnderTheIdOfNow() throws IOException {
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        String earlier = DirectorySource.revisionOf(s.files());   // the names as the sidecar typed source.path
        assertNotEquals(s.revision(), earlier);
        Snapshot back = store.read(earlier).orElseThrow();
        assertEquals(s.revision(), back.revision());
        assertEquals(s.files(), back.files());

        Files.writeString(current().resolve("files/a.yaml"), "a: 2\n");
        SourceException e = assertThrows(SourceException.class, () -> store.read(earlier));
        assertTrue(e.getMessage().contains("not of " + earlier + ", the one the pins record"), e.getMessage());
    }

    @Test
    void aSaveReplacesTheCopyWholeAndLeavesNothingElse() throws IOException {
        store.save(twoFiles("a: 1\n"));
        Path before = current();
        // an interrupted save left a half-written temporary directory: it is not read, and the next save removes it
        Path stale = Files.createDirectories(copies.resolve(".tmp-123/files"));
        Files.writeString(stale.resolve("a.yaml"), "a: half");
        Snapshot s1 = read();
        assertEquals(s1.files(), store.read(s1.revision()).orElseThrow().files());

        Files.delete(policies.resolve("sub/b.yml"));
        Snapshot s2 = read();
        store.save(s2);
        assertNotEquals(before, current());
        assertEquals(s2.files(), store.read(s2.revision()).orElseThrow().files());
        try (Stream<Path> left = Files.list(copies)) {
            assertEquals(java.util.Set.of("current", current().getFileName().toString()),
                    left.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet()));
        }
        assertTrue(Files.isSymbolicLink(copies.resolve("current")));
    }

    @Test
    void onlyTheSidecarsUserMayReadOrWriteIt() throws IOException {
        store.save(twoFiles("a: 1\n"));
        for (Path d : List.of(state, copies, current(), current().resolve("files"), current().resolve("files/sub"))) {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d,
                    LinkOption.NOFOLLOW_LINKS)), d.toString());
        }
        for (Path f : List.of(current().resolve("source"), current().resolve("files/a.yaml"),
                current().resolve("files/sub/b.yml"))) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
        }
        // a state directory someone loosened is tightened at the next save
        Files.setPosixFilePermissions(copies, PosixFilePermissions.fromString("rwxrwxrwx"));
        store.save(read());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(copies)));
    }

    /** Read as a source is: no file over the size limit, no link out, nothing but regular files. */
    @Test
    void theCopyIsReadWithASourcesLimits() throws IOException {
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        Path big = current().resolve("files/big.yaml");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(PolicyFiles.MAX_BYTES + 1);   // sparse: the size is refused before anything is read
        }
        InvalidFilesException e = assertThrows(InvalidFilesException.class, () -> store.read(s.revision()));
        assertTrue(e.getMessage().contains("more than the " + PolicyFiles.MAX_BYTES), e.getMessage());
        Files.delete(big);
        Files.writeString(tmp.resolve("secret.yaml"), "s: 1\n");
        Files.createSymbolicLink(current().resolve("files/link.yaml"), tmp.resolve("secret.yaml"));
        e = assertThrows(InvalidFilesException.class, () -> store.read(s.revision()));
        assertTrue(e.getMessage().contains("outside the source directory"), e.getMessage());
        Files.delete(current().resolve("files/link.yaml"));
        // current pointing anywhere but at one of its own copies is not followed
        Files.delete(copies.resolve("current"));
        Files.createSymbolicLink(copies.resolve("current"), policies);
        assertThrows(SourceException.class, () -> store.read(s.revision()));
    }

    @Test
    void aFileNotUnderTheSourceOrTooLargeIsNotCopied() throws IOException {
        Snapshot s = twoFiles("a: 1\n");
        store.save(s);
        SourceException e = assertThrows(SourceException.class, () -> store.save(new Snapshot("dir:x",
                java.util.Map.of("/etc/passwd.yaml", "a: 1\n"))));
        assertTrue(e.getMessage().contains("is not a file under " + policies), e.getMessage());
        String huge = "#".repeat((int) PolicyFiles.MAX_BYTES + 1);
        assertThrows(SourceException.class, () -> store.save(new Snapshot("dir:y",
                java.util.Map.of(policies.resolve("a.yaml").toString(), huge))));
        // the copy kept before stays
        assertEquals(s.files(), store.read(s.revision()).orElseThrow().files());
    }

    @Test
    void eachPinRootHasItsOwnCopy() {
        Path a = LastGoodStore.directory(state, Path.of("/sys/fs/bpf/a-b"));
        Path b = LastGoodStore.directory(state, Path.of("/sys/fs/bpf/a/b"));
        assertNotEquals(a, b);
        assertEquals(state, a.getParent());
        assertTrue(a.getFileName().toString().startsWith("sys-fs-bpf-a-b."), a.toString());
        assertEquals(a, LastGoodStore.directory(state, Path.of("/sys/fs/bpf//a-b/")));
    }

    private Path current() throws IOException {
        return copies.resolve(Files.readSymbolicLink(copies.resolve("current")));
    }
}
