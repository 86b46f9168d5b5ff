package dev.bpfgit.it;

import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.linux.Netns;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.DirectorySource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An apply that dies half-way leaves the kernel in a state the next apply converges from: after a crash
 * at every kernel call of an install and of an upgrade (in this JVM), after SIGKILL of the CLI in the
 * middle of writing 50,000 entries, and with saved plans that must be applied exactly or refused.
 */
@KernelTest
class ConvergenceIT {
    private static final String V1 = traffic("edge", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 192.0.2.0/24, action: drop}");
    private static final Set<String> V1_RULES = Set.of("203.0.113.0/24 drop", "2001:db8:bad::/48 drop",
            "198.51.100.0/24 pass", "192.0.2.0/24 drop");
    /** One rule changed, one added, one removed, and a capacity that forces new maps. */
    private static final String V2 = traffic("edge", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}",
            "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: '2001:db8:600d::/48', action: drop}").replace("  rules:", "  capacity: 32768\n  rules:");
    private static final Set<String> V2_RULES = Set.of("203.0.113.0/24 drop", "2001:db8:bad::/48 drop",
            "198.51.100.0/24 drop", "2001:db8:600d::/48 drop");
    private static final Set<String> PINS = new TreeSet<>(Set.of("meta MAP", "traffic/eth0/xdp/config MAP",
            "traffic/eth0/xdp/counters MAP", "traffic/eth0/xdp/link LINK", "traffic/eth0/xdp/prog PROG",
            "traffic/eth0/xdp/rules_v4 MAP", "traffic/eth0/xdp/rules_v6 MAP"));
    private static final Set<String> MUTATING = Set.of("makeDirs", "createMap", "update", "delete", "loadProgram",
            "attach", "updateLink", "unpin", "rename");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void aFirstApplyCrashedAfterAnyKernelCallConvergesOnTheNextApply(@TempDir Path dir) throws Exception {
        write(dir, "edge.yaml", V1);
        try (Topology t = Topology.pair()) {
            int calls = mutatingCalls(t, dir, null);
            assertTrue(calls >= 8, "a first apply makes maps, entries, a program and a link: " + calls + " calls");
            for (int k = 0; k < calls; k++) {
                try (PinRoot root = PinRoot.create()) {
                    assertTrue(crashAt(t, root.path(), dir, k), "apply crashed at call " + k);
                    converge(t, root.path(), dir, V1_RULES, "crash at call " + k + " of " + calls);
                }
                awaitDetached(t);
            }
        }
    }

    @Test
    void anUpgradeCrashedAfterAnyKernelCallKeepsEnforcingAndConverges(@TempDir Path dir) throws Exception {
        Path v1 = Files.createDirectories(dir.resolve("v1"));
        Path v2 = Files.createDirectories(dir.resolve("v2"));
        write(v1, "edge.yaml", V1);
        write(v2, "edge.yaml", V2);
        try (Topology t = Topology.pair()) {
            try (PinRoot root = PinRoot.create()) {
                Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
                edge.apply(v1);
                Set<String> kinds = new TreeSet<>();
                edge.plan(v2).units().forEach(u -> u.changes().forEach(c -> kinds.add(c.getClass().getSimpleName())));
                assertTrue(kinds.containsAll(Set.of("ReplaceMap", "LoadProgram", "UpdateLink", "Rename")),
                        "the upgrade swaps maps and the program under the link: " + kinds);
            }
            awaitDetached(t);
            int calls = mutatingCalls(t, v2, v1);
            assertTrue(calls >= 6, "an upgrade with new maps: " + calls + " calls");
            Topology.UdpSink sink = t.udpSink("edge", "10.0.0.2", 7001);
            for (int k = 0; k < calls; k++) {
                try (PinRoot root = PinRoot.create()) {
                    Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
                    edge.apply(v1);
                    assertTrue(crashAt(t, root.path(), v2, k), "upgrade crashed at call " + k);
                    String when = "upgrade crashed at call " + k + " of " + calls;
                    assertNotEquals(0, t.xdpProgId("edge", "eth0"), when + ": the datapath stays attached");
                    // 203.0.113.0/24 is dropped by both revisions, so by every state in between
                    int before = sink.from("10.0.0.1");
                    t.udpSend("client", "203.0.113.7", "10.0.0.2", 7001, 2);
                    t.udpSend("client", "10.0.0.1", "10.0.0.2", 7001, 2);
                    assertEquals(before + 2, sink.await("10.0.0.1", before + 2), when);
                    assertEquals(0, sink.from("203.0.113.7"), when + ": a rule both revisions have was lost");
                    converge(t, root.path(), v2, V2_RULES, when);
                }
                awaitDetached(t);
            }
        }
    }

    @Test
    void sigkillInTheMiddleOfWriting50000EntriesThenReapplyConverges(@TempDir Path dir) throws Exception {
        StringBuilder rules = new StringBuilder();
        Set<String> expected = new TreeSet<>(V1_RULES);
        String[] v1 = {"{prefix: 203.0.113.0/24, action: drop}", "{prefix: 2001:db8:bad::/48, action: drop}",
                "{prefix: 198.51.100.0/24, action: pass}", "{prefix: 192.0.2.0/24, action: drop}"};
        for (int i = 0; i < 50_000; i++) {
            String p = "11." + (i >> 8) + "." + (i & 0xff) + ".0/24";
            rules.append("    - {prefix: ").append(p).append(", action: drop}\n");
            expected.add(p + " drop");
        }
        write(dir, "big.yaml", traffic("big", "eth0", "xdp", "source", "pass", v1)
                .replace("  rules:\n", "  capacity: 65536\n  rules:\n") + rules);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            t.addr("client", "eth0", "11.0.5.7");
            t.ip("edge", "route", "add", "11.0.0.0/8", "via", "10.0.0.1");
            Path rulesV4 = root.resolve("traffic/eth0/xdp/rules_v4");
            Path link = root.resolve("traffic/eth0/xdp/link");

            Process apply = Bpfgit.start(t.ns("edge"), "apply", dir.toString(), "--root", root.toString(), "--yes");
            CompletableFuture<String> out = dev.bpfgit.kernel.testing.Commands.drain(apply.getInputStream());
            CompletableFuture<String> err = dev.bpfgit.kernel.testing.Commands.drain(apply.getErrorStream());
            try {
                // the first map appears after parse, compile and plan; the link comes after 50,000 entries
                boolean started = Topology.waitFor(Duration.ofSeconds(120), Duration.ofMillis(1),
                        () -> Files.exists(rulesV4) || !apply.isAlive());
                assertTrue(started && apply.isAlive(), "apply ended before creating its maps: " + err.getNow(""));
                Commands.run("kill", "-STOP", Long.toString(apply.pid()));
                assertFalse(Files.exists(link), "stopped too late: the apply had already attached");
                Commands.run("kill", "-KILL", Long.toString(apply.pid()));
                assertTrue(apply.waitFor(10, TimeUnit.SECONDS));
                assertEquals(137, apply.exitValue(), "killed by SIGKILL");
            } finally {
                apply.destroyForcibly();
            }
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            int written = edge.entries("traffic/eth0/xdp/rules_v4").size();
            assertTrue(written < 50_003, "killed before all entries were written: " + written);
            assertEquals(0, t.xdpProgId("edge", "eth0"), "nothing attached yet");

            Bpfgit.Cli again = edge.cli("apply", dir.toString(), "--yes");
            assertEquals(0, again.exit(), again.toString());
            Bpfgit.Cli plan = edge.cli("plan", dir.toString());
            assertEquals(0, plan.exit(), plan.toString());
            assertEquals(expected, rules(edge), "exactly the desired entries");
            assertOneLink(t, edge);
            assertEquals(0, t.ping("client", "11.0.5.7", "10.0.0.2", 2), "one of the 50,000");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 2));
            assertEquals(2, t.ping("client", "198.51.100.7", "10.0.0.2", 2));
            assertEquals(2, t.ping("client", "10.0.0.1", "10.0.0.2", 2));
        }
    }

    @Test
    void aSavedPlanIsAppliedExactly(@TempDir Path dir) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        write(policies, "edge.yaml", V1);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli plan = edge.cli("plan", policies.toString(), "-o", "json");
            assertEquals(1, plan.exit(), plan.toString());
            Path saved = write(dir, "plan.json", plan.out());
            // the files change after planning: apply --plan must run the saved plan, not the files
            write(policies, "edge.yaml", V2);

            Bpfgit.Cli apply = edge.cli("apply", "--plan", saved.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertTrue(apply.out().contains("Applied"), apply.out());
            assertEquals(V1_RULES, rules(edge));
            assertOneLink(t, edge);
            assertEquals(0, t.ping("client", "192.0.2.7", "10.0.0.2", 2), "v1's rule, which v2 removes");
            write(policies, "edge.yaml", V1);
            assertTrue(edge.plan(policies).inSync());
        }
    }

    @Test
    void aSavedPlanIsRefusedAsStaleWhenTheKernelChangedSincePlanning(@TempDir Path dir) throws Exception {
        Path policies = Files.createDirectories(dir.resolve("policies"));
        write(policies, "edge.yaml", V1);
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            edge.apply(policies);
            write(policies, "edge.yaml", V1.replace("{prefix: 198.51.100.0/24, action: pass}",
                    "{prefix: 198.51.100.0/24, action: drop}"));
            Bpfgit.Cli plan = edge.cli("plan", policies.toString(), "-o", "json");
            assertEquals(1, plan.exit(), plan.toString());
            Path saved = write(dir, "plan.json", plan.out());

            // someone deletes 192.0.2.0/24 (key: prefixlen 24 little-endian, then the address) meanwhile
            Commands.run("bpftool", "map", "delete", "pinned", root.resolve("traffic/eth0/xdp/rules_v4").toString(),
                    "key", "hex", "18", "00", "00", "00", "c0", "00", "02", "00");
            Bpfgit.Cli stale = edge.cli("apply", "--plan", saved.toString(), "--yes");
            assertEquals(3, stale.exit(), stale.toString());
            assertTrue(stale.err().contains("stale"), stale.err());
            Set<String> untouched = new TreeSet<>(V1_RULES);
            untouched.remove("192.0.2.0/24 drop");
            assertEquals(untouched, rules(edge), "the stale plan changed nothing");

            Bpfgit.Cli fresh = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, fresh.exit(), fresh.toString());
            assertEquals(Set.of("203.0.113.0/24 drop", "2001:db8:bad::/48 drop", "198.51.100.0/24 drop",
                    "192.0.2.0/24 drop"), rules(edge));
        }
    }

    // ---- crashes in this JVM

    /**
     * The link dies with its last pin, but the kernel detaches it from deferred work (bpf_link_put), a
     * moment after the unlink returns: the next round must not mistake it for a foreign program.
     */
    private static void awaitDetached(Topology t) {
        assertTrue(Topology.waitFor(Duration.ofSeconds(2), () -> t.xdpProgId("edge", "eth0") == 0),
                "the XDP program outlived its pin root");
    }

    /** The kernel calls that change state made by applying {@code policies} (over {@code base} if given). */
    private static int mutatingCalls(Topology t, Path policies, Path base) throws Exception {
        try (PinRoot root = PinRoot.create()) {
            if (base != null) {
                new Bpfgit.Host(t.ns("edge"), root.path()).apply(base);
            }
            int[] count = {0};
            Kernel counting = intercept(new LinuxKernel(), name -> {
                if (MUTATING.contains(name)) {
                    count[0]++;
                }
            });
            Netns.call(t.path("edge"), () -> applyWith(counting, root.path(), policies));
            return count[0];
        } finally {
            awaitDetached(t);
        }
    }

    /** Applies with a kernel that fails as if the process died just before mutating call {@code k}. */
    private static boolean crashAt(Topology t, Path root, Path policies, int k) throws Exception {
        int[] count = {0};
        // a dead process makes no more calls: every change from call k on fails, bookkeeping included
        Kernel crashing = intercept(new LinuxKernel(), name -> {
            if (MUTATING.contains(name) && count[0]++ >= k) {
                throw new Crash();
            }
        });
        try {
            Netns.call(t.path("edge"), () -> applyWith(crashing, root, policies));
            return false;
        } catch (RuntimeException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof Crash) {
                    return true;
                }
            }
            throw e;
        }
    }

    private static Object applyWith(Kernel kernel, Path root, Path policies) {
        Pipeline p = new Pipeline(kernel, root, Clock.systemUTC());
        Plan plan = p.plan(p.compile(DirectorySource.read(policies), p.host("it-host", Map.of())));
        return p.apply(plan);
    }

    private static final class Crash extends RuntimeException {
        Crash() {
            super("simulated crash", null, false, false);
        }
    }

    private interface BeforeCall {
        void before(String method);
    }

    /** The real kernel behind a proxy that runs {@code hook} before each call. */
    private static Kernel intercept(Kernel real, BeforeCall hook) {
        InvocationHandler h = (proxy, method, args) -> {
            hook.before(method.getName());
            try {
                return method.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class}, h);
    }

    // ---- what converged means

    /** A full apply after the crash: then in sync, exactly the desired rules, one link, traffic as declared. */
    private static void converge(Topology t, Path root, Path policies, Set<String> want, String when) throws Exception {
        Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root);
        edge.apply(policies);
        Plan again = edge.plan(policies);
        assertTrue(again.inSync(), when + ": still pending after re-apply: " + again.units());
        assertEquals(want, rules(edge), when);
        assertOneLink(t, edge);
        assertEquals(PINS, new TreeSet<>(edge.pins()), when + ": exactly the unit's pins, nothing staged left");
    }

    /** The rules in the unit's tries as "prefix action", decoded from the raw map entries. */
    static Set<String> rules(Bpfgit.Host edge) throws Exception {
        Set<String> out = new TreeSet<>();
        for (String map : List.of("rules_v4", "rules_v6")) {
            for (Entry e : edge.entries("traffic/eth0/xdp/" + map)) {
                out.add(TrafficLayout.prefix(e.key()) + " " + TrafficLayout.rule(e.value()).action().yaml);
            }
        }
        return out;
    }

    /** Exactly one link pinned in the unit, and it is what runs at eth0's XDP hook. */
    static void assertOneLink(Topology t, Bpfgit.Host edge) throws Exception {
        List<String> links = edge.pins().stream().filter(p -> p.endsWith(" LINK")).toList();
        assertEquals(List.of("traffic/eth0/xdp/link LINK"), links);
        List<Integer> running = edge.inside(p -> p.kernel().attached(new AttachPoint.Xdp("eth0")).stream()
                .map(AttachedProgram::progId).toList());
        int pinned = edge.inside(p -> p.kernel().programInfo(edge.root().resolve("traffic/eth0/xdp/prog"))
                .orElseThrow().id());
        assertEquals(List.of(pinned), running, "the pinned program is the one attached");
        assertEquals(pinned, t.xdpProgId("edge", "eth0"), "as iproute2 sees it");
        List<Integer> linked = new ArrayList<>();
        edge.inside(p -> p.kernel().linkInfo(edge.root().resolve("traffic/eth0/xdp/link")))
                .ifPresent(l -> linked.add(l.progId()));
        assertEquals(List.of(pinned), linked, "the link runs the pinned program");
    }
}
