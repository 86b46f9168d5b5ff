package dev.bpfgit.source;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** File-system events reach the sidecar within a second, in subdirectories and through a ConfigMap's symlink swap. */
class DirectoryPolicySourceTest {
    private static final String POLICY = "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: a}\n"
            + "spec: {interfaces: [eth0], hook: xdp, rules: [{prefix: 192.0.2.0/24, action: drop}]}\n";

    @TempDir
    Path dir;

    private final Semaphore events = new Semaphore(0);

    private DirectoryPolicySource open() {
        DirectoryPolicySource s = new DirectoryPolicySource(dir, Duration.ofHours(1), Clock.systemUTC());
        s.onChange(events::release);
        return s;
    }

    /** Waits for the first event, then lets a burst finish. */
    private void awaitEvent() throws InterruptedException {
        assertTrue(events.tryAcquire(1, TimeUnit.SECONDS), "a change event within a second");
        Thread.sleep(100);
        events.drainPermits();
    }

    @Test
    void aChangedFileAnewSubdirectoryAndAfileInItMoveTheHead() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), POLICY);
        try (DirectoryPolicySource s = open()) {
            String h1 = s.head();
            Snapshot first = s.read(h1);
            assertEquals(1, first.files().size());

            Files.writeString(dir.resolve("a.yaml"), POLICY.replace("192.0.2.0", "198.51.100.0"));
            awaitEvent();
            String h2 = s.head();
            assertNotEquals(h1, h2);
            assertNotEquals(first.revision(), s.read(h2).revision());

            Files.createDirectories(dir.resolve("nested/deeper"));
            awaitEvent();
            Files.writeString(dir.resolve("nested/deeper/b.yaml"), POLICY.replace("name: a", "name: b"));
            awaitEvent();
            String h3 = s.head();
            assertNotEquals(h2, h3);
            assertEquals(2, s.read(h3).files().size());
            assertEquals(h3, s.head(), "no event, no recheck due: the same head");
        }
    }

    /** source.path given as a link to the directory: its files, a new subdirectory and a file in it are seen. */
    @Test
    void aDirectoryGivenThroughALinkIsWatchedWhereItPoints(@TempDir Path elsewhere) throws Exception {
        Files.writeString(dir.resolve("a.yaml"), POLICY);
        Path link = Files.createSymbolicLink(elsewhere.resolve("policies"), dir);
        try (DirectoryPolicySource s = new DirectoryPolicySource(link, Duration.ofHours(1), Clock.systemUTC())) {
            s.onChange(events::release);
            String h1 = s.head();
            assertEquals(1, s.read(h1).files().size());
            assertTrue(!s.stamp().isEmpty(), "the stamp lists the files behind the link");

            Files.createDirectories(dir.resolve("nested"));
            awaitEvent();
            Files.writeString(dir.resolve("nested/b.yaml"), POLICY.replace("name: a", "name: b"));
            awaitEvent();
            String h2 = s.head();
            assertNotEquals(h1, h2);
            assertEquals(2, s.read(h2).files().size());

            Files.writeString(dir.resolve("nested/b.yaml"), POLICY.replace("name: a", "name: c"));
            awaitEvent();
            assertNotEquals(h2, s.head(), "a change in the new subdirectory is an event");
        }
    }

    @Test
    void aConfigMapSwapOfItsDataSymlinkIsAnEvent() throws Exception {
        // the layout kubelet writes: ..<timestamp>/files, ..data -> ..<timestamp>, file -> ..data/file
        Path v1 = Files.createDirectories(dir.resolve("..2026_01"));
        Files.writeString(v1.resolve("a.yaml"), POLICY);
        Files.createSymbolicLink(dir.resolve("..data"), Path.of("..2026_01"));
        Files.createSymbolicLink(dir.resolve("a.yaml"), Path.of("..data/a.yaml"));
        try (DirectoryPolicySource s = open()) {
            String h1 = s.head();
            String r1 = s.read(h1).revision();
            Path v2 = Files.createDirectories(dir.resolve("..2026_02"));
            Files.writeString(v2.resolve("a.yaml"), POLICY.replace("192.0.2.0", "198.51.100.0"));
            Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..2026_02"));
            awaitEvent();
            Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
            awaitEvent();
            String h2 = s.head();
            assertNotEquals(h1, h2);
            assertNotEquals(r1, s.read(h2).revision());
        }
    }

    @Test
    void aMissingDirectoryIsUnreachableUntilItExists() throws Exception {
        Path later = dir.resolve("later");
        try (DirectoryPolicySource s = new DirectoryPolicySource(later, Duration.ofHours(1), Clock.systemUTC())) {
            s.onChange(events::release);
            assertThrows(SourceException.class, s::head);
            Files.createDirectories(later);
            String h = s.head();
            Files.writeString(later.resolve("a.yaml"), POLICY);
            awaitEvent();
            assertNotEquals(h, s.head());
        }
    }

    @Test
    void aFileReadEmptyIsReadAgainUntilItsWriterIsDone() throws Exception {
        Path f = dir.resolve("a.yaml");
        Files.writeString(f, POLICY);
        try (DirectoryPolicySource s = open()) {
            String h = s.head();
            Files.writeString(f, "");   // truncated: the write follows 300 ms later
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(300);
                    Files.writeString(f, POLICY.replace("192.0.2.0", "198.51.100.0"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Snapshot read = s.read(h);
            writer.join();
            assertTrue(read.files().values().iterator().next().contains("198.51.100.0"), read.files().toString());
        }
    }

    @Test
    void theHeadMovesEveryRecheckEvenWithoutEvents() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), POLICY);
        try (DirectoryPolicySource s = new DirectoryPolicySource(dir, Duration.ofMillis(200), Clock.systemUTC())) {
            String h1 = s.head();
            Thread.sleep(250);
            assertNotEquals(h1, s.head());
        }
    }

    @Test
    void aRecheckOfUnchangedFilesKeepsTheHeadAndAChangedStampMovesIt() throws Exception {
        Path a = Files.writeString(dir.resolve("a.yaml"), POLICY);
        try (DirectoryPolicySource s = new DirectoryPolicySource(dir, Duration.ofMillis(200), Clock.systemUTC())) {
            String h1 = s.head();
            s.read(h1);
            Thread.sleep(250);
            assertEquals(h1, s.head(), "files as read: no re-read of every byte at a recheck");
            String stamp = s.stamp();
            // what a missed event would leave behind: another size and time than at the last read
            Files.writeString(a, POLICY.replace("192.0.2.0", "198.51.100.0"));
            Files.setLastModifiedTime(a, java.nio.file.attribute.FileTime.fromMillis(1_000_000));
            assertNotEquals(stamp, s.stamp());
            Thread.sleep(250);
            assertNotEquals(h1, s.head());
        }
    }

    /**
     * An early read (parsed while the quiet time passes) taken in the middle of a checkout of many files is not
     * settled; once the checkout is done, a read gives its files, all of them, as one revision.
     */
    @Test
    void anEarlyReadDuringACheckoutOfManyFilesIsNotSettledAndTheReadAfterItIsWhole() throws Exception {
        int n = 30;
        for (int i = 0; i < n; i++) {
            Files.writeString(dir.resolve("p" + i + ".yaml"), POLICY.replace("name: a", "name: a" + i));
        }
        try (DirectoryPolicySource s = open()) {
            String h = s.head();
            s.read(h);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread checkout = Thread.ofPlatform().start(() -> {
                try {
                    // a checkout that goes on until the test has read in the middle of it
                    for (int round = 0; !stop.get() || round < 2; round++) {
                        for (int i = 0; i < n; i++) {
                            Files.writeString(dir.resolve("p" + i + ".yaml"),
                                    POLICY.replace("name: a", "name: a" + i).replace("192.0.2.0", "198.51.100.0"));
                            Thread.sleep(1);
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(20);
            SettlingSource.Early early = s.readEarly(s.head());
            long t0 = System.nanoTime();
            boolean settled = early.settled();
            stop.set(true);
            checkout.join();
            assertTrue(!settled, "read in the middle of a checkout: not settled");
            assertTrue(System.nanoTime() - t0 >= 40_000_000L, "settled() waited out the quiet time");
            Snapshot whole = s.read(s.head());
            assertEquals(n, whole.files().size());
            assertTrue(whole.files().values().stream().allMatch(t -> t.contains("198.51.100.0")), "every file new");
            SettlingSource.Early quiet = s.readEarly(s.head());
            assertTrue(quiet.settled(), "nothing written since: settled");
            assertEquals(whole.revision(), quiet.snapshot().revision());
        }
    }

    /**
     * A temporary file written before it is renamed over a policy file, an editor's swap file, a file of another
     * kind: none is read, so none moves the head (each made a read of every policy file); the rename does.
     */
    @Test
    void filesNoReadTakesDoNotMoveTheHeadTheRenameOverAPolicyFileDoes() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), POLICY);
        try (DirectoryPolicySource s = open()) {
            String h1 = s.head();
            s.read(h1);
            Path tmp = dir.resolve(".a.yaml.tmp");
            for (int i = 0; i < 20; i++) {
                Files.writeString(tmp, POLICY.replace("192.0.2.0", "198.51.100.0").repeat(i + 1));
            }
            Files.writeString(dir.resolve(".a.yaml.swp"), "swap");
            Files.writeString(dir.resolve("notes.txt"), "not a policy");
            assertTrue(!events.tryAcquire(300, TimeUnit.MILLISECONDS), "no event for files no read takes");
            assertEquals(h1, s.head());
            Files.move(tmp, dir.resolve("a.yaml"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            awaitEvent();
            String h2 = s.head();
            assertNotEquals(h1, h2);
            assertTrue(s.read(h2).files().values().iterator().next().contains("198.51.100.0"));
            Files.createDirectories(dir.resolve(".hidden-dir"));   // a directory counts (a ConfigMap's ..2026_...)
            awaitEvent();
            assertNotEquals(h2, s.head());
        }
    }
}
