package dev.bpfgit.it;

import dev.bpfgit.kernel.linux.PinRootLock;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One writer per pin root (design §6), with the packaged tool as processes: concurrent applies serialize,
 * a writer that cannot get the lock in time exits 3 naming the holder, a saved plan is checked for
 * staleness under the lock, and an unsafe pin root is refused.
 */
@KernelTest
class LockIT {
    private static final String A = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}");
    private static final String B = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: 192.0.2.0/24, action: drop}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    /**
     * Both applies are started while the root is locked, so both are waiting when it is released: one of
     * them applies first, the other then plans against that state and wins. Neither fails, nothing is mixed.
     */
    @Test
    void twoAppliesStartedTogetherEndWithTheStateOfTheLaterOne(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        Path b = write(dir.resolve("b"), "edge.yaml", B).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            CompletableFuture<Bpfgit.Cli> first;
            CompletableFuture<Bpfgit.Cli> second;
            try (PinRootLock held = PinRootLock.acquire(root.path())) {
                first = CompletableFuture.supplyAsync(() -> edge.cli("apply", a.toString(), "--yes"));
                second = CompletableFuture.supplyAsync(() -> edge.cli("apply", b.toString(), "--yes"));
                Thread.sleep(4000);   // both JVMs up and polling the lock
                assertFalse(first.isDone() || second.isDone(), "an apply ran while the root was locked");
            }
            Bpfgit.Cli ra = first.get(120, TimeUnit.SECONDS);
            Bpfgit.Cli rb = second.get(120, TimeUnit.SECONDS);
            assertEquals(0, ra.exit(), ra.toString());
            assertEquals(0, rb.exit(), rb.toString());
            // the one that went first created the unit; the other changed its entries
            boolean aFirst = ra.out().contains("Plan: 5 to create");
            Bpfgit.Cli earlier = aFirst ? ra : rb;
            Bpfgit.Cli later = aFirst ? rb : ra;
            assertTrue(earlier.out().contains("Plan: 5 to create, 0 to change, 0 to remove; entries +3 ~0 -0."),
                    earlier.toString());
            assertTrue(later.out().contains("Plan: 0 to create, 1 to change, 0 to remove; entries +2 ~0 -2."),
                    later.toString());
            Path winner = aFirst ? b : a;
            Path loser = aFirst ? a : b;
            assertEquals(0, edge.cli("plan", winner.toString()).exit(), "the kernel holds the later apply's state");
            assertEquals(1, edge.cli("plan", loser.toString()).exit());
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }

    /**
     * Two applies on one root, the first caught (and stopped) while it holds the lock: the second, with a
     * short --lock-timeout, exits 3 naming the first; the first then finishes, and its state is the host's.
     */
    @Test
    void anApplyThatCannotGetTheLockInTimeExitsThreeNamingTheApplyHoldingIt(@TempDir Path dir) throws Exception {
        StringBuilder big = new StringBuilder(A.replace("  rules:\n", "  capacity: 32768\n  rules:\n"));
        for (int i = 0; i < 20_000; i++) {
            big.append("    - {prefix: 11.").append(i >> 8).append('.').append(i & 0xff).append(".0/24, action: drop}\n");
        }
        Path a = write(dir.resolve("a"), "edge.yaml", big.toString()).getParent();
        Path b = write(dir.resolve("b"), "edge.yaml", B).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Process first = Bpfgit.start(t.ns("edge"), "apply", a.toString(), "--yes", "--root", root.path().toString());
            CompletableFuture<String> firstOut = Commands.drain(first.getInputStream());
            CompletableFuture<String> firstErr = Commands.drain(first.getErrorStream());
            try {
                assertTrue(Topology.waitFor(Duration.ofSeconds(120), Duration.ofMillis(2), () -> !first.isAlive()
                        || PinRootLock.holder(root.path()).map(h -> h.pid() == first.pid()).orElse(false)),
                        "the first apply takes the lock");
                Commands.run("kill", "-STOP", Long.toString(first.pid()));
                assertTrue(first.isAlive(), "caught while holding the lock: " + firstErr.getNow(""));

                Bpfgit.Cli second = edge.cli("apply", b.toString(), "--yes", "--lock-timeout", "1s");
                assertEquals(3, second.exit(), second.toString());
                assertEquals("", second.out(), "nothing planned or applied without the lock");
                assertTrue(second.err().startsWith("error: lock pin root " + root.path() + ": EAGAIN")
                        && second.err().contains("another bpfgit writer holds it: pid " + first.pid()
                        + " (bpfgit apply " + a + " --yes --root " + root.path() + ", running since ")
                        && second.err().contains("waited 1s"), second.err());

                Commands.run("kill", "-CONT", Long.toString(first.pid()));
                assertTrue(first.waitFor(120, TimeUnit.SECONDS));
                assertEquals(0, first.exitValue(), firstOut.get() + firstErr.get());
                assertEquals(0, edge.cli("plan", a.toString()).exit(), "the host has the first apply's state");
                assertEquals(1, edge.cli("plan", b.toString()).exit());
            } finally {
                if (first.isAlive()) {
                    first.destroyForcibly();   // SIGKILL ends a stopped process too
                    first.waitFor();
                }
            }
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }

    /**
     * A {@code run} holds the root for its lifetime: an apply or a destroy with a short --lock-timeout
     * exits 3 naming it; a destroy with a long one waits until the sidecar stops, then destroys.
     */
    @Test
    void writersWaitForARunningSidecarThenFailNamingItOrProceedWhenItStops(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        Path b = write(dir.resolve("b"), "edge.yaml", B).getParent();
        Path config = write(dir, "bpfgit.yaml", "source:\n  path: " + a + RunIT.lastGood(dir) + "\nreconcile:\n  interval: 60s\n");
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Process run = Bpfgit.start(t.ns("edge"), "run", "--config", config.toString(), "--root",
                    root.path().toString());
            CompletableFuture<String> runErr = Commands.drain(run.getErrorStream());
            Commands.drain(run.getInputStream());
            try {
                assertTrue(Topology.waitFor(Duration.ofSeconds(60), () -> Bpfgit.unchecked(
                        () -> edge.cli("plan", a.toString()).exit() == 0)), "the sidecar applied A");

                long started = System.nanoTime();
                Bpfgit.Cli apply = edge.cli("apply", b.toString(), "--yes", "--lock-timeout", "1s");
                assertEquals(3, apply.exit(), apply.toString());
                assertTrue(System.nanoTime() - started > TimeUnit.MILLISECONDS.toNanos(1000), "it waited");
                String holder = "another bpfgit writer holds it: pid " + run.pid() + " (bpfgit run --config " + config;
                assertTrue(apply.err().startsWith("error: lock pin root " + root.path() + ": EAGAIN")
                        && apply.err().contains(holder) && apply.err().contains("running since ")
                        && apply.err().contains("waited 1s"), apply.err());
                assertEquals(0, edge.cli("plan", a.toString()).exit(), "the refused apply changed nothing");

                Bpfgit.Cli destroy = edge.cli("destroy", "--yes", "--lock-timeout", "500ms");
                assertEquals(3, destroy.exit(), destroy.toString());
                assertTrue(destroy.err().contains(holder) && destroy.err().contains("waited 500ms"), destroy.err());
                assertTrue(Files.exists(root.path().resolve("traffic/eth0/xdp/link")));

                CompletableFuture<Bpfgit.Cli> waiting = CompletableFuture.supplyAsync(
                        () -> edge.cli("destroy", "--yes", "--lock-timeout", "60s"));
                Thread.sleep(3000);
                assertFalse(waiting.isDone(), "destroy waits for the sidecar");
                Commands.run("kill", "-TERM", Long.toString(run.pid()));
                assertTrue(run.waitFor(60, TimeUnit.SECONDS), "run stops on SIGTERM");
                Bpfgit.Cli after = waiting.get(120, TimeUnit.SECONDS);
                assertEquals(0, after.exit(), after + "\nrun: " + runErr.getNow(""));
                assertTrue(after.out().contains("Destroyed: "), after.out());
                assertFalse(Files.exists(root.path()));
            } finally {
                run.destroyForcibly().waitFor();
                RunIT.noHostState(root.path());
            }
        }
    }

    /**
     * The staleness check of a saved plan runs under the lock: a plan that was current when apply started
     * waiting, but was made stale by the writer it waited for, is refused.
     */
    @Test
    void aSavedPlanMadeStaleWhileWaitingForTheLockIsRefused(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        Path b = write(dir.resolve("b"), "edge.yaml", B).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            assertEquals(0, edge.cli("apply", a.toString(), "--yes").exit());
            Bpfgit.Cli saved = edge.cli("plan", b.toString(), "-o", "json");
            assertEquals(1, saved.exit(), saved.toString());
            Path planFile = write(dir, "plan.json", saved.out());

            CompletableFuture<Bpfgit.Cli> apply;
            try (PinRootLock held = PinRootLock.acquire(root.path())) {
                apply = CompletableFuture.supplyAsync(() -> edge.cli("apply", "--plan", planFile.toString(),
                        "--yes"));
                Thread.sleep(3000);
                assertFalse(apply.isDone(), "apply --plan waits for the lock");
                // the holder changes the live state: one more rule, as another writer would
                Path c = write(dir.resolve("c"), "edge.yaml", A.replace("  rules:\n",
                        "  rules:\n    - {prefix: 192.0.2.0/24, action: drop}\n"));
                edge.apply(c.getParent());
            }
            Bpfgit.Cli r = apply.get(120, TimeUnit.SECONDS);
            assertEquals(3, r.exit(), r.toString());
            assertTrue(r.err().startsWith("error: the plan in " + planFile + " is stale"), r.err());
            assertEquals(1, edge.cli("plan", b.toString()).exit(), "the stale plan was not applied");
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }

    /** A root anybody may write to is refused by reading and writing verbs, and nothing is changed. */
    @Test
    void aPinRootWithAWideModeIsRefused(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Files.setPosixFilePermissions(root.path(), PosixFilePermissions.fromString("rwxr-xr-x"));
            for (List<String> verb : List.of(List.of("apply", a.toString(), "--yes"), List.of("status"),
                    List.of("plan", a.toString()), List.of("destroy", "--yes"))) {
                Bpfgit.Cli r = edge.cli(verb.toArray(String[]::new));
                assertEquals(3, r.exit(), r.toString());
                assertTrue(r.err().startsWith("error: pin root " + root.path() + " is not safe to use: mode 0755"
                        + " (rwxr-xr-x), owner root (uid 0)") && r.err().contains("chmod 0700 " + root.path()), r.err());
            }
            assertEquals(List.of(), edge.pins(), "nothing was written");
            Files.setPosixFilePermissions(root.path(), PosixFilePermissions.fromString("rwx------"));
            Bpfgit.Cli ok = edge.cli("apply", a.toString(), "--yes");
            assertEquals(0, ok.exit(), ok.toString());
            assertNotEquals(List.of(), edge.pins());
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }

    /**
     * The first apply on a host creates the root (0700) to lock it; an apply that ends without writing
     * leaves no root behind.
     */
    @Test
    void aMissingRootIsCreatedPrivateAndRemovedAgainWhenNothingWasWritten(@TempDir Path dir) throws Exception {
        Path a = write(dir.resolve("a"), "edge.yaml", A).getParent();
        Path broken = write(dir.resolve("broken"), "edge.yaml", A.replace("action: drop}", "action: dorp}"))
                .getParent();
        try (PinRoot parent = PinRoot.create(); Topology t = Topology.pair()) {
            Path fresh = parent.resolve("fresh");
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), fresh);
            Bpfgit.Cli invalid = edge.cli("apply", broken.toString(), "--yes");
            assertEquals(2, invalid.exit(), invalid.toString());
            assertFalse(Files.exists(fresh), "no root left by an apply that wrote nothing");
            Bpfgit.Cli ok = edge.cli("apply", a.toString(), "--yes");
            assertEquals(0, ok.exit(), ok.toString());
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
            assertEquals(0, edge.cli("destroy", "--yes").exit());
            assertFalse(Files.exists(fresh));
        }
    }
}
