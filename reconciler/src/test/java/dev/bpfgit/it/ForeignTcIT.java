package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A foreign tc program at the interface and direction a TrafficPolicy attaches to (design section 5): a tcx
 * program another tool attached, and another bpfgit root's, are refused by plan and apply (exit 3, nothing
 * changed) unless the policy says {@code foreignPrograms: coexist}; the sidecar fails that policy alone and
 * applies the rest. (The legacy cls_bpf filter case, which 6.1 runs too, is in {@link LegacyTcPolicyIT}.)
 */
@KernelTest
class ForeignTcIT {
    private static final String IN = traffic("in", "eth0", "tc-ingress", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}");
    private static final String EDGE = traffic("edge", "eth0", "xdp", "source", "pass",
            "{prefix: 198.51.100.0/24, action: drop}");

    @TempDir
    static Path build;
    static Path foreignObject;

    @BeforeAll
    static void prepare() throws Exception {
        Bpfgit.warmUp();
        // decides nothing (TC_ACT_UNSPEC, or TCX_NEXT): the next program runs
        foreignObject = Bpfgit.bpfObject(build, "foreign_tcx", """
                #include <linux/bpf.h>
                __attribute__((section("tc"), used)) int foreign_tcx(struct __sk_buff *skb) { return -1; }
                __attribute__((section("license"), used)) char LICENSE[] = "GPL";
                """);
    }

    private static String coexisting(String policy) {
        return policy.replace("  rules:", "  foreignPrograms: coexist\n  rules:");
    }

    /** The ids of the programs at eth0's tc ingress, as the kernel lists them. */
    private static List<Integer> ingress(Bpfgit.Host edge) throws Exception {
        return edge.inside(p -> p.kernel().attached(new AttachPoint.Tcx("eth0", AttachPoint.Direction.INGRESS)))
                .stream().map(AttachedProgram::progId).sorted().toList();
    }

    /**
     * A tcx link another tool made (here: pinned under a directory of its own, as bpftool 7.1 cannot attach
     * tcx): refused with its id and name, nothing changed; with the opt-in bpfgit attaches beside it.
     */
    @Test
    @Tag("tcx")
    void aForeignTcxProgramIsRefusedByDefaultAndCoexistsOnRequest(@TempDir Path dir) throws Exception {
        assertTrue(new LinuxKernel().features().has(Feature.TCX_LINK), "this test needs tcx");
        write(dir, "in.yaml", IN);
        try (PinRoot root = PinRoot.create(); PinRoot theirs = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns edgeNs = t.ns("edge");
            Commands.run("bpftool", "prog", "load", foreignObject.toString(), theirs.resolve("prog").toString(),
                    "type", "classifier");
            Bpfgit.Host edge = new Bpfgit.Host(edgeNs, root.path());
            edge.inside(p -> {
                p.kernel().attach(theirs.resolve("link"), theirs.resolve("prog"),
                        new AttachPoint.Tcx("eth0", AttachPoint.Direction.INGRESS));
                return null;
            });
            List<Integer> before = ingress(edge);
            assertEquals(1, before.size(), before.toString());
            int foreign = before.getFirst();

            for (String verb : List.of("plan", "apply")) {
                Bpfgit.Cli r = verb.equals("plan") ? edge.cli("plan", dir.toString())
                        : edge.cli("apply", dir.toString(), "--yes");
                assertEquals(3, r.exit(), r.toString());
                assertTrue(r.err().startsWith("error: eth0 tcx-ingress: program id " + foreign + " \"foreign_tcx\" is"
                        + " attached and was not attached by bpfgit; for TrafficPolicy/in: it may decide packets before"
                        + " bpfgit's program does"), r.err());
                assertTrue(r.err().contains("set spec.foreignPrograms: coexist in TrafficPolicy/in.")
                        && r.err().endsWith("nothing was changed.\n"), r.err());
                assertEquals("", r.out(), "no plan printed: " + r);
            }
            assertEquals(List.of(), edge.pins(), "nothing applied");
            assertEquals(before, ingress(edge), "the foreign program alone, still attached");
            assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "no policy runs");

            write(dir, "in.yaml", coexisting(IN));
            Bpfgit.Cli plan = edge.cli("plan", dir.toString());
            assertEquals(1, plan.exit(), plan.toString());
            assertTrue(plan.out().contains("Warning: eth0 tcx-ingress: program id " + foreign + " \"foreign_tcx\""),
                    plan.out());
            Bpfgit.Cli apply = edge.cli("apply", dir.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "bpfgit's rule runs after theirs");
            assertEquals(3, t.ping("client", "10.0.0.1", "10.0.0.2", 3));
            assertEquals(2, ingress(edge).size());
            assertEquals(0, edge.cli("plan", dir.toString()).exit(), "in sync, its own program not foreign");

            Bpfgit.Cli destroy = edge.cli("destroy", "--yes");
            assertEquals(0, destroy.exit(), destroy.toString());
            assertEquals(before, ingress(edge), "theirs is never detached");
        }
    }

    /**
     * Another pin root is another owner: its tc program is foreign to this root, while this root's own program
     * is never foreign to a new process of it (a restart). Legacy tc or tcx, whichever the kernel has.
     */
    @Test
    void anotherPinRootsProgramIsForeignAndOnesOwnIsNotAfterARestart(@TempDir Path dir) throws Exception {
        write(dir, "in.yaml", IN);
        try (PinRoot a = PinRoot.create(); PinRoot b = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host first = new Bpfgit.Host(t.ns("edge"), a.path());
            Bpfgit.Host second = new Bpfgit.Host(t.ns("edge"), b.path());
            Bpfgit.Cli saved = second.cli("plan", dir.toString(), "-o", "json");
            assertEquals(1, saved.exit(), saved.toString());
            Path planFile = write(build, "saved-plan.json", saved.out());   // outside the policies
            Bpfgit.Cli applied = first.cli("apply", dir.toString(), "--yes");
            assertEquals(0, applied.exit(), applied.toString());
            List<Integer> before = ingress(first);
            assertEquals(1, before.size(), before.toString());
            assertEquals(0, first.cli("plan", dir.toString()).exit(), "its own program, seen by a new process");

            Bpfgit.Cli other = second.cli("apply", dir.toString(), "--yes");
            assertEquals(3, other.exit(), other.toString());
            assertTrue(other.err().contains("program id " + before.getFirst() + " \"")
                    && other.err().contains("is attached and was not attached by bpfgit; for TrafficPolicy/in"),
                    other.err());
            // a plan saved before the other program came: stale, though nothing under its own root changed
            Bpfgit.Cli stale = second.cli("apply", "--plan", planFile.toString(), "--yes");
            assertEquals(3, stale.exit(), stale.toString());
            assertTrue(stale.err().contains("is stale: eth0 ") && stale.err().contains("program id " + before.getFirst()),
                    stale.err());
            assertEquals(List.of(), second.pins());
            assertEquals(before, ingress(first), "the first root's program untouched");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));
            assertEquals(0, first.cli("destroy", "--yes").exit());
            assertEquals(List.of(), ingress(first));
        }
    }

    /**
     * The sidecar: a foreign tc program refuses one policy, which is reported failed (log, metrics, status);
     * the rest of the revision is applied; once the foreign program is gone the policy is applied without a
     * restart.
     */
    @Test
    void theSidecarFailsThatPolicyAloneAndAppliesItOnceTheForeignProgramIsGone(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "in.yaml", IN).getParent();
        write(policies, "edge.yaml", EDGE);
        try (PinRoot root = PinRoot.create(); PinRoot theirs = PinRoot.create(); Topology t = Topology.pair()) {
            TestNetns edgeNs = t.ns("edge");
            Commands.run("bpftool", "prog", "load", foreignObject.toString(), theirs.resolve("prog").toString(),
                    "type", "classifier");
            edgeNs.run("tc", "qdisc", "add", "dev", "eth0", "clsact");
            edgeNs.run("tc", "filter", "add", "dev", "eth0", "ingress", "pref", "10", "handle", "0x7", "bpf", "da",
                    "object-pinned", theirs.resolve("prog").toString());
            String shown = edgeNs.run("tc", "filter", "show", "dev", "eth0", "ingress");
            Matcher id = Pattern.compile("id (\\d+)").matcher(shown);
            assertTrue(id.find(), shown);
            Bpfgit.Host edge = new Bpfgit.Host(edgeNs, root.path());
            int port = ThreadLocalRandom.current().nextInt(20000, 40000);
            Path cfg = dir.resolve("bpfgit.yaml");
            Files.writeString(cfg, "root: " + root.path() + "\nhost: {name: it-host}\nsource:\n  path: " + policies
                    + RunIT.lastGood(dir) + "\nreconcile: {interval: 60s, jitter: 0, drift: correct}\nmetrics:\n"
                    + "  listen: 127.0.0.1:" + port + "\n");
            try (RunIT.Daemon d = new RunIT.Daemon(edgeNs, root.path(), cfg, port, dir.resolve("run.log"))) {
                String failed = "bpfgit_policy_state\\{policy=\"TrafficPolicy/in\",state=\"failed\"}";
                assertTrue(Topology.waitFor(Duration.ofSeconds(60), Duration.ofMillis(200), () -> !d.process.isAlive()
                        || d.get("/metrics").body().contains("state=\"failed\"} 1")), "never failed:\n" + d);
                String metrics = d.get("/metrics").body();
                assertEquals(1.0, RunIT.sample(metrics, failed), metrics);
                assertEquals(1.0, RunIT.sample(metrics,
                        "bpfgit_policy_state\\{policy=\"TrafficPolicy/edge\",state=\"in_sync\"}"), metrics);
                RunIT.Http ready = d.get("/readyz");
                assertEquals(503, ready.code(), "not ready with a failed policy");
                // the body says which policy and why, one line
                assertTrue(Pattern.compile("(?m)^TrafficPolicy/in: eth0 .*program id " + id.group(1) + "\\b.*$")
                        .matcher(ready.body()).find(), ready.body());
                assertFalse(ready.body().contains("TrafficPolicy/edge"), "the applied policy is not named: " + ready.body());
                assertTrue(d.log().contains("[TrafficPolicy/in] failed, the rest applied: eth0 ")
                        && d.log().contains("program id " + id.group(1)), d.toString());
                assertEquals(0, t.ping("client", "198.51.100.7", "10.0.0.2", 3), "the XDP policy is applied");
                assertEquals(3, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "the tc one is not");

                JsonNode status = edge.cli("status", "-o", "json").json();
                JsonNode in = null;
                for (JsonNode p : status.get("policies")) {
                    if (p.get("id").asString().equals("TrafficPolicy/in")) {
                        in = p;
                    }
                }
                assertTrue(in != null && in.get("state").asString().equals("failed")
                        && in.get("reason").asString().contains("program id " + id.group(1)), status.toString());

                // the operator removes their filter: the retry applies the policy, no restart
                edgeNs.run("tc", "filter", "del", "dev", "eth0", "ingress", "pref", "10");
                assertTrue(Topology.waitFor(Duration.ofSeconds(60), Duration.ofMillis(200),
                        () -> d.get("/readyz").code() == 200), "not applied once the foreign filter left:\n" + d);
                assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "the tc policy is applied");
                JsonNode after = edge.cli("status", "-o", "json").json();
                for (JsonNode p : after.get("policies")) {
                    assertEquals("in sync", p.get("state").asString(), after.toString());
                }
                assertEquals(0, d.terminate(Duration.ofSeconds(10)), d.toString());
            }
            edge.inside(p -> p.apply(Differ.destroy(p.observe(List.of()))));
            assertFalse(edgeNs.run("tc", "filter", "show", "dev", "eth0", "ingress").contains("bpf"));
        }
    }

    /**
     * CI plans against a host's export: a foreign tc program in its state refuses that host (exit 3, the worst
     * of a fleet), and the opt-in plans it with the warning. No kernel: the export is made in memory.
     */
    @Test
    void planStateAndHostsRefuseAHostWhoseExportShowsAForeignTcProgram(@TempDir Path dir) throws Exception {
        Path root = Path.of("/sys/fs/bpf/bpfgit");
        dev.bpfgit.compile.HostFacts facts = new dev.bpfgit.compile.HostFacts("edge-7", java.util.Map.of(),
                java.util.Map.of("lo", 1, "eth0", 2));
        dev.bpfgit.state.MemoryKernel kernel = new dev.bpfgit.state.MemoryKernel(facts.interfaces(), 2);
        kernel.attachForeign(new AttachPoint.Tcx("eth0", AttachPoint.Direction.INGRESS), 4243, "their_tc");
        List<AttachPoint> points = new dev.bpfgit.kind.traffic.TrafficKind().exportedAttachPoints(List.of("eth0"));
        Path state = write(dir, "edge-7.json", dev.bpfgit.state.StateFile.write(
                dev.bpfgit.observe.Observer.observe(kernel, root, points), facts, 2));
        Path policies = write(dir.resolve("policies"), "in.yaml", IN).getParent();
        Path hosts = write(dir, "hosts.yaml", "hosts:\n  - {name: edge-7, state: " + state + "}\n"
                + "  - {name: edge-8}\n");

        Bpfgit.Cli plan = Bpfgit.cli(null, "plan", policies.toString(), "--state", state.toString());
        assertEquals(3, plan.exit(), plan.toString());
        assertTrue(plan.err().startsWith("error: eth0 tcx-ingress: program id 4243 \"their_tc\" is attached and was"
                + " not attached by bpfgit; for TrafficPolicy/in"), plan.err());
        Bpfgit.Cli fleet = Bpfgit.cli(null, "plan", policies.toString(), "--hosts", hosts.toString());
        assertEquals(3, fleet.exit(), fleet.toString());
        assertTrue(fleet.out().contains("=== edge-7 ===\nerror: eth0 tcx-ingress: program id 4243 \"their_tc\""),
                fleet.out());

        write(policies, "in.yaml", coexisting(IN));
        Bpfgit.Cli coexist = Bpfgit.cli(null, "plan", policies.toString(), "--state", state.toString());
        assertEquals(1, coexist.exit(), coexist.toString());
        assertTrue(coexist.out().contains("Warning: eth0 tcx-ingress: program id 4243 \"their_tc\""), coexist.out());
        assertEquals(1, Bpfgit.cli(null, "plan", policies.toString(), "--hosts", hosts.toString()).exit());
    }
}
