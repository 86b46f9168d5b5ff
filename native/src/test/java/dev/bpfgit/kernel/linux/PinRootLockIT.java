package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pin-root lock on bpffs: exclusive per open, bounded wait, holder from /proc/locks, a removed root. */
@KernelTest
class PinRootLockIT {

    @Test
    void aSecondLockWaitsThenFailsNamingTheHolder() throws Exception {
        try (PinRoot root = PinRoot.create(); PinRootLock held = PinRootLock.acquire(root.path())) {
            long started = System.nanoTime();
            KernelException e = assertThrows(KernelException.class,
                    () -> PinRootLock.acquire(root.path(), Duration.ofMillis(300), null));
            assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(300), "it waited");
            assertEquals("EAGAIN", e.errno().name());
            long me = ProcessHandle.current().pid();
            assertTrue(e.getMessage().startsWith("lock pin root " + root.path() + ": EAGAIN")
                    && e.getMessage().contains("another bpfgit writer holds it: pid " + me + " (")
                    && e.getMessage().contains("running since ") && e.getMessage().contains("waited 300ms"),
                    e.getMessage());
            assertEquals(me, PinRootLock.holder(root.path()).orElseThrow().pid());
        }
    }

    @Test
    void aWaiterGetsTheLockWhenItIsReleased() throws Exception {
        try (PinRoot root = PinRoot.create()) {
            PinRootLock held = PinRootLock.acquire(root.path());
            CompletableFuture<PinRootLock> waiter = CompletableFuture.supplyAsync(
                    () -> PinRootLock.acquire(root.path(), Duration.ofSeconds(30), null));
            Thread.sleep(500);
            assertFalse(waiter.isDone());
            held.close();
            waiter.get(10, TimeUnit.SECONDS).close();
            assertTrue(PinRootLock.holder(root.path()).isEmpty(), "released");
        }
    }

    /** A destroy removes the root it locked: a waiter must lock the root at the path, never the dead one. */
    @Test
    void aRootRemovedByTheHolderIsRecreatedPrivateAndLockedAgainOrReportedMissing() throws Exception {
        try (PinRoot parent = PinRoot.create()) {
            Path root = parent.resolve("root");
            Runnable create = () -> {
                try {
                    Files.createDirectory(root, PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwx------")));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            // a waiter that may create the root locks the new one
            PinRootLock first = PinRootLock.acquire(root, Duration.ZERO, create);
            assertTrue(first.createdRoot());
            CompletableFuture<PinRootLock> creating = CompletableFuture.supplyAsync(
                    () -> PinRootLock.acquire(root, Duration.ofSeconds(30), create));
            Thread.sleep(500);
            Files.delete(root);   // what destroy does last
            first.close();
            try (PinRootLock second = creating.get(10, TimeUnit.SECONDS)) {
                assertTrue(Files.isDirectory(root));
                assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root)));
                assertEquals(ProcessHandle.current().pid(), PinRootLock.holder(root).orElseThrow().pid());
            }
            assertFalse(Files.exists(root), "an empty root the lock created goes with it");

            // a waiter that may not (destroy) reports it missing
            PinRootLock third = PinRootLock.acquire(root, Duration.ZERO, create);
            CompletableFuture<PinRootLock> notCreating = CompletableFuture.supplyAsync(
                    () -> PinRootLock.acquire(root, Duration.ofSeconds(30), null));
            Thread.sleep(500);
            Files.delete(root);
            third.close();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> notCreating.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof KernelException.NotFound, e.getCause().toString());
            assertFalse(Files.exists(root), "an empty root the lock created goes with it");
        }
    }
}
